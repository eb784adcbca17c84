// goro_lazy_echo_server: goro_echo_server with the handler's 4 KiB buffer in a frame
// entered only once the connection is readable, for benchmarks/net/idle.sh. A task's
// stack costs whole 4 KiB pages; with the buffer in the waiting frame (goro_echo_server),
// the read -> park frames land on a second page. Here an idle connection's task waits
// in goro::io::wait_readable with no buffer below it, one page.
//
//   goro_lazy_echo_server ADDRESS [WORKERS=2]
#include <goro/goro.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>

namespace {

// One read and its echo; the connection is readable, so the read does not wait.
// Returns false at end of stream.
[[gnu::noinline]] bool echo_once(goro::net::Conn& c) {
  std::array<std::byte, 4096> buf;
  const std::size_t n = c.read(buf);
  if (n == 0) return false;
  c.write(std::span(buf).first(n));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s ADDRESS [WORKERS=2]\n", argv[0]);
    return 2;
  }
  goro::Config cfg;
  cfg.workers = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 2;
  cfg.leak_policy = goro::LeakPolicy::off;  // killed by idle.sh: the connections are not leaks
  return goro::run([&] {
    goro::net::Listener listener = goro::net::listen(argv[1]);
    std::printf("listening on %s\n", listener.address().c_str());
    std::fflush(stdout);
    for (;;) {
      goro::go_spawn([c = listener.accept()]() mutable {
        try {
          do {
            goro::io::wait_readable(c.native_handle());
          } while (echo_once(c));
        } catch (const std::system_error&) {  // reset by the client at its end
        }
      });
    }
  }, cfg);
}
