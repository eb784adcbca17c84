// fixed_conn_no_deadline: leak_conn_no_deadline.cpp, fixed.
//
// Every read gets a deadline: the handler gives a client `idle_timeout` to send its next
// request (Go's http.Server.IdleTimeout / ReadTimeout). A silent client's read fails
// with goro::net::Timeout; the handler closes the connection and returns, freeing its
// task and its fd. Moving the deadline forward before each read keeps busy clients
// connected as long as they keep talking.
//
// It checks itself: goro::diag::find_leaks() (goleak's Find) must come back empty.
#include <goro/goro.hpp>
#include <goro/net.hpp>

#include "leak_harness.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <iostream>
#include <string_view>

using namespace std::chrono_literals;

namespace {

constexpr auto idle_timeout = 100ms;
goro::net::Conn silent_client;  // connects, then never sends nor closes

void handle(goro::net::Conn conn) {
  std::array<std::byte, 512> request;
  try {
    for (;;) {
      conn.set_read_deadline(std::chrono::steady_clock::now() + idle_timeout);  // the fix
      const std::size_t n = conn.read(request);
      if (n == 0) return;
      conn.write("PONG\n");
    }
  } catch (const goro::net::Timeout&) {
    std::cout << "dropped an idle client: " << conn.remote_address().substr(0, 10) << "...\n";
  }
}

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
}

}  // namespace

int main() {
  return check_no_leak([] {
    goro::net::Listener listener = goro::net::listen("127.0.0.1:0");
    goro::WaitGroup accepted;
    accepted.add(1);
    goro::go_spawn([&] { serve(listener, 3); accepted.done(); });
    ping(listener.address());
    silent_client = goro::net::dial(listener.address());
    ping(listener.address());
    accepted.wait();
  });
}
