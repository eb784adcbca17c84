// goro_echo_server: the goro side of benchmarks/net: a goro::net echo server, one task
// per connection (the same shape as examples/echo_server.cpp).
//
//   goro_echo_server ADDRESS [WORKERS=2]
#include <goro/goro.hpp>
#include <goro/net.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s ADDRESS [WORKERS=2]\n", argv[0]);
    return 2;
  }
  goro::Config cfg;
  cfg.workers = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 2;
  cfg.leak_policy = goro::LeakPolicy::off;  // killed by run.sh: the connections are not leaks
  return goro::run([&] {
    goro::net::Listener listener = goro::net::listen(argv[1]);
    std::printf("listening on %s\n", listener.address().c_str());
    std::fflush(stdout);
    for (;;) {
      goro::go_spawn([c = listener.accept()]() mutable {
        std::array<std::byte, 4096> buf;
        try {
          while (std::size_t n = c.read(buf)) c.write(std::span(buf).first(n));
        } catch (const std::system_error&) {  // reset by the load generator at its end
        }
      });
    }
  }, cfg);
}
