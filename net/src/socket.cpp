// net/src/socket.cpp — see socket.hpp for the invariants.
#include "socket.hpp"

#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string_view>
#include <system_error>

#include "address.hpp"
#include "goro/detail/timer.hpp"
#include "goro/io.hpp"
#include "goro/net.hpp"

namespace goro::net::detail {

using goro::detail::kNeverNs;
using goro::detail::now_ns;

[[gnu::noinline]] int last_errno() noexcept { return errno; }

int open_socket(int family, int type, const std::string& call_text) {
  const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const int error = last_errno();
    std::string what = call_text + ": socket";
    if (error == EMFILE || error == ENFILE) what += " (out of file descriptors: raise RLIMIT_NOFILE, ulimit -n)";
    throw std::system_error(error, std::generic_category(), what);
  }
  return fd;
}

Socket::Op::Op(const std::shared_ptr<Socket>& s, const char* op_name, const std::source_location& at,
               goro::Mutex* (*turn)(Socket&))
    : name(op_name), where(at), s_(s) {
  if (s_ == nullptr)
    throw Closed(std::string("goro::net::") + op_name + " at " + site_text(where) +
                 ": use of a closed network connection (the handle is empty or was moved from)");
  std::uint32_t v = s_->state.load(std::memory_order_acquire);
  do {
    if (v & kClosedBit) s_->throw_closed(*this);
  } while (!s_->state.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel));
  if (turn == nullptr) return;
  goro::Mutex* m = turn(*s_);
  if (!m->try_lock()) {
    try {
      m->lock(where);
    } catch (...) {  // run() unwinding this task
      s_->end_op();
      throw;
    }
  }
  turn_ = m;
  if (s_->closed()) {  // closed while it waited for its turn
    turn_->unlock();
    s_->end_op();
    s_->throw_closed(*this);
  }
}

Socket::Op::~Op() {
  if (turn_ != nullptr) turn_->unlock();
  s_->end_op();
}

Socket::Socket(int socket_fd, SocketKind socket_kind)
    : fd(socket_fd), kind(socket_kind), read_deadline(kNeverNs), write_deadline(kNeverNs) {
  if (goro::detail::Netpoll* p = goro::detail::current_netpoll()) {
    try {
      p->add_registration(fd);
    } catch (...) {
      ::close(fd);
      throw;
    }
    poller = p->life();
  }
}

Socket::~Socket() { close(); }

void Socket::end_op() noexcept {
  if (state.fetch_sub(1, std::memory_order_acq_rel) == kClosedBit + 1) release_fd();
}

void Socket::close() noexcept {
  std::uint32_t v = state.load(std::memory_order_acquire);
  do {
    if (v & kClosedBit) return;  // idempotent
  } while (!state.compare_exchange_weak(v, (v | kClosedBit) + 1, std::memory_order_acq_rel));
  if (v != 0) {  // calls in progress: wake them (our own Op keeps the fd open meanwhile)
    with_poller([&](goro::detail::Netpoll& p) { p.evict(fd); });
    (void)::shutdown(fd, SHUT_RDWR);
  }
  end_op();
}

void Socket::release_fd() noexcept {
  if (poller) {
    with_poller([&](goro::detail::Netpoll& p) {
      p.evict(fd);  // waits that raced with close see Closed, not a stale edge
      p.drop_registration(fd);
    });
  }
  if (unlinks_local_path) {
    if (const char* path = local.unix_path()) (void)::unlink(path);
  }
  ::close(fd);
}

void Socket::set_deadline(PollDir dir, std::int64_t deadline_ns) noexcept {
  (dir == PollDir::read ? read_deadline : write_deadline).store(deadline_ns, std::memory_order_release);
  if ((state.load(std::memory_order_acquire) & ~kClosedBit) == 0) return;  // nobody waits
  with_poller([&](goro::detail::Netpoll& p) { p.wake(fd, dir); });
}

void Socket::check_deadline(PollDir dir, const Op& op) const {
  const std::int64_t deadline = (dir == PollDir::read ? read_deadline : write_deadline).load(std::memory_order_acquire);
  if (deadline == kNeverNs || deadline > now_ns()) return;
  throw Timeout(op_text(op) + ": i/o timeout: the " + (dir == PollDir::read ? "read" : "write") +
                " deadline passed; move it later (set_deadline) or clear it with time_point::max()");
}

void Socket::wait(PollDir dir, const Op& op, const char* peer) const {
  const std::int64_t deadline = (dir == PollDir::read ? read_deadline : write_deadline).load(std::memory_order_acquire);
  if (goro::detail::Netpoll* p = goro::detail::current_netpoll()) {
    try {
      (void)p->wait(fd, dir, deadline, op.where, op.name, peer);
    } catch (const io::Closed&) {
      throw_closed(op);
    }
  } else {
    // A plain thread sleeps in poll(2), which neither close() (it shuts the socket down,
    // which poll does see) nor a moved deadline can interrupt: wake up now and then to
    // re-read the deadline.
    const std::int64_t slice_end = now_ns() + kPlainThreadSliceNs;
    const std::int64_t until = deadline < slice_end ? deadline : slice_end;
    const auto t = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(until));
    if (dir == PollDir::read) {
      (void)io::wait_readable(fd, t, op.where);
    } else {
      (void)io::wait_writable(fd, t, op.where);
    }
  }
  if (closed()) throw_closed(op);
}

bool Socket::drained_reader_may_wait() const noexcept {
  goro::detail::Netpoll* p = goro::detail::current_netpoll();
  return p == nullptr || !p->hung_up(fd);
}

std::string Socket::describe() const {
  std::string text = "fd " + std::to_string(fd);
  if (std::string name = local.text(); !name.empty()) text += " " + name;
  if (std::string name = remote.text(); !name.empty()) text += " <-> " + name;
  return text;
}

std::string Socket::op_text(const Op& op) const {
  return std::string("goro::net::") + kind_name() + "::" + op.name + " at " + site_text(op.where) + " (" + describe() +
         ")";
}

void Socket::throw_closed(const Op& op) const {
  throw Closed(op_text(op) + ": use of a closed network connection");
}

void Socket::throw_errno(int error, const Op& op, const char* syscall) const {
  throw std::system_error(error, std::generic_category(), op_text(op) + ": " + syscall);
}

void Socket::cache_addresses() {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) local.assign(addr, len);
  len = sizeof addr;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) remote.assign(addr, len);
}

const char* Socket::kind_name() const noexcept {
  switch (kind) {
    case SocketKind::conn: return "Conn";
    case SocketKind::listener: return "Listener";
    case SocketKind::packet_conn: return "PacketConn";
  }
  return "Socket";
}

// ------------------------------------------------------------------- SocketName

SocketName::~SocketName() { delete[] owned_text(); }

const char* SocketName::owned_text() const noexcept {
  if (form_ != kText) return nullptr;
  const char* text;
  std::memcpy(&text, bytes_, sizeof text);
  return text;
}

void SocketName::assign(const sockaddr_storage& addr, socklen_t len) {
  delete[] owned_text();
  form_ = kNone;
  if (addr.ss_family == AF_INET) {
    const auto& sin = reinterpret_cast<const sockaddr_in&>(addr);
    std::memcpy(bytes_, &sin.sin_addr, sizeof sin.sin_addr);
    port_ = ntohs(sin.sin_port);
    form_ = kIpv4;
  } else if (addr.ss_family == AF_INET6) {
    const auto& sin6 = reinterpret_cast<const sockaddr_in6&>(addr);
    std::memcpy(bytes_, &sin6.sin6_addr, sizeof sin6.sin6_addr);
    port_ = ntohs(sin6.sin6_port);
    form_ = kIpv6;
  } else {
    const std::string formatted = format_address(&addr, len);
    if (formatted.empty()) return;
    char* text = new char[formatted.size() + 1];
    std::memcpy(text, formatted.c_str(), formatted.size() + 1);
    std::memcpy(bytes_, &text, sizeof text);
    form_ = kText;
  }
}

std::string SocketName::text() const {
  sockaddr_storage addr{};
  if (form_ == kIpv4) {
    auto& sin = reinterpret_cast<sockaddr_in&>(addr);
    sin.sin_family = AF_INET;
    std::memcpy(&sin.sin_addr, bytes_, sizeof sin.sin_addr);
    sin.sin_port = htons(port_);
    return format_address(&addr, sizeof sin);
  }
  if (form_ == kIpv6) {
    auto& sin6 = reinterpret_cast<sockaddr_in6&>(addr);
    sin6.sin6_family = AF_INET6;
    std::memcpy(&sin6.sin6_addr, bytes_, sizeof sin6.sin6_addr);
    sin6.sin6_port = htons(port_);
    return format_address(&addr, sizeof sin6);
  }
  if (const char* text = owned_text()) return text;
  return {};
}

const char* SocketName::unix_path() const noexcept {
  const char* text = owned_text();
  constexpr std::string_view kPrefix = "unix:";
  if (text == nullptr || std::string_view(text).substr(0, kPrefix.size()) != kPrefix) return nullptr;
  const char* path = text + kPrefix.size();
  return *path == '\0' || *path == '@' ? nullptr : path;  // unnamed or abstract: no file
}

}  // namespace goro::net::detail
