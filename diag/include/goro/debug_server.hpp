// goro/debug_server.hpp — Go's net/http/pprof for goro: an opt-in HTTP endpoint serving
// the task profiles and Prometheus metrics, on its own threads, so it answers while
// every worker is blocked or busy. Link the CMake target goro::debug_server.
//
//   auto server = goro::diag::serve("127.0.0.1:6060");   // loopback; port 0 picks a free one
//   std::cout << "debug endpoint: " << server.url() << "/debug/pprof/\n";
//   // $ go tool pprof -top http://127.0.0.1:6060/debug/pprof/goroutine
//   // $ curl 'http://127.0.0.1:6060/debug/pprof/goroutine?debug=1'
//   // $ curl http://127.0.0.1:6060/metrics
//   ...
//   server.stop();                                        // or let it go out of scope
//
// Routes (GET and HEAD):
//   /debug/pprof/                      an HTML index of the profiles
//   /debug/pprof/goroutine?debug=N     every task: 0 gzipped profile.proto (the default),
//                                      1 "goroutine profile: total N" with a count per
//                                      stack, 2 Go's goroutine dump of every task
//   /debug/pprof/block?debug=N         time blocked per wait site (set_block_profile_rate)
//   /debug/pprof/goroutineleak?debug=N provably leaked tasks only
//   /debug/pprof/heap?debug=N          goro's memory (stacks, tasks, channels) by site
//   /metrics                           Prometheus text format 0.0.4 (goro/metrics.hpp)
//   /debug/goro/                       the page for people: wait sites and the trend plot
//                                      (goro/status_page.hpp)
//   /debug/goro/site?reason=R&at=F:L   the dump of the tasks waiting for R at F:L
// Route (POST):
//   /debug/goro/trend                  starts the trend sampler (1 s) if it is off; the
//                                      page offers a button for it (a GET never starts it)
// An unknown profile or path is 404, a known path with the wrong method 405, a malformed
// debug value 400; a handler that throws answers 500. goro/profile.hpp describes the
// profiles.
//
// Exposure: the address is "host:port" with an explicit loopback host ("127.0.0.1",
// "[::1]", "localhost"). Any other host, including "0.0.0.0", "0" and an empty one
// (":6060"), throws std::invalid_argument unless ServeOptions::allow_non_loopback is set
// (the endpoint has no authentication: do that only on a trusted network; serve() logs
// a warning). Requests must name a loopback host in their Host header (or one listed in
// ServeOptions::allowed_hosts), so a web page cannot reach the endpoint through DNS
// rebinding; POST routes also refuse requests a browser marks as cross-site.
//
// Clients cannot hurt the host program: ServeOptions bounds the request's head and body
// sizes, the whole time a request may take to arrive and a response to leave, and the
// connections open at once (never taking the process's last file descriptors). See
// docs/failure-modes.md, "The debug endpoint".
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
  // Requests handled at once; a connection whose request has arrived waits for a slot.
  std::size_t threads = 4;
  // Connections open at once (each is served on its own thread); further ones wait in
  // the listen backlog, holding none of the program's file descriptors. A connection
  // that would leave fewer than min_free_fds descriptors below the process's
  // RLIMIT_NOFILE is answered 503 and closed at once.
  std::size_t max_connections = 16;
  std::size_t min_free_fds = 64;
  // The whole request (line, headers, body) must arrive within read_timeout of the
  // connection opening (or of its first byte, for a later request on a kept-alive
  // connection), and the whole response must be taken within write_timeout: a client
  // sending or reading one byte at a time is cut off when these pass.
  std::chrono::milliseconds read_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
  // An idle keep-alive connection is closed after this long, or after this many requests.
  std::chrono::seconds keep_alive_timeout{2};
  std::size_t keep_alive_max_requests = 20;
  // A request line plus headers longer than this is refused (431), a body longer than
  // max_request_bytes too (413); neither is read past its limit.
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_request_bytes = 64 * 1024;
  // Host header values accepted besides the loopback names (localhost, 127.0.0.1,
  // [::1], each with any port), e.g. "myhost.example:6060" or "myhost.example" (any
  // port); "*" accepts any. Others are answered 403.
  std::vector<std::string> allowed_hosts;
  // Listening on a non-loopback address needs this; serve() then logs a warning.
  bool allow_non_loopback = false;
  // Extension: the program's own routes next to the debug ones (e.g. a health check).
  // The handler runs on a server thread (a plain thread: goro calls block it, not a
  // worker) and returns the body; an exception it throws answers 500. A route that
  // changes state should be method = "POST", so that a link or <img> on a web page
  // cannot trigger it.
  struct Route {
    std::string path;  // exact path, e.g. "/healthz"
    std::function<std::string()> handler;
    std::string content_type = "text/plain; charset=utf-8";
    std::string method = "GET";  // "GET" (also answers HEAD) or "POST"
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

// Starts serving on `address` ("host:port", port 0 = any free port; IPv6 hosts in
// brackets: "[::1]:6060"). Throws std::invalid_argument for a malformed address, a
// non-loopback one without opts.allow_non_loopback, or options that could not work (no
// threads or connections, timeouts that are not positive, max_header_bytes below 256, a
// route whose path does not start with '/' or whose method is not "GET" or "POST"), and
// std::runtime_error when it cannot listen (e.g. the port is taken).
DebugServer serve(std::string_view address = "127.0.0.1:6060", const ServeOptions& opts = {});

}  // namespace goro::diag
