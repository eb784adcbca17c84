// leak_conn_no_deadline: a connection handler that reads without a deadline.
//
// The server spawns one task per connection, and the handler waits for the client's
// request with a plain read(). A client that connects and then goes silent (a laptop
// that went to sleep, a NAT that forgot the flow, a slowloris attack) neither sends nor
// closes: the handler's read() waits forever, holding its task, its stack and a file
// descriptor. One leaked task per silent client; a public server collects them by the
// thousand until it runs out of file descriptors.
//
// How it shows: goro::diag::dump_blocked() lists the handler as [IO wait] at the line
// marked "LEAK" below, with the fd and both addresses ("read fd 7 127.0.0.1:41000 <-
// 127.0.0.1:53122"): the silent peer is named.
// The fix is in fixed_conn_no_deadline.cpp.
#include <goro/goro.hpp>
#include <goro/net.hpp>

#include "leak_harness.hpp"

#include <array>
#include <cstddef>
#include <iostream>
#include <string_view>

namespace {

goro::net::Conn silent_client;  // connects, then never sends nor closes

void handle(goro::net::Conn conn) {
  std::array<std::byte, 512> request;
  for (;;) {
    const std::size_t n = conn.read(request);  // LEAK: blocks here
    if (n == 0) return;                        // the client closed: done
    conn.write("PONG\n");
  }
}

// A demo server: serves `clients` connections, one task each, then stops accepting.
void serve(goro::net::Listener& listener, int clients) {
  for (int i = 0; i < clients; ++i)
    goro::go_spawn(goro::SpawnOptions{.name = "conn handler"}, [conn = listener.accept()]() mutable {
      handle(std::move(conn));
    });
}

void ping(const std::string& address) {
  goro::net::Conn c = goro::net::dial(address);
  c.write("PING\n");
  std::array<std::byte, 5> reply;
  std::cout << "client got " << c.read_full(reply) << " bytes back\n";
}  // closes: its handler reads end of stream and returns

}  // namespace

int main() {
  return show_leak([] {
    goro::net::Listener listener = goro::net::listen("127.0.0.1:0");
    goro::WaitGroup accepted;
    accepted.add(1);
    goro::go_spawn([&] { serve(listener, 3); accepted.done(); });
    ping(listener.address());
    silent_client = goro::net::dial(listener.address());
    ping(listener.address());
    accepted.wait();
  }, 1, goro::diag::WaitReason::io_wait);
}
