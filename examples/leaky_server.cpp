// examples/leaky_server.cpp — an HTTP service on goro::net with Go's classic timeout
// leak, and the debug endpoint to find it with (docs/diagnostics.md: "Finding a leak in a
// running program").
//
// Each POST /fetch calls a slow backend in a new task and waits for the answer with a
// timeout. When the timeout wins, nobody will ever receive from the unbuffered result
// channel, so the backend task blocks forever in its send: one leaked task per
// timed-out request. Unless told otherwise, the program sends itself such requests.
//
//   leaky_server [--port N] [--http-port N] [--duration S] [--no-traffic] [--bench]
//                [--workers N]
//     --port N       the debug endpoint on 127.0.0.1:N (default 6060; if it is taken,
//                    any free port). It runs on its own threads, so it answers even when
//                    every worker is stuck.
//     --http-port N  the service on 127.0.0.1:N (default 8080; if taken, any free port):
//                    HTTP/1.1 with keep-alive, one task per connection
//     --duration S   exit after S seconds (default: run until POST /quit or Ctrl-C)
//     --no-traffic   do not send requests to ourselves; only POST /fetch makes them
//     --bench        no traffic, and the service answers only GET /hello (for wrk)
//     --workers N    worker threads (default: $GORO_MAXPROCS, else one per core)
//
//   curl -X POST http://127.0.0.1:8080/fetch                           # one request
//   curl http://127.0.0.1:8080/hello                                   # hello
//   curl -X POST http://127.0.0.1:6060/quit                            # exit now
//   curl 'http://127.0.0.1:6060/debug/pprof/goroutine?debug=1'         # where tasks wait
//   go tool pprof -top http://127.0.0.1:6060/debug/pprof/goroutine
//   wrk -c 100 -d 10s http://127.0.0.1:8080/hello                      # with --bench
//
// The HTTP/1.1 request parser is the example's own (below): a request line, headers and
// a Content-Length body are all this service needs, and it keeps the example free of
// dependencies. A real service would use a maintained parser such as llhttp.
#include <goro/debug_server.hpp>
#include <goro/goro.hpp>

#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <system_error>

using namespace std::chrono_literals;

namespace {

constexpr auto kRequestTimeout = 20ms;
constexpr int kMaxSelfRequests = 2000;  // enough leaks to look at; memory stays small

std::chrono::milliseconds backend_latency() {
  thread_local std::minstd_rand rng{std::random_device{}()};
  return std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 40)(rng));
}

// The bug: `reply` is unbuffered, so once handle_request has stopped waiting, the
// backend task's send blocks forever. (The fix: goro::Channel<std::string> reply(1).)
std::string handle_request() {
  goro::Channel<std::string> reply;
  goro::go_spawn(goro::SpawnOptions{"backend call"}, [reply]() mutable {
    goro::sleep_for(backend_latency());
    reply.send("42");  // leaks here when the caller timed out
  });
  std::optional<std::string> answer;
  std::optional<std::chrono::steady_clock::time_point> fired;
  switch (goro::select(goro::recv_case(reply, answer), goro::recv_case(goro::after(kRequestTimeout), fired))) {
    case 0: return "answer: " + *answer + "\n";
    default: return "timed out\n";
  }
}

// ---- HTTP/1.1 -------------------------------------------------------------------------

constexpr std::size_t kMaxHeaderBytes = 16 << 10;
constexpr std::size_t kMaxBodyBytes = 1 << 20;
constexpr auto kIdleTimeout = 60s;  // a keep-alive connection silent this long is dropped

struct Request {
  std::string_view method, target;
  bool keep_alive = true;
  std::size_t body_bytes = 0;  // Content-Length
};

struct Response {
  int status = 200;
  std::string body;
  std::string_view allow;  // for 405
};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

bool has_token(std::string_view list, std::string_view token) {  // "keep-alive, Upgrade"
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (equals_ignoring_case(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// Parses the head (request line and headers, without the blank line). On failure returns
// the status to answer with, and the connection is closed after it.
std::optional<int> parse_head(std::string_view head, Request& req) {
  std::size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
  const std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == sp2) return 400;
  req.method = line.substr(0, sp1);
  req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (req.method.empty() || req.target.empty() || req.target.find(' ') != std::string_view::npos) return 400;
  if (version == "HTTP/1.1") req.keep_alive = true;
  else if (version == "HTTP/1.0") req.keep_alive = false;
  else if (version.starts_with("HTTP/")) return 505;
  else return 400;
  bool has_length = false;
  while (!head.empty()) {
    eol = head.find("\r\n");
    line = head.substr(0, eol);
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
    const std::size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return 400;
    const std::string_view name = line.substr(0, colon);
    if (name.find_first_of(" \t") != std::string_view::npos) return 400;  // RFC 9112 5.1
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (equals_ignoring_case(name, "content-length")) {
      std::size_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || (has_length && n != req.body_bytes)) return 400;
      if (n > kMaxBodyBytes) return 413;
      req.body_bytes = n;
      has_length = true;
    } else if (equals_ignoring_case(name, "transfer-encoding")) {
      return 501;  // chunked request bodies: not needed by this service
    } else if (equals_ignoring_case(name, "connection")) {
      if (has_token(value, "close")) req.keep_alive = false;
      else if (has_token(value, "keep-alive")) req.keep_alive = true;
    }
  }
  return std::nullopt;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

// The Date header's value, formatted once a second per worker thread.
std::string_view http_date() {
  thread_local std::time_t cached_second = 0;
  thread_local std::array<char, 40> text{};
  thread_local std::size_t size = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    size = std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return {text.data(), size};
}

void append_response(std::string& out, const Response& r, bool keep_alive) {
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += reason_phrase(r.status);
  out += "\r\nDate: ";
  out += http_date();
  out += "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ";
  out += std::to_string(r.body.size());
  if (!r.allow.empty()) {
    out += "\r\nAllow: ";
    out += r.allow;
  }
  if (!keep_alive) out += "\r\nConnection: close";
  out += "\r\n\r\n";
  out += r.body;
}

struct ServiceOptions {
  bool bench = false;  // GET /hello only
};

Response route(const Request& req, const ServiceOptions& opts) {
  const std::string_view path = req.target.substr(0, req.target.find('?'));
  if (path == "/hello") {
    if (req.method != "GET" && req.method != "HEAD") return {405, "use GET\n", "GET, HEAD"};
    return {200, "hello\n"};
  }
  if (path == "/fetch" && !opts.bench) {
    // Changes state (it may leak a task), so POST only: a link or an <img> cannot send it.
    if (req.method != "POST") return {405, "use POST\n", "POST"};
    return {200, handle_request()};
  }
  return {404, "not found\n"};
}

// Sends a final (error) response and closes the way Go's net/http does: shut down the
// sending side, then read and drop what the client still sends for a moment. Closing
// with unread bytes would make the kernel send a reset, which can destroy the response
// before the client has read it.
void answer_and_close(goro::net::Conn& conn, std::string& out, int status) {
  out.clear();
  append_response(out, {status, std::string(reason_phrase(status)) + "\n"}, false);
  conn.write(out);
  conn.close_write();
  conn.set_read_deadline(std::chrono::steady_clock::now() + 500ms);
  std::array<std::byte, 4096> drop;
  try {
    while (conn.read(drop) != 0) {
    }
  } catch (const goro::net::Timeout&) {
  }
}

// Reads and answers requests on one connection until the client closes it, asks to,
// stays silent for kIdleTimeout, or sends something this server cannot answer.
void serve_http(goro::net::Conn& conn, const ServiceOptions& opts) {
  std::string in, out;
  std::array<std::byte, 8 << 10> chunk;
  std::size_t parsed = 0;  // bytes of `in` already answered
  auto read_more = [&] {
    conn.set_read_deadline(std::chrono::steady_clock::now() + kIdleTimeout);
    const std::size_t n = conn.read(chunk);
    if (n == 0) return false;
    in.append(reinterpret_cast<const char*>(chunk.data()), n);
    return true;
  };
  try {
    for (;;) {
      std::size_t head_end;
      while ((head_end = in.find("\r\n\r\n", parsed)) == std::string::npos) {
        if (in.size() - parsed > kMaxHeaderBytes) return answer_and_close(conn, out, 431);
        if (parsed > 0) {  // keep only the unanswered bytes
          in.erase(0, parsed);
          parsed = 0;
        }
        if (!read_more()) return;  // the client closed (between requests, or mid-head)
      }
      if (head_end - parsed > kMaxHeaderBytes) return answer_and_close(conn, out, 431);
      Request req;
      out.clear();
      if (const std::optional<int> bad = parse_head(std::string_view(in).substr(parsed, head_end - parsed), req))
        return answer_and_close(conn, out, *bad);
      const std::size_t body_start = head_end + 4;
      while (in.size() - body_start < req.body_bytes)
        if (!read_more()) return;
      const bool head_only = req.method == "HEAD";
      Response r = route(req, opts);
      if (head_only) {
        append_response(out, r, req.keep_alive);
        out.resize(out.size() - r.body.size());
      } else {
        append_response(out, r, req.keep_alive);
      }
      parsed = body_start + req.body_bytes;  // req's views into `in` end their use here
      conn.write(out);
      if (!req.keep_alive) return;
      if (parsed == in.size()) {
        in.clear();
        parsed = 0;
      }
    }
  } catch (const goro::net::Timeout&) {
    // idle too long: drop it
  } catch (const goro::net::Closed&) {
    // shutting down: close_all() closed it
  } catch (const std::system_error&) {
    // the client went away (ECONNRESET, EPIPE, ENOTCONN): nothing to answer
  }
}

// The open connections, so that shutting down can close them (which wakes their tasks
// with net::Closed) instead of leaving them to the exit's leak report.
// Lock: `lock` guards `open`; a task removes its Conn before destroying it.
struct Connections {
  std::mutex lock;
  std::set<goro::net::Conn*> open;
  bool closing = false;
  goro::WaitGroup running;

  bool add(goro::net::Conn* c) {
    std::lock_guard guard(lock);
    if (closing) return false;
    open.insert(c);
    return true;
  }
  void remove(goro::net::Conn* c) {
    std::lock_guard guard(lock);
    open.erase(c);
  }
  void close_all() {
    std::lock_guard guard(lock);
    closing = true;
    for (goro::net::Conn* c : open) c->close();
  }
};

// Accepts until the listener is closed, one task per connection.
void accept_loop(goro::net::Listener& listener, Connections& conns, const ServiceOptions& opts) {
  for (;;) {
    goro::net::Conn conn;
    try {
      conn = listener.accept();
    } catch (const goro::net::Closed&) {
      return;
    }
    conns.running.add(1);
    goro::go_spawn(goro::SpawnOptions{"http conn"}, [c = std::move(conn), &conns, &opts]() mutable {
      if (conns.add(&c)) {
        serve_http(c, opts);
        conns.remove(&c);
      }
      c.close();
      conns.running.done();
    });
  }
}

// ---- traffic --------------------------------------------------------------------------

// One POST /fetch to our own service over a fresh connection, as an outside client would.
void self_request(const std::string& address) {
  try {
    goro::net::Conn c = goro::net::dial(address, 5s);
    c.set_deadline(std::chrono::steady_clock::now() + 10s);
    c.write("POST /fetch HTTP/1.1\r\nHost: " + address + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    std::array<std::byte, 512> buf;
    while (c.read(buf) != 0) {
    }
  } catch (const std::exception&) {
    // shutting down: the service closed the connection or stopped listening
  }
}

// Sends requests to ourselves, one every few milliseconds, each from its own task as
// separate clients would, until `done` is closed; `in_flight` counts the requests.
void drive_traffic(goro::Channel<int> done, const std::string& address, goro::WaitGroup& in_flight) {
  for (int i = 0; i < kMaxSelfRequests; ++i) {
    in_flight.add(1);
    goro::go_spawn(goro::SpawnOptions{"request"}, [address, &in_flight] {
      self_request(address);
      in_flight.done();
    });
    std::optional<int> closed;
    std::optional<std::chrono::steady_clock::time_point> tick;
    if (goro::select(goro::recv_case(done, closed), goro::recv_case(goro::after(5ms), tick)) == 0) return;
  }
}

[[noreturn]] void usage(const char* why) {
  std::cerr << "leaky_server: " << why
            << "\nusage: leaky_server [--port N] [--http-port N] [--duration S] [--no-traffic] [--bench]"
               " [--workers N]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int port = 6060, http_port = 8080;
  unsigned workers = 0;
  std::optional<double> duration_s;
  bool traffic = true;
  ServiceOptions service;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--no-traffic") {
      traffic = false;
    } else if (arg == "--bench") {
      traffic = false;
      service.bench = true;
    } else if ((arg == "--port" || arg == "--http-port" || arg == "--duration" || arg == "--workers") &&
               i + 1 < argc) {
      char* end = nullptr;
      const double v = std::strtod(argv[++i], &end);
      if (*end != '\0' || v < 0) usage("bad number");
      if ((arg == "--port" || arg == "--http-port") && v > 65535) usage("a port is at most 65535");
      if (arg == "--port") port = static_cast<int>(v);
      else if (arg == "--http-port") http_port = static_cast<int>(v);
      else if (arg == "--workers") workers = static_cast<unsigned>(v);
      else duration_s = v;
    } else {
      usage("unknown argument");
    }
  }

  goro::Config cfg;
  cfg.workers = workers;
  cfg.leak_policy = goro::LeakPolicy::report;  // the exit report lists what leaked
  cfg.trend_period = std::chrono::milliseconds(250);  // history for /debug/goro/'s plot
  return goro::run(
      [&] {
        goro::Channel<int> quit;
        goro::diag::ServeOptions opts;
        // Both change state, so both are POST: a link or <img> on a web page cannot
        // trigger them. /fetch here does what the service's /fetch does.
        opts.routes.push_back({.path = "/fetch", .handler = [] { return handle_request(); }, .method = "POST"});
        opts.routes.push_back({.path = "/quit",
                               .handler = [quit]() mutable {
                                 quit.close();
                                 return std::string("bye\n");
                               },
                               .method = "POST"});
        goro::diag::DebugServer server;
        try {
          server = goro::diag::serve("127.0.0.1:" + std::to_string(port), opts);
        } catch (const std::runtime_error&) {
          server = goro::diag::serve("127.0.0.1:0", opts);  // 6060 is taken: any free port
        }
        goro::net::Listener listener;
        try {
          listener = goro::net::listen("127.0.0.1:" + std::to_string(http_port));
        } catch (const std::system_error&) {
          listener = goro::net::listen("127.0.0.1:0");  // 8080 is taken: any free port
        }
        const std::string service_url = "http://" + listener.address();
        std::cout << "leaky_server: debug endpoint at " << server.url() << "/debug/pprof/\n"
                  << "  open " << server.url() << "/debug/goro/ in a browser\n"
                  << "  go tool pprof -top " << server.url() << "/debug/pprof/goroutine\n"
                  << "  curl '" << server.url() << "/debug/pprof/goroutine?debug=1'\n"
                  << "  curl " << server.url() << "/metrics\n"
                  << "  curl -X POST " << server.url() << "/fetch   (one request)\n"
                  << "  curl -X POST " << server.url() << "/quit    (exit)\n"
                  << "leaky_server: service (HTTP/1.1, keep-alive) at " << service_url << "/\n"
                  << "  curl " << service_url << "/hello\n";
        if (!service.bench) std::cout << "  curl -X POST " << service_url << "/fetch   (one request)\n";
        std::cout << std::flush;

        Connections conns;
        goro::WaitGroup accepting;
        accepting.add(1);
        goro::go_spawn(goro::SpawnOptions{"accept loop"}, [&] {
          accept_loop(listener, conns, service);
          accepting.done();
        });

        goro::Channel<int> stop_traffic;
        goro::WaitGroup driving;
        if (traffic) {
          driving.add(1);
          goro::go_spawn(goro::SpawnOptions{"traffic"}, [&, stop_traffic] {
            drive_traffic(stop_traffic, listener.address(), driving);
            driving.done();
          });
        }

        std::optional<int> closed;
        std::optional<std::chrono::steady_clock::time_point> deadline;
        if (duration_s) {
          const auto d = std::chrono::duration_cast<std::chrono::nanoseconds>(
              std::chrono::duration<double>(*duration_s));
          goro::select(goro::recv_case(quit, closed), goro::recv_case(goro::after(d), deadline));
        } else {
          quit.recv();
        }
        stop_traffic.close();
        driving.wait();
        listener.close();  // the accept loop returns
        accepting.wait();
        conns.close_all();  // keep-alive connections wake with net::Closed
        conns.running.wait();
        server.stop();
        std::cout << "leaky_server: "
                  << goro::diag::blocked_tasks().size() << " tasks blocked at exit" << std::endl;
      },
      cfg);
}
