// echo_server: a TCP echo server with goro::net, one task per connection.
//
//   echo_server                      # demo: serves 127.0.0.1 on a free port, runs client
//                                    # tasks against it, checks every echo, exits 0
//   echo_server serve 0.0.0.0:7000   # serves until killed (benchmarks/net uses this)
//
// The shape of every goro server: an accept loop that spawns a task per connection, each
// handler a plain sequential loop (read, write) whose waits park the task instead of a
// thread, an idle deadline so that silent clients cannot pin a task forever, and
// Listener::close() to stop accepting (it wakes the accept loop with net::Closed).
#include <goro/goro.hpp>
#include <goro/net.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr auto idle_timeout = 60s;

void echo(goro::net::Conn& conn) {
  std::array<std::byte, 16 << 10> buf;
  try {
    for (;;) {
      conn.set_read_deadline(std::chrono::steady_clock::now() + idle_timeout);
      const std::size_t n = conn.read(buf);
      if (n == 0) return;  // the client closed its side
      conn.write(std::span(buf).first(n));
    }
  } catch (const goro::net::Timeout&) {
    // idle for too long: drop it
  } catch (const std::system_error& e) {
    if (e.code() != std::errc::connection_reset && e.code() != std::errc::broken_pipe) throw;
  }
}

// Accepts until the listener is closed; `handlers` counts the connection tasks running.
void serve(goro::net::Listener& listener, goro::WaitGroup& handlers) {
  for (;;) {
    goro::net::Conn conn;
    try {
      conn = listener.accept();
    } catch (const goro::net::Closed&) {
      return;  // shutting down
    }
    handlers.add(1);
    goro::go_spawn(goro::SpawnOptions{.name = "echo " + conn.remote_address()},
                   [c = std::move(conn), &handlers]() mutable {
                     echo(c);
                     handlers.done();
                   });
  }
}

// The demo's client: `messages` round trips of growing size; true if every byte came back.
bool client(const std::string& address, int id, int messages) {
  goro::net::Conn c = goro::net::dial(address, 5s);
  for (int m = 0; m < messages; ++m) {
    std::string out = "client " + std::to_string(id) + " message " + std::to_string(m) + " ";
    out.append(static_cast<std::size_t>(m) * 37, static_cast<char>('a' + m % 26));
    c.write(out);
    std::string in(out.size(), '\0');
    if (c.read_full(std::as_writable_bytes(std::span(in.data(), in.size()))) != in.size() || in != out) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "serve") == 0) {
    return goro::run([&] {
      goro::net::Listener listener = goro::net::listen(argv[2]);
      std::cout << "echo server on " << listener.address() << std::endl;
      goro::WaitGroup handlers;
      serve(listener, handlers);
    });
  }

  constexpr int clients = 8, messages = 100;
  std::atomic<int> good{0};
  int rc = goro::run([&] {
    goro::net::Listener listener = goro::net::listen("127.0.0.1:0");
    goro::WaitGroup handlers, server, done;
    server.add(1);
    goro::go_spawn(goro::SpawnOptions{.name = "accept loop"}, [&] {
      serve(listener, handlers);
      server.done();
    });
    done.add(clients);
    for (int i = 0; i < clients; ++i)
      goro::go_spawn(goro::SpawnOptions{.name = "client"}, [&, i] {
        if (client(listener.address(), i, messages)) good.fetch_add(1);
        done.done();
      });
    done.wait();
    listener.close();  // the accept loop returns
    server.wait();
    handlers.wait();   // every handler saw its client close
    std::cout << "echoed " << good.load() * messages << " messages over " << clients << " connections\n";
    // goleak's check: the handlers are on their way out; none may stay.
    std::cout << "tasks left besides main: " << goro::diag::find_leaks().size() << "\n";
  });
  return rc != 0 ? rc : (good.load() == clients ? 0 : 1);
}
