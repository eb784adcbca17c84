// net/src/net.cpp — goro::net's handles, listen and dial on top of Socket (socket.hpp).
#include "goro/net.hpp"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <system_error>
#include <utility>

#include "address.hpp"
#include "goro/detail/timer.hpp"
#include "socket.hpp"

namespace goro::net {

using detail::Endpoint;
using detail::PollDir;
using detail::Socket;
using goro::detail::kNeverNs;
using goro::detail::now_ns;

namespace {

constexpr int kListenBacklog = 65535;  // the kernel caps it at net.core.somaxconn

void set_no_delay(int fd) {
  // Go's default for TCP: small writes (a request, a reply) leave at once.
  const int one = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

bool is_inet(int family) { return family == AF_INET || family == AF_INET6; }

std::shared_ptr<Socket> adopt_connected(int fd, int family) {
  auto s = std::make_shared<Socket>(fd, detail::SocketKind::conn);
  if (is_inet(family)) set_no_delay(fd);
  s->cache_addresses();
  return s;
}

// A socket bound to `address` (listen and listen_packet share it).
std::shared_ptr<Socket> bind_socket(std::string_view address, int type, detail::SocketKind kind, const char* call,
                                    const std::source_location& where) {
  const detail::ParsedAddress parsed = detail::parse_address(address, call, where);
  const std::vector<Endpoint> endpoints =
      detail::resolve(parsed, detail::Purpose::listen, type, call, address, where);
  const Endpoint& ep = endpoints.front();
  const std::string what = detail::call_text(call, address, where);
  auto s = std::make_shared<Socket>(detail::open_socket(ep.family(), type, what), kind);
  const int one = 1, zero = 0;
  if (is_inet(ep.family()) && type == SOCK_STREAM)
    (void)::setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as Go: restart without TIME_WAIT errors
  if (ep.family() == AF_INET6 && parsed.host.empty())
    (void)::setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);  // ":port": IPv4 too
  if (::bind(s->fd, reinterpret_cast<const sockaddr*>(&ep.addr), ep.len) != 0) {
    const int error = detail::last_errno();
    std::string hint;
    if (error == EADDRINUSE)
      hint = parsed.is_unix ? " (the socket file exists: remove it if no server uses it)"
                            : " (another socket listens on this port; use port 0 for any free port)";
    throw std::system_error(error, std::generic_category(), what + ": bind" + hint);
  }
  s->cache_addresses();  // here, so that a Unix socket file is removed at close even if listen fails
  s->unlinks_local_path = parsed.is_unix;
  return s;
}

// Cancels a dial with a Context: the cancel callback (after_func's task) marks it and
// moves the attempt's write deadline into the past, which wakes the dialing wait.
// Lock: `lock` guards attempt and cancelled.
struct DialControl {
  std::mutex lock;
  Socket* attempt = nullptr;  // the socket connecting now, if any
  bool cancelled = false;
  void cancel() {
    std::lock_guard guard(lock);
    cancelled = true;
    if (attempt != nullptr) attempt->set_deadline(PollDir::write, 0);
  }
  bool is_cancelled() {
    std::lock_guard guard(lock);
    return cancelled;
  }
  void set_attempt(Socket* s) {
    std::lock_guard guard(lock);
    attempt = s;
    if (cancelled && s != nullptr) s->set_deadline(PollDir::write, 0);
  }
};

struct CancelledDial {};  // unwinds a dial cancelled through its Context

[[noreturn]] void throw_dial_timeout(const std::string& what, const std::string& target) {
  throw Timeout(what + ": i/o timeout: connecting to " + target +
                " did not complete before the dial's timeout or deadline");
}

Conn dial_endpoint(const Endpoint& ep, std::int64_t deadline_ns, DialControl* control, const std::string& what,
                   const std::source_location& where) {
  const std::string target = detail::format_address(&ep.addr, ep.len);
  auto s = std::make_shared<Socket>(detail::open_socket(ep.family(), SOCK_STREAM, what), detail::SocketKind::conn);
  s->write_deadline.store(deadline_ns, std::memory_order_relaxed);
  struct AttemptGuard {
    DialControl* control;
    ~AttemptGuard() {
      if (control != nullptr) control->set_attempt(nullptr);
    }
  } guard{control};
  if (control != nullptr) control->set_attempt(s.get());
  {
    Socket::Op op(s, "dial", where);
    // EINTR leaves the connect running, as EINPROGRESS does: wait for it either way.
    if (::connect(s->fd, reinterpret_cast<const sockaddr*>(&ep.addr), ep.len) != 0) {
      int error = detail::last_errno();
      if (error != EINPROGRESS && error != EINTR && error != EALREADY)
        throw std::system_error(error, std::generic_category(), what + ": connect to " + target);
      for (;;) {
        const std::int64_t deadline = s->write_deadline.load(std::memory_order_acquire);
        if (deadline != kNeverNs && deadline <= now_ns()) {
          if (control != nullptr && control->is_cancelled()) throw CancelledDial{};
          throw_dial_timeout(what, target);
        }
        s->wait(PollDir::write, op, target.c_str());
        error = 0;
        socklen_t len = sizeof error;
        if (::getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = detail::last_errno();
        if (error == EINPROGRESS || error == EALREADY || error == EINTR) continue;
        if (error != 0) throw std::system_error(error, std::generic_category(), what + ": connect to " + target);
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof peer;
        if (::getpeername(s->fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0) break;
        if (detail::last_errno() != ENOTCONN)
          throw std::system_error(detail::last_errno(), std::generic_category(), what + ": connect to " + target);
      }
    }
  }
  s->write_deadline.store(kNeverNs, std::memory_order_release);
  if (is_inet(ep.family())) set_no_delay(s->fd);
  s->cache_addresses();
  return Conn(std::move(s));
}

Conn dial_until(std::string_view address, std::int64_t deadline_ns, DialControl* control, const char* call,
                const std::source_location& where) {
  const std::string what = detail::call_text(call, address, where);
  const detail::ParsedAddress parsed = detail::parse_address(address, call, where);
  const std::vector<Endpoint> endpoints =
      detail::resolve(parsed, detail::Purpose::dial, SOCK_STREAM, call, address, where);
  std::exception_ptr first_error;
  for (const Endpoint& ep : endpoints) {
    if (deadline_ns != kNeverNs && deadline_ns <= now_ns()) throw_dial_timeout(what, std::string(address));
    if (control != nullptr && control->is_cancelled()) throw CancelledDial{};
    try {
      return dial_endpoint(ep, deadline_ns, control, what, where);
    } catch (const std::system_error&) {  // refused, unreachable: try the next address (as Go)
      if (!first_error) first_error = std::current_exception();
    }
  }
  std::rethrow_exception(first_error);
}

}  // namespace

// ------------------------------------------------------------------------- Conn

Conn::Conn() noexcept = default;
Conn::Conn(std::shared_ptr<detail::Socket> socket) noexcept : socket_(std::move(socket)) {}
Conn::~Conn() { close(); }
Conn::Conn(Conn&&) noexcept = default;
Conn& Conn::operator=(Conn&& other) noexcept {
  if (this != &other) {
    close();
    socket_ = std::move(other.socket_);
  }
  return *this;
}

std::size_t Conn::read(std::span<std::byte> buf, std::source_location where) {
  Socket::Op op(socket_, "read", where, &Socket::reading);
  Socket& s = op.socket();
  if (buf.empty()) return 0;
  // The last read emptied the socket: wait for data before the recv (socket.hpp).
  bool wait_first = std::exchange(s.read_drained, false) && s.drained_reader_may_wait();
  for (;;) {
    s.check_deadline(PollDir::read, op);
    if (!wait_first) {
      const ssize_t n = ::recv(s.fd, buf.data(), buf.size(), 0);
      if (n > 0) {
        s.read_drained = static_cast<std::size_t>(n) < buf.size();
        return static_cast<std::size_t>(n);
      }
      const int error = detail::last_errno();
      if (s.closed()) s.throw_closed(op);
      if (n == 0) return 0;
      if (error == EINTR) continue;
      if (error != EAGAIN && error != EWOULDBLOCK) s.throw_errno(error, op, "recv");
    }
    wait_first = false;
    s.wait(PollDir::read, op);
  }
}

std::size_t Conn::read_full(std::span<std::byte> buf, std::source_location where) {
  std::size_t done = 0;
  while (done < buf.size()) {
    const std::size_t n = read(buf.subspan(done), where);
    if (n == 0) break;
    done += n;
  }
  return done;
}

void Conn::write(std::span<const std::byte> data, std::source_location where) {
  Socket::Op op(socket_, "write", where, &Socket::writing);
  Socket& s = op.socket();
  std::size_t done = 0;
  while (done < data.size()) {
    s.check_deadline(PollDir::write, op);
    const ssize_t n = ::send(s.fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    const int error = detail::last_errno();
    if (s.closed()) s.throw_closed(op);
    if (error == EINTR) continue;
    if (error != EAGAIN && error != EWOULDBLOCK) s.throw_errno(error, op, "send");
    s.wait(PollDir::write, op);
  }
}

void Conn::write(std::string_view text, std::source_location where) {
  write(std::as_bytes(std::span(text.data(), text.size())), where);
}

void Conn::close() noexcept {
  if (socket_) socket_->close();
}

void Conn::close_write(std::source_location where) {
  Socket::Op op(socket_, "close_write", where);
  if (::shutdown(op.socket().fd, SHUT_WR) != 0) op.socket().throw_errno(detail::last_errno(), op, "shutdown(SHUT_WR)");
}

void Conn::set_deadline(TimePoint t) {
  set_read_deadline(t);
  set_write_deadline(t);
}
void Conn::set_read_deadline(TimePoint t) {
  if (socket_) socket_->set_deadline(PollDir::read, goro::detail::deadline_ns(t));
}
void Conn::set_write_deadline(TimePoint t) {
  if (socket_) socket_->set_deadline(PollDir::write, goro::detail::deadline_ns(t));
}

std::string Conn::local_address() const { return socket_ ? socket_->local.text() : std::string(); }
std::string Conn::remote_address() const { return socket_ ? socket_->remote.text() : std::string(); }
int Conn::native_handle() const { return socket_ && !socket_->closed() ? socket_->fd : -1; }

// --------------------------------------------------------------------- Listener

Listener::Listener() noexcept = default;
Listener::Listener(std::shared_ptr<detail::Socket> socket) noexcept : socket_(std::move(socket)) {}
Listener::~Listener() { close(); }
Listener::Listener(Listener&&) noexcept = default;
Listener& Listener::operator=(Listener&& other) noexcept {
  if (this != &other) {
    close();
    socket_ = std::move(other.socket_);
  }
  return *this;
}

Conn Listener::accept(std::source_location where) {
  Socket::Op op(socket_, "accept", where, &Socket::reading);
  Socket& s = op.socket();
  for (;;) {
    s.check_deadline(PollDir::read, op);
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    const int fd = ::accept4(s.fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return Conn(adopt_connected(fd, peer.ss_family));
    const int error = detail::last_errno();
    if (s.closed()) s.throw_closed(op);
    if (error == EINTR || error == ECONNABORTED) continue;
    if (error == EAGAIN || error == EWOULDBLOCK) {
      s.wait(PollDir::read, op);
      continue;
    }
    if (error == EMFILE || error == ENFILE)
      s.throw_errno(error, op, "accept4 (out of file descriptors: raise RLIMIT_NOFILE, ulimit -n)");
    s.throw_errno(error, op, "accept4");
  }
}

std::string Listener::address() const { return socket_ ? socket_->local.text() : std::string(); }
void Listener::close() noexcept {
  if (socket_) socket_->close();
}
void Listener::set_deadline(TimePoint t) {
  if (socket_) socket_->set_deadline(PollDir::read, goro::detail::deadline_ns(t));
}
int Listener::native_handle() const { return socket_ && !socket_->closed() ? socket_->fd : -1; }

// ------------------------------------------------------------------- PacketConn

PacketConn::PacketConn() noexcept = default;
PacketConn::PacketConn(std::shared_ptr<detail::Socket> socket) noexcept : socket_(std::move(socket)) {}
PacketConn::~PacketConn() { close(); }
PacketConn::PacketConn(PacketConn&&) noexcept = default;
PacketConn& PacketConn::operator=(PacketConn&& other) noexcept {
  if (this != &other) {
    close();
    socket_ = std::move(other.socket_);
  }
  return *this;
}

Datagram PacketConn::recv_from(std::span<std::byte> buf, std::source_location where) {
  Socket::Op op(socket_, "recv_from", where, &Socket::reading);
  Socket& s = op.socket();
  for (;;) {
    s.check_deadline(PollDir::read, op);
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    const ssize_t n = ::recvfrom(s.fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    const int error = detail::last_errno();
    if (s.closed()) s.throw_closed(op);
    if (n >= 0) return Datagram{static_cast<std::size_t>(n), detail::format_address(&from, len)};
    if (error == EINTR) continue;
    if (error != EAGAIN && error != EWOULDBLOCK) s.throw_errno(error, op, "recvfrom");
    s.wait(PollDir::read, op);
  }
}

void PacketConn::send_to(std::span<const std::byte> data, std::string_view address, std::source_location where) {
  Socket::Op op(socket_, "send_to", where, &Socket::writing);
  Socket& s = op.socket();
  const detail::ParsedAddress parsed = detail::parse_address(address, "goro::net::PacketConn::send_to", where);
  Endpoint ep = detail::resolve(parsed, detail::Purpose::dial, SOCK_DGRAM, "goro::net::PacketConn::send_to", address,
                                where)
                    .front();
  sockaddr_storage own{};
  socklen_t own_len = sizeof own;
  (void)::getsockname(s.fd, reinterpret_cast<sockaddr*>(&own), &own_len);
  if (own.ss_family == AF_INET6 && ep.family() == AF_INET) {  // a dual-stack socket: IPv4-mapped
    const auto v4 = *reinterpret_cast<const sockaddr_in*>(&ep.addr);
    Endpoint mapped;
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&mapped.addr);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = v4.sin_port;
    sin6->sin6_addr.s6_addr[10] = 0xff;
    sin6->sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&sin6->sin6_addr.s6_addr[12], &v4.sin_addr, 4);
    mapped.len = sizeof(sockaddr_in6);
    ep = mapped;
  }
  for (;;) {
    s.check_deadline(PollDir::write, op);
    const ssize_t n = ::sendto(s.fd, data.data(), data.size(), MSG_NOSIGNAL,
                               reinterpret_cast<const sockaddr*>(&ep.addr), ep.len);
    const int error = detail::last_errno();
    if (s.closed()) s.throw_closed(op);
    if (n >= 0) return;
    if (error == EINTR) continue;
    if (error != EAGAIN && error != EWOULDBLOCK) s.throw_errno(error, op, "sendto");
    s.wait(PollDir::write, op);
  }
}

void PacketConn::close() noexcept {
  if (socket_) socket_->close();
}
void PacketConn::set_deadline(TimePoint t) {
  set_read_deadline(t);
  set_write_deadline(t);
}
void PacketConn::set_read_deadline(TimePoint t) {
  if (socket_) socket_->set_deadline(PollDir::read, goro::detail::deadline_ns(t));
}
void PacketConn::set_write_deadline(TimePoint t) {
  if (socket_) socket_->set_deadline(PollDir::write, goro::detail::deadline_ns(t));
}
std::string PacketConn::local_address() const { return socket_ ? socket_->local.text() : std::string(); }
int PacketConn::native_handle() const { return socket_ && !socket_->closed() ? socket_->fd : -1; }

// ------------------------------------------------------------------- listen, dial

Listener listen(std::string_view address, std::source_location where) {
  std::shared_ptr<Socket> s =
      bind_socket(address, SOCK_STREAM, detail::SocketKind::listener, "goro::net::listen", where);
  if (::listen(s->fd, kListenBacklog) != 0)
    throw std::system_error(detail::last_errno(), std::generic_category(),
                            detail::call_text("goro::net::listen", address, where) + ": listen");
  return Listener(std::move(s));
}

PacketConn listen_packet(std::string_view address, std::source_location where) {
  std::shared_ptr<Socket> s =
      bind_socket(address, SOCK_DGRAM, detail::SocketKind::packet_conn, "goro::net::listen_packet", where);
  return PacketConn(std::move(s));
}

Conn dial(std::string_view address, std::source_location where) {
  return dial_until(address, kNeverNs, nullptr, "goro::net::dial", where);
}

Conn dial(std::string_view address, std::chrono::nanoseconds timeout, std::source_location where) {
  return dial_until(address, goro::detail::deadline_after_ns(now_ns(), timeout), nullptr, "goro::net::dial", where);
}

Conn dial(const Context& ctx, std::string_view address, std::source_location where) {
  if (ctx.cancelled()) std::rethrow_exception(goro::cause(ctx));
  std::int64_t deadline = kNeverNs;
  if (std::optional<TimePoint> d = ctx.deadline()) deadline = goro::detail::deadline_ns(*d);
  auto control = std::make_shared<DialControl>();
  std::function<bool()> stop = after_func(ctx, [control] { control->cancel(); }, where);
  struct StopGuard {
    std::function<bool()>& stop;
    ~StopGuard() { (void)stop(); }
  } stop_guard{stop};
  try {
    return dial_until(address, deadline, control.get(), "goro::net::dial", where);
  } catch (const CancelledDial&) {
    if (ctx.err() == ContextError::deadline_exceeded)
      throw_dial_timeout(detail::call_text("goro::net::dial", address, where), std::string(address));
    std::rethrow_exception(goro::cause(ctx));
  }
}

}  // namespace goro::net
