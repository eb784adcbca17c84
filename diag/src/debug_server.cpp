// diag/src/debug_server.cpp — the HTTP debug endpoint (goro/debug_server.hpp): a small
// HTTP/1.1 server on poll(2), one thread per connection, every resource bounded.
//
// Why not cpp-httplib (Debian's libcpp-httplib-dev 0.11): it bounds each read but not a
// whole request, so a client sending a byte a second holds a thread indefinitely; it
// accepts without limit, exhausting the program's file descriptors; and it keeps
// headers without a total cap (200 MB of header lines raise the program's RSS from 9 to
// 403 MB). Boost.Beast has the limits but brings Asio's weight into every program that
// serves the endpoint. The subset of HTTP a debug endpoint needs (GET/HEAD/POST,
// Content-Length bodies, keep-alive) fits in a few hundred lines with each limit explicit.
//
// Threads: the acceptor polls the listening socket and `wake_fd` (an eventfd written
// by stop()); each accepted connection runs on its own thread, at most max_connections
// at once. A connection thread reads with poll() against the request's absolute
// deadline (and `wake_fd`), so it never waits past read_timeout for a request,
// write_timeout for a response or keep_alive_timeout between requests. Handlers run on
// connection threads (never goro workers; goro's handlers only read snapshots), at most
// `threads` at once (`handler_slots`).
//
// This file holds the sockets: the address, the acceptor, each connection's reads and
// writes against its deadlines, and the server's lifetime. The messages are parsed and
// serialized in http_message.cpp; what each path answers is debug_routes.cpp.
//
// Lock discipline: `mu` protects `connections` (threads not yet joined). The acceptor
// adds to `connections` and joins the ones marked done; stop() wakes every poll (the
// eventfd), joins the acceptor, then joins `connections`. `active` (connections open,
// for the cap) is atomic: the acceptor reads it, connection threads decrement it last.
// State outlives every thread: stop() joins them all before it is destroyed. Options,
// the listening socket and the bound address are written before the acceptor starts
// and are read-only after.
#include "goro/debug_server.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <list>
#include <mutex>
#include <semaphore>
#include <stdexcept>
#include <thread>

#include "debug_routes.hpp"
#include "goro/internal/inspect.hpp"
#include "http_message.hpp"

namespace goro::diag {

using Clock = std::chrono::steady_clock;

struct DebugServer::State {
  explicit State(const ServeOptions& o)
      : opts(o), handler_slots(static_cast<std::ptrdiff_t>(o.threads)) {}  // 1..1024: check_options
  ~State() {
    if (listen_fd >= 0) ::close(listen_fd);
    if (wake_fd >= 0) ::close(wake_fd);
  }
  const ServeOptions opts;
  std::counting_semaphore<1024> handler_slots;
  int listen_fd = -1;
  int wake_fd = -1;  // readable once stop() has begun
  std::string host;
  int port = 0;
  std::thread acceptor;
  std::atomic<std::size_t> active{0};

  struct Connection {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::mutex mu;
  std::list<Connection> connections;  // guarded by mu
};

namespace {

using State = DebugServer::State;
using http::cross_site;
using http::host_allowed;
using http::lower;
using http::parse_head;
using http::Request;
using http::Response;
using http::serialize;
using http::text;

// ---- addresses ---------------------------------------------------------------------

struct HostPort {
  std::string host;
  int port;
};

HostPort parse_address(std::string_view address) {
  auto bad = [&](const std::string& why) {
    return std::invalid_argument("goro::diag::serve: bad address \"" + std::string(address) + "\": " + why +
                                 " (expected host:port, e.g. \"127.0.0.1:6060\", \"127.0.0.1:0\" or "
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
  return {std::string(host), port};
}

bool is_loopback(const sockaddr* sa) {
  if (sa->sa_family == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr) >> 24) == 127;
  if (sa->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&a);
  }
  return false;
}

struct AddrInfoDeleter {
  void operator()(addrinfo* ai) const { ::freeaddrinfo(ai); }
};

// Resolves `where` for a listening socket; refuses non-loopback addresses (an empty host
// included: it means every interface to most tools) unless the options allow them.
std::unique_ptr<addrinfo, AddrInfoDeleter> resolve(std::string_view address, const HostPort& where,
                                                   const ServeOptions& opts) {
  const std::string opt_in =
      "; serve the endpoint on loopback (\"127.0.0.1:" + std::to_string(where.port) +
      "\"), or set ServeOptions::allow_non_loopback = true to expose it to other machines (it has no "
      "authentication)";
  if (where.host.empty() && !opts.allow_non_loopback)
    throw std::invalid_argument("goro::diag::serve: \"" + std::string(address) +
                                "\" names no host, which means every interface" + opt_in);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(where.host.empty() ? nullptr : where.host.c_str(),
                               std::to_string(where.port).c_str(), &hints, &found);
  if (rc != 0)
    throw std::invalid_argument("goro::diag::serve: cannot resolve the host of \"" + std::string(address) +
                                "\": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, AddrInfoDeleter> list(found);
  for (addrinfo* ai = found; ai; ai = ai->ai_next)
    if (!is_loopback(ai->ai_addr) && !opts.allow_non_loopback)
      throw std::invalid_argument("goro::diag::serve: \"" + std::string(address) +
                                  "\" is not a loopback address" + opt_in);
  return list;
}

std::string numeric_host(const sockaddr* sa, socklen_t len) {
  char buf[NI_MAXHOST] = "";
  ::getnameinfo(sa, len, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST);
  return buf;
}

// ---- connections -------------------------------------------------------------------

enum class Io { ok, closed, timeout, stopped };

// Waits until `fd` is ready for `events` (POLLIN/POLLOUT), the deadline passes, or stop()
// begins (only while reading: a response in progress is let finish).
Io wait_ready(const State& s, int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return Io::timeout;
    pollfd fds[2] = {{fd, events, 0}, {s.wake_fd, POLLIN, 0}};
    const int n = ::poll(fds, events == POLLIN ? 2 : 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
    if (n < 0 && errno != EINTR) return Io::closed;
    if (n <= 0) continue;
    if (events == POLLIN && fds[1].revents) return Io::stopped;
    if (fds[0].revents) return Io::ok;
  }
}

// Reads what is available into `buf`, at most `max_total` bytes in all.
Io read_some(const State& s, int fd, std::string* buf, std::size_t max_total, Clock::time_point deadline) {
  if (Io w = wait_ready(s, fd, POLLIN, deadline); w != Io::ok) return w;
  char chunk[16 * 1024];
  const std::size_t want = std::min(sizeof chunk, max_total - std::min(max_total, buf->size()));
  if (want == 0) return Io::ok;
  const ssize_t n = ::recv(fd, chunk, want, 0);
  if (n == 0) return Io::closed;
  if (n < 0) return errno == EAGAIN || errno == EINTR ? Io::ok : Io::closed;
  buf->append(chunk, static_cast<std::size_t>(n));
  return Io::ok;
}

bool write_all(const State& s, int fd, std::string_view out, Clock::time_point deadline) {
  while (!out.empty()) {
    if (wait_ready(s, fd, POLLOUT, deadline) != Io::ok) return false;
    const ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    if (n > 0) out.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Closing with unread bytes pending makes the kernel send a reset, which can destroy
// the refusal just written before the client reads it. So, as Go's net/http does, stop
// sending and discard what still arrives, up to a bound in bytes and time.
void drain_before_close(const State& s, int fd) {
  ::shutdown(fd, SHUT_WR);
  constexpr std::size_t kMaxDrain = 256 * 1024;
  const auto deadline = Clock::now() + std::chrono::milliseconds(500);
  std::string sink;
  for (std::size_t drained = 0; drained < kMaxDrain;) {
    sink.clear();
    if (read_some(s, fd, &sink, kMaxDrain, deadline) != Io::ok) return;
    drained += sink.size();
  }
}

// The request's answer, or the refusal of a request that is not for us.
Response answer(State& s, const Request& req) {
  if (!host_allowed(req.header("host"), s.opts, s.host))
    return text(403, "403 forbidden: the Host header must name the loopback interface (localhost, 127.0.0.1 or "
                     "[::1]) or a host in ServeOptions::allowed_hosts\n");
  if (req.method == "POST" && cross_site(req))
    return text(403, "403 forbidden: a cross-site POST (a web page may not change this program's state)\n");
  if (req.method != "GET" && req.method != "HEAD" && req.method != "POST")
    return text(405, "405 method not allowed: the debug endpoint accepts GET, HEAD and POST\n");
  s.handler_slots.acquire();
  Response r;
  try {
    r = route(req, s.opts);
  } catch (const std::exception& e) {
    r = text(500, std::string("goro debug server: ") + e.what() + "\n");
  } catch (...) {
    r = text(500, "goro debug server: unknown exception\n");
  }
  s.handler_slots.release();
  return r;
}

void serve_connection(State& s, int fd) {
  const ServeOptions& o = s.opts;
  std::string buf;  // bytes read and not yet consumed (a pipelined request's start)
  Clock::time_point request_start = Clock::now();
  for (std::size_t served = 0;; ++served) {
    if (served > 0) {
      // Keep-alive: wait for the next request's first byte, then give it the whole
      // read_timeout from there.
      const auto idle_deadline = Clock::now() + o.keep_alive_timeout;
      while (buf.empty())
        if (read_some(s, fd, &buf, o.max_header_bytes, idle_deadline) != Io::ok) return;
      request_start = Clock::now();
    }
    const auto deadline = request_start + o.read_timeout;
    auto refuse = [&](int status, const std::string& why) {
      if (write_all(s, fd, serialize(text(status, std::to_string(status) + " " + why + "\n"), false, false),
                    Clock::now() + o.write_timeout))
        drain_before_close(s, fd);
    };
    std::size_t head_end;
    while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (buf.size() > o.max_header_bytes)
        return refuse(431, "request header fields too large: the limit is ServeOptions::max_header_bytes = " +
                               std::to_string(o.max_header_bytes));
      // Read one byte past the limit, so that a head of exactly the limit still fits.
      const Io r = read_some(s, fd, &buf, o.max_header_bytes + 4, deadline);
      if (r == Io::timeout && !buf.empty()) return refuse(408, "request timeout: the request took too long");
      if (r != Io::ok) return;
    }
    if (head_end + 4 > o.max_header_bytes + 4)
      return refuse(431, "request header fields too large: the limit is ServeOptions::max_header_bytes = " +
                             std::to_string(o.max_header_bytes));
    Request req;
    if (int status = parse_head(std::string_view(buf).substr(0, head_end), &req); status != 0)
      return refuse(status, "bad request: malformed request line or header");
    buf.erase(0, head_end + 4);
    if (!req.header("transfer-encoding").empty())
      return refuse(411, "length required: send a body with Content-Length");
    std::size_t length = 0;
    if (const std::string cl = req.header("content-length"); !cl.empty()) {
      auto [end, ec] = std::from_chars(cl.data(), cl.data() + cl.size(), length);
      if (ec == std::errc::result_out_of_range) length = SIZE_MAX;
      else if (ec != std::errc() || end != cl.data() + cl.size())
        return refuse(400, "bad request: malformed Content-Length");
    }
    if (length > o.max_request_bytes)
      return refuse(413, "request too large: the body limit is ServeOptions::max_request_bytes = " +
                             std::to_string(o.max_request_bytes));
    while (buf.size() < length) {
      const Io r = read_some(s, fd, &buf, length, deadline);
      if (r == Io::timeout) return refuse(408, "request timeout: the request took too long");
      if (r != Io::ok) return;
    }
    req.body = buf.substr(0, length);
    buf.erase(0, length);

    const std::string connection = lower(req.header("connection"));
    bool keep_alive = req.version == "HTTP/1.1" ? connection != "close" : connection == "keep-alive";
    keep_alive = keep_alive && served + 1 < o.keep_alive_max_requests;
    const Response r = answer(s, req);
    if (r.status >= 400 && r.status != 404 && r.status != 405) keep_alive = false;
    if (!write_all(s, fd, serialize(r, req.method == "HEAD", keep_alive), Clock::now() + o.write_timeout)) return;
    if (!keep_alive) return;
  }
}

// Whether the process has at least `min_free` descriptors left after `fd`. File
// descriptors are allocated lowest first, so every number below a fresh one is taken.
bool fd_headroom(int fd, std::size_t min_free) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return true;
  return static_cast<rlim_t>(fd) + 1 + min_free <= lim.rlim_cur;
}

void reap_done(State& s) {
  std::lock_guard lock(s.mu);
  for (auto it = s.connections.begin(); it != s.connections.end();) {
    if (it->done.load(std::memory_order_acquire)) {
      it->thread.join();
      it = s.connections.erase(it);
    } else {
      ++it;
    }
  }
}

void accept_loop(State& s) {
  static constexpr std::string_view kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 56\r\n"
      "Connection: close\r\n\r\n503 the program is short of file descriptors: try again\n";
  for (;;) {
    reap_done(s);
    if (s.active.load() >= s.opts.max_connections) {
      // At the cap: further connections wait in the listen backlog (holding none of our
      // descriptors) until a connection ends; every one ends within its timeouts.
      pollfd wake{s.wake_fd, POLLIN, 0};
      if (::poll(&wake, 1, 10) > 0) return;
      continue;
    }
    pollfd fds[2] = {{s.listen_fd, POLLIN, 0}, {s.wake_fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    const int fd = ::accept4(s.listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      // Out of descriptors (or memory): back off rather than spin on the pending one.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        pollfd wake{s.wake_fd, POLLIN, 0};
        if (::poll(&wake, 1, 100) > 0) return;
      }
      continue;
    }
    if (!fd_headroom(fd, s.opts.min_free_fds)) {
      (void)::send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      continue;
    }
    s.active.fetch_add(1);
    std::lock_guard lock(s.mu);
    State::Connection& c = s.connections.emplace_back();
    try {
      c.thread = std::thread([&s, &c, fd, note = detail::note_thread_created("goro debug server connection")] {
        try {
          serve_connection(s, fd);
        } catch (...) {  // out of memory for a response: drop this connection only
        }
        ::close(fd);
        s.active.fetch_sub(1);
        c.done.store(true, std::memory_order_release);
      });
    } catch (const std::system_error&) {  // no thread to be had: refuse this one
      s.connections.pop_back();
      s.active.fetch_sub(1);
      ::close(fd);
    }
  }
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
  const std::uint64_t one = 1;
  (void)!::write(state_->wake_fd, &one, sizeof one);
  if (state_->acceptor.joinable()) state_->acceptor.join();
  {
    std::lock_guard lock(state_->mu);
    for (State::Connection& c : state_->connections) c.thread.join();
    state_->connections.clear();
  }
  state_.reset();
}

namespace {

// Options that would make the endpoint serve nothing, or never cut anyone off.
void check_options(const ServeOptions& o) {
  auto bad = [](const std::string& what) {
    return std::invalid_argument("goro::diag::serve: ServeOptions::" + what);
  };
  if (o.threads < 1 || o.threads > 1024) throw bad("threads must be from 1 to 1024 (4 by default)");
  if (o.max_connections < 1) throw bad("max_connections must be at least 1 (16 by default)");
  if (o.read_timeout <= std::chrono::milliseconds::zero() || o.write_timeout <= std::chrono::milliseconds::zero())
    throw bad("read_timeout and write_timeout must be positive (5 s by default)");
  // A deadline is now + timeout on the steady clock: beyond a day is surely a mistake, and
  // far beyond it the sum would overflow.
  constexpr std::chrono::hours kLongestTimeout{24};
  if (o.read_timeout > kLongestTimeout || o.write_timeout > kLongestTimeout ||
      o.keep_alive_timeout > kLongestTimeout || o.keep_alive_timeout < std::chrono::milliseconds::zero())
    throw bad("read_timeout, write_timeout and keep_alive_timeout must be at most 24 hours "
              "(keep_alive_timeout: zero or more)");
  if (o.max_header_bytes < 256) throw bad("max_header_bytes must be at least 256 (16 KiB by default)");
  for (const ServeOptions::Route& r : o.routes) {
    if (r.path.empty() || r.path.front() != '/')
      throw bad("routes: the path \"" + r.path + "\" must start with '/'");
    if (r.method != "GET" && r.method != "POST")
      throw bad("routes: " + r.path + " has method \"" + r.method + "\"; use \"GET\" or \"POST\"");
    if (!r.handler) throw bad("routes: " + r.path + " has no handler");
  }
}

}  // namespace

DebugServer serve(std::string_view address, const ServeOptions& opts) {
  check_options(opts);
  const HostPort where = parse_address(address);
  const auto resolved = resolve(address, where, opts);
  auto state = std::make_unique<State>(opts);
  int last_errno = 0;
  for (addrinfo* ai = resolved.get(); ai && state->listen_fd < 0; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    // SO_REUSEADDR allows a restart over TIME_WAIT; no SO_REUSEPORT, which would let a
    // second server share a taken port and split the requests.
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 64) == 0) {
      state->listen_fd = fd;
    } else {
      last_errno = errno;
      ::close(fd);
    }
  }
  if (state->listen_fd < 0)
    throw std::runtime_error("goro::diag::serve: cannot listen on \"" + std::string(address) +
                             "\": " + std::strerror(last_errno) +
                             "; pick another address, or port 0 for any free port");
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(state->listen_fd, reinterpret_cast<sockaddr*>(&bound), &len);
  state->host = numeric_host(reinterpret_cast<sockaddr*>(&bound), len);
  state->port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                  : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (!is_loopback(reinterpret_cast<sockaddr*>(&bound)))
    detail::logger().warn(
        "goro debug endpoint: listening on {} (ServeOptions::allow_non_loopback): other machines can read "
        "this program's task dumps and metrics, and there is no authentication",
        state->host + ":" + std::to_string(state->port));
  state->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (state->wake_fd < 0)
    throw std::runtime_error(std::string("goro::diag::serve: eventfd: ") + std::strerror(errno));
  State* raw = state.get();
  state->acceptor = std::thread(
      [raw, note = detail::note_thread_created("goro debug server")] { accept_loop(*raw); });
  return DebugServer(std::move(state));
}

}  // namespace goro::diag