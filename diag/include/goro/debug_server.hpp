// goro/debug_server.hpp — Go's net/http/pprof for goro: an opt-in HTTP endpoint serving
// the task profiles and Prometheus metrics, on its own threads, so it answers while
// every worker is blocked or busy. Link the CMake target goro::debug_server.
//
//   auto server = goro::diag::serve("127.0.0.1:6060");   // loopback only; ":0" picks a port
//   std::cout << "debug endpoint: " << server.url() << "/debug/pprof/\n";
//   // $ go tool pprof -top http://127.0.0.1:6060/debug/pprof/goroutine
//   // $ curl 'http://127.0.0.1:6060/debug/pprof/goroutine?debug=1'
//   // $ curl http://127.0.0.1:6060/metrics
//   ...
//   server.stop();                                        // or let it go out of scope
//
// Routes (GET):
//   /debug/pprof/                      an HTML index of the profiles
//   /debug/pprof/goroutine?debug=N     every task: 0 gzipped profile.proto (the default),
//                                      1 "goroutine profile: total N" with a count per
//                                      stack, 2 Go's goroutine dump of every task
//   /debug/pprof/block?debug=N         time blocked per wait site (set_block_profile_rate)
//   /debug/pprof/goroutineleak?debug=N provably leaked tasks only
//   /metrics                           Prometheus text format 0.0.4 (goro/metrics.hpp)
//   /debug/goro/                       the page for people: wait sites and the trend plot
//                                      (goro/status_page.hpp)
//   /debug/goro/site?reason=R&at=F:L   the dump of the tasks waiting for R at F:L
// An unknown profile or path is 404, a malformed debug value 400; a handler that throws
// answers 500. goro/profile.hpp describes the profiles.
//
// Exposure: the address is "host:port". Without a host (":6060") it listens on
// 127.0.0.1; only an explicit host such as "0.0.0.0:6060" exposes the endpoint to other
// machines — it has no authentication, so do that only on a trusted network.
//
// Clients cannot stall it for long: ServeOptions bounds the handler threads and every
// read and write, so an idle or slow connection holds a thread for at most
// read_timeout (write_timeout) at a time and keep_alive_timeout between requests.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace goro::diag {

struct ServeOptions {
  // Connections served at once; further ones wait for a free thread.
  std::size_t threads = 4;
  // Longest wait for a client's next bytes / for a client to take ours.
  std::chrono::milliseconds read_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
  // An idle keep-alive connection is closed after this long, or after this many requests.
  std::chrono::seconds keep_alive_timeout{2};
  std::size_t keep_alive_max_requests = 20;
  // Request bodies (none is expected) larger than this are refused (413).
  std::size_t max_request_bytes = 64 * 1024;
  // Extension: the program's own GET routes next to the debug ones (e.g. a health check).
  // The handler runs on a server thread (a plain thread: goro calls block it, not a
  // worker) and returns the body; an exception it throws answers 500.
  struct Route {
    std::string path;  // exact path, e.g. "/healthz"
    std::function<std::string()> handler;
    std::string content_type = "text/plain; charset=utf-8";
  };
  std::vector<Route> routes;
};

// A running debug endpoint; stops (and joins its threads) when stopped or destroyed.
// Move-only. stop() is not meant to race with itself or the destructor.
class DebugServer {
 public:
  DebugServer() noexcept;  // serves nothing
  DebugServer(DebugServer&&) noexcept;
  DebugServer& operator=(DebugServer&&) noexcept;
  ~DebugServer();

  bool serving() const noexcept;
  const std::string& host() const noexcept;  // as listened on: "127.0.0.1"
  int port() const noexcept;                 // the actual port (also with ":0")
  std::string address() const;               // "127.0.0.1:6060"
  std::string url() const;                   // "http://127.0.0.1:6060"
  // Stops listening, lets requests in progress finish, joins the threads. Idempotent.
  void stop() noexcept;

  struct State;  // implementation

 private:
  explicit DebugServer(std::unique_ptr<State> state) noexcept;
  friend DebugServer serve(std::string_view, const ServeOptions&);
  std::unique_ptr<State> state_;
};

// Starts serving on `address` ("host:port", ":port" = loopback, port 0 = any free port;
// IPv6 hosts in brackets: "[::1]:6060"). Throws std::invalid_argument for a malformed
// address and std::runtime_error when it cannot listen (e.g. the port is taken).
DebugServer serve(std::string_view address = "127.0.0.1:6060", const ServeOptions& opts = {});

}  // namespace goro::diag
