// diag/src/debug_server.cpp — the HTTP debug endpoint (goro/debug_server.hpp), on
// Debian's cpp-httplib.
//
// Threads: one listener thread (listen_after_bind: accepts, hands each connection to
// the pool) and `threads` pool threads that run the handlers. None of them is a goro
// worker, and goro's handlers only read snapshots (diag::tasks(), the block table, the
// registry), so the endpoint answers while every worker is blocked or busy. (Routes the
// program adds run its own code on these threads.)
//
// Invariants: State is created fully (routes, timeouts, bound socket) before the
// listener thread starts, and the listener is joined before State is destroyed; after
// start, only httplib's own threads touch `server`, except stop(), which httplib allows
// from any thread. serve() returns only once httplib reports it running (or the
// listener gave up): httplib's stop() is a no-op before that, so a stop() issued
// earlier would be lost and the join would never return.
#include "goro/debug_server.hpp"

#include <httplib.h>

#include <sys/socket.h>

#include <atomic>
#include <charconv>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "goro/diag.hpp"
#include "goro/metrics.hpp"
#include "goro/profile.hpp"
#include "goro/status_page.hpp"

namespace goro::diag {

struct DebugServer::State {
  httplib::Server server;
  std::thread listener;
  std::atomic<bool> listener_done{false};  // listen_after_bind returned
  std::string host;
  int port = 0;
};

namespace {

struct HostPort {
  std::string host;
  int port;
};

HostPort parse_address(std::string_view address) {
  auto bad = [&](const char* why) {
    return std::invalid_argument("goro::diag::serve: bad address \"" + std::string(address) +
                                 "\": " + why +
                                 " (expected host:port, e.g. \"127.0.0.1:6060\", \":0\" or "
                                 "\"[::1]:6060\")");
  };
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) throw bad("no port");
  std::string_view host = address.substr(0, colon), port_text = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string_view::npos)
    throw bad("an IPv6 host needs brackets");
  int port = -1;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 || port > 65535)
    throw bad("the port is not a number from 0 to 65535");
  return {host.empty() ? std::string("127.0.0.1") : std::string(host), port};
}

// ?debug=N: absent is 0; anything but a non-negative integer is the client's error.
// Larger levels mean "the most detail", as in Go.
bool parse_debug(const httplib::Request& req, int* debug) {
  *debug = 0;
  if (!req.has_param("debug")) return true;
  const std::string v = req.get_param_value("debug");
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *debug);
  if (ec != std::errc() || end != v.data() + v.size() || *debug < 0) return false;
  *debug = std::min(*debug, 2);
  return true;
}

void text(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "text/plain; charset=utf-8");
}

void serve_profile(const std::string& name, const httplib::Request& req, httplib::Response& res) {
  int debug = 0;
  if (!parse_debug(req, &debug)) {
    text(res, 400, "bad debug parameter \"" + req.get_param_value("debug") +
                       "\": expected 0 (gzipped profile.proto), 1 (text) or 2 (Go dump)\n");
    return;
  }
  if (req.has_param("seconds")) {
    text(res, 400, "goro serves cumulative profiles only: drop the seconds parameter\n");
    return;
  }
  if (name == "block" && debug > 1) debug = 1;
  std::ostringstream out;
  if (!write_profile(out, name, debug)) {
    text(res, 404, "Unknown profile: " + name + "\n");
    return;
  }
  if (debug == 0) {
    res.set_header("Content-Disposition", "attachment; filename=\"" + name + "\"");
    res.set_content(out.str(), "application/octet-stream");
  } else {
    res.set_content(out.str(), "text/plain; charset=utf-8");
  }
}

std::string index_html() {
  const std::size_t live = tasks().size(), leaked = leaked_tasks().size();
  const std::int64_t rate = block_profile_rate();
  std::ostringstream html;
  html << "<html>\n<head>\n<title>/debug/pprof/</title>\n</head>\n<body>\n/debug/pprof/<br>\n"
          "<p>Set debug=1 as a query parameter to export in legacy text format</p>\n"
          "Types of profiles available:\n<table>\n<thead><td>Count</td><td>Profile</td></thead>\n"
       << "<tr><td>" << live << "</td><td><a href='goroutine?debug=1'>goroutine</a></td></tr>\n"
       << "<tr><td>" << (rate == 0 ? "off" : "rate " + std::to_string(rate) + "ns")
       << "</td><td><a href='block?debug=1'>block</a></td></tr>\n"
       << "<tr><td>" << leaked << "</td><td><a href='goroutineleak?debug=1'>goroutineleak</a></td></tr>\n"
       << "</table>\n<a href='goroutine?debug=2'>full goroutine stack dump</a><br>\n"
          "<a href='/metrics'>Prometheus metrics</a>\n<br>\n<p>\nProfile Descriptions:\n<ul>\n"
          "<li><div class=profile-name>goroutine: </div> Stack traces of all current tasks: "
          "wait site, captured stack (when enabled) and spawn site</li>\n"
          "<li><div class=profile-name>block: </div> Stack traces that led to blocking on "
          "channels, select and sync (goro::diag::set_block_profile_rate)</li>\n"
          "<li><div class=profile-name>goroutineleak: </div> Tasks that provably can never "
          "wake up</li>\n</ul>\n</p>\n</body>\n</html>\n";
  return html.str();
}

// httplib matches paths as regular expressions; a user's path is literal.
std::string regex_escape(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

void add_routes(httplib::Server& server, const ServeOptions& opts) {
  for (const auto& route : opts.routes)
    server.Get(regex_escape(route.path),
               [handler = route.handler, type = route.content_type](const httplib::Request&,
                                                                    httplib::Response& res) {
                 res.set_content(handler(), type);
               });
  auto index = [](const httplib::Request&, httplib::Response& res) {
    res.set_content(index_html(), "text/html; charset=utf-8");
  };
  server.Get("/debug/pprof/", index);
  server.Get("/debug/pprof", index);
  server.Get(R"(/debug/pprof/([^/]+))", [](const httplib::Request& req, httplib::Response& res) {
    serve_profile(req.matches[1], req, res);
  });
  // The page for people (goro/status_page.hpp) and the dump behind each of its rows.
  auto status = [](const httplib::Request&, httplib::Response& res) {
    res.set_content(status_page_html(), "text/html; charset=utf-8");
  };
  server.Get("/debug/goro/", status);
  server.Get("/debug/goro", status);
  server.Get("/debug/goro/site", [](const httplib::Request& req, httplib::Response& res) {
    if (!req.has_param("reason") || !req.has_param("at"))
      return text(res, 400, "400 bad request: /debug/goro/site?reason=<reason>&at=<file:line>\n");
    std::string dump = site_dump_text(req.get_param_value("reason"), req.get_param_value("at"));
    if (dump.empty()) return text(res, 404, "404 no task waits there now\n");
    text(res, 200, std::move(dump));
  });
  server.Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
    std::ostringstream out;
    write_metrics(out);
    res.set_content(out.str(), std::string(kMetricsContentType));
  });
  // Errors without a body of their own (httplib's 404, 400, 413, ...) get a short one.
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      const char* what = res.status == 404   ? "not found: see /debug/pprof/ for the routes"
                         : res.status == 413 ? "request too large"
                         : res.status < 500  ? "bad request"
                                             : "server error";
      text(res, res.status, std::to_string(res.status) + " " + what + "\n");
    }
  });
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                  std::exception_ptr error) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    text(res, 500, "goro debug server: " + what + "\n");
  });
}

}  // namespace

DebugServer::DebugServer() noexcept = default;
DebugServer::DebugServer(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}
DebugServer::DebugServer(DebugServer&&) noexcept = default;
DebugServer& DebugServer::operator=(DebugServer&& other) noexcept {
  if (this != &other) {
    stop();
    state_ = std::move(other.state_);
  }
  return *this;
}
DebugServer::~DebugServer() { stop(); }

bool DebugServer::serving() const noexcept { return state_ != nullptr; }

const std::string& DebugServer::host() const noexcept {
  static const std::string none;
  return state_ ? state_->host : none;
}

int DebugServer::port() const noexcept { return state_ ? state_->port : 0; }

std::string DebugServer::address() const {
  if (!state_) return "";
  const bool v6 = state_->host.find(':') != std::string::npos;
  return (v6 ? "[" + state_->host + "]" : state_->host) + ":" + std::to_string(state_->port);
}

std::string DebugServer::url() const { return state_ ? "http://" + address() : ""; }

void DebugServer::stop() noexcept {
  if (!state_) return;
  state_->server.stop();
  if (state_->listener.joinable()) state_->listener.join();
  state_.reset();
}

DebugServer serve(std::string_view address, const ServeOptions& opts) {
  const HostPort where = parse_address(address);
  auto state = std::make_unique<DebugServer::State>();
  httplib::Server& server = state->server;
  const std::size_t threads = std::max<std::size_t>(opts.threads, 1);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_read_timeout(opts.read_timeout);
  server.set_write_timeout(opts.write_timeout);
  server.set_keep_alive_timeout(opts.keep_alive_timeout.count());
  server.set_keep_alive_max_count(opts.keep_alive_max_requests);
  server.set_payload_max_length(opts.max_request_bytes);
  // httplib's default sets SO_REUSEPORT, which would let a second server (another
  // process, another serve() call) share a taken port and split the requests; we want
  // the bind to fail instead. SO_REUSEADDR still allows a restart over TIME_WAIT.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  add_routes(server, opts);

  state->host = where.host;
  if (where.port == 0) {
    state->port = server.bind_to_any_port(where.host);
  } else {
    state->port = server.bind_to_port(where.host, where.port) ? where.port : -1;
  }
  if (state->port <= 0)
    throw std::runtime_error("goro::diag::serve: cannot listen on \"" + std::string(address) +
                             "\" (port in use, or not a local address?); pick another "
                             "address, or port 0 for any free port");
  httplib::Server* raw = &server;
  std::atomic<bool>* listener_done = &state->listener_done;
  state->listener = std::thread([raw, listener_done] {
    raw->listen_after_bind();
    listener_done->store(true);
  });
  // httplib's stop() does nothing until the listener runs: wait for it, so that a
  // stop() right after serve() cannot be lost (and leave a thread to join forever).
  while (!server.is_running() && !listener_done->load())
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  return DebugServer(std::move(state));
}

}  // namespace goro::diag
