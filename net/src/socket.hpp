// net/src/socket.hpp — the state behind every goro::net handle: one non-blocking socket
// fd, its deadlines, and the count of calls in progress that keeps the fd number alive
// (Go's internal/poll.FD with its fdMutex, simplified).
//
//   Socket::Op op(sock, "read", where);             // throws net::Closed once closed
//   for (;;) {
//     sock.check_deadline(PollDir::read, op);       // net::Timeout once it passed
//     ssize_t n = ::recv(sock.fd, ...);
//     if (n >= 0 || last_errno() != EAGAIN) ...;      // never errno: see last_errno
//     sock.wait(PollDir::read, op);                 // parks (task) or polls (plain thread)
//   }
//
// Invariants:
// - state = kClosedBit | (number of Ops in progress). An Op is taken only while the bit
//   is clear (a CAS loop), so after close() sets it the count only falls. close() holds
//   an Op of its own while it wakes the waiters, so the fd is still open then; whoever
//   brings state to exactly kClosedBit (the last Op to end, or close() itself) releases
//   the fd: drops its poller registration, then ::close. Exactly one party does.
// - Waking the waiters on close: poller->evict(fd) (tasks wake with io::Closed) and
//   shutdown(fd, SHUT_RDWR) (plain threads in poll(2) see a hang-up). Either way the
//   woken call sees the closed bit before it trusts what the syscall returned.
// - The poller is reached through its PollerLife (with_poller): a socket kept past its
//   runtime's run() finds it gone and leaves it alone.
// - Deadlines are atomics in now_ns()'s clock (kNeverNs: none). A setter stores the new
//   value, then gives the direction's waiter a spurious readiness edge (Netpoll::wake,
//   never lost) so it re-reads the deadline. A plain thread's wait polls in slices of
//   kPlainThreadSliceNs and re-reads it after each.
// - At most one Op per direction waits in the poller at a time (its rule): concurrent
//   readers, or writers, queue on read_turn / write_turn first.
// - read_drained: the poller is edge-triggered, and any byte that reaches the socket after
//   a recv brings an edge; so after a recv that emptied the socket (it returned less than
//   asked) the next read may wait first, unless the poller has seen a hang-up, whose end
//   of stream brings no edge of its own (Netpoll::hung_up's invariant).
//
// Lock discipline: no lock; state and the deadlines are atomics, the rest is written
// before the Socket is shared and read-only after.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <source_location>
#include <string>

#include "goro/internal/inspect.hpp"
#include "goro/mutex.hpp"

namespace goro::net::detail {

using goro::detail::PollDir;

enum class SocketKind : std::uint8_t { conn, listener, packet_conn };

// A socket's address as the kernel reported it (getsockname, getpeername), kept in 20
// bytes and formatted only when asked: most of a server's connections never are, and
// two formatted std::strings cost 64 bytes per connection. IP addresses are kept raw;
// any other family (Unix paths) is formatted at once into text the name owns.
// Written only before its Socket is shared; read-only afterwards.
class SocketName {
 public:
  SocketName() noexcept = default;
  ~SocketName();
  SocketName(const SocketName&) = delete;
  SocketName& operator=(const SocketName&) = delete;

  void assign(const sockaddr_storage& addr, socklen_t len);
  std::string text() const;                // "127.0.0.1:80", "[::1]:80", "unix:/path"; "" when unset
  const char* unix_path() const noexcept;  // a Unix socket file's path, else null

 private:
  static constexpr std::uint8_t kNone = 0, kIpv4 = 1, kIpv6 = 2, kText = 3;
  const char* owned_text() const noexcept;
  // kIpv4: the address in the first 4 bytes; kIpv6: all 16; kText: a new[]'d nul-
  // terminated char* (memcpy'd in: this keeps the name at 2-byte alignment).
  std::uint8_t bytes_[16] = {};
  std::uint16_t port_ = 0;  // host order
  std::uint8_t form_ = kNone;
};

struct Socket {
  static constexpr std::uint32_t kClosedBit = 1u << 31;
  static constexpr std::int64_t kPlainThreadSliceNs = 20'000'000;

  // One call in progress ("read", "accept", ...), with the caller's line for messages.
  class Op {
   public:
    // Holds s for its lifetime: a handle destroyed meanwhile leaves the state alive.
    // `turn`: the direction whose lock it takes (null: none), so concurrent readers (or
    // writers) of one socket take turns, as Go's fdMutex makes them; each then sees the
    // socket's state afresh (closed, deadline) when its turn comes.
    Op(const std::shared_ptr<Socket>& s, const char* name, const std::source_location& where,
       goro::Mutex* (*turn)(Socket&) = nullptr);  // null s: Closed
    ~Op();
    Op(const Op&) = delete;
    Op& operator=(const Op&) = delete;
    const char* name;
    const std::source_location& where;
    Socket& socket() const noexcept { return *s_; }

   private:
    std::shared_ptr<Socket> s_;
    goro::Mutex* turn_ = nullptr;
  };
  static goro::Mutex* reading(Socket& s) noexcept { return &s.read_turn; }
  static goro::Mutex* writing(Socket& s) noexcept { return &s.write_turn; }

  // Takes ownership of fd (non-blocking, close-on-exec) and registers it with the calling
  // task's runtime, if any.
  Socket(int fd, SocketKind kind);
  ~Socket();  // close(): the last owner (a handle or an Op) is gone
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  bool closed() const noexcept { return (state.load(std::memory_order_acquire) & kClosedBit) != 0; }
  void close() noexcept;
  void set_deadline(PollDir dir, std::int64_t deadline_ns) noexcept;

  // net::Timeout when dir's deadline has passed.
  void check_deadline(PollDir dir, const Op& op) const;
  // Waits until fd may be ready in dir, dir's deadline passes, or close. Throws
  // net::Closed if closed; returns (the caller retries its syscall, which re-checks the
  // deadline) otherwise. peer: the address being dialed, for diagnostics.
  void wait(PollDir dir, const Op& op, const char* peer = nullptr) const;
  // After a short read (read_drained): whether the next read may wait for readiness
  // before its recv, saving the recv that would fail with EAGAIN (as nginx does with
  // edge-triggered epoll). True on a plain thread, whose poll(2) reports what is queued;
  // in a task, true unless the poller saw the peer hang up or an error (then the end of
  // the stream is there to read, without a new edge): Netpoll::hung_up.
  bool drained_reader_may_wait() const noexcept;

  [[noreturn]] void throw_closed(const Op& op) const;
  [[noreturn]] void throw_errno(int error, const Op& op, const char* syscall) const;
  std::string describe() const;  // "fd 7 127.0.0.1:8080 <- 127.0.0.1:40312"
  void cache_addresses();        // local (and, when connected, remote) from the kernel
  const char* kind_name() const noexcept;  // "Conn", "Listener", "PacketConn" (for messages)

  const int fd;
  std::atomic<std::uint32_t> state{0};
  // Read at creation (cache_addresses; the fd may be closed when asked), formatted when
  // asked.
  SocketName local;
  SocketName remote;
  const SocketKind kind;
  bool unlinks_local_path = false;  // a Unix listener's socket file, removed at close
  // The last read's recv returned less than it asked for, so the socket was empty then
  // (a recv takes all that is queued): the next read waits for an edge before its recv
  // unless the poller saw a hang-up (drained_reader_may_wait). Guarded by read_turn.
  bool read_drained = false;
  std::atomic<std::int64_t> read_deadline;
  std::atomic<std::int64_t> write_deadline;
  goro::Mutex read_turn;   // held by the Op reading (read, accept, recv_from)
  goro::Mutex write_turn;  // held by the Op writing (write, send_to)
  // The poller fd is registered with (null: made on a plain thread). The socket may
  // outlive that runtime (kept past run()): every use goes through with_poller.
  std::shared_ptr<goro::detail::PollerLife> poller;

 private:
  // f(poller) under the poller's liveness lock: the registered one if it still exists,
  // else (a socket made on a plain thread) the calling task's. Not at all otherwise.
  template <class F>
  void with_poller(F&& f) const noexcept {
    if (poller) {
      std::shared_lock alive(poller->lock);
      if (poller->poller != nullptr) f(*poller->poller);
    } else if (goro::detail::Netpoll* p = goro::detail::current_netpoll()) {
      f(*p);
    }
  }
  void release_fd() noexcept;
  void end_op() noexcept;
  std::string op_text(const Op& op) const;  // "goro::net::Conn::read at f.cpp:12 (fd 7 ...)"
};

// errno, read through a call the compiler cannot fold. A task may resume on another
// thread after it parks, and glibc's errno is *__errno_location(), a function declared
// const: inlined code may reuse the address it computed on the first thread and read
// that thread's errno. Read errno after a syscall in a function that may have parked
// only through this (it lives in another translation unit, out of the optimiser's sight).
int last_errno() noexcept;

// A new non-blocking close-on-exec socket, or std::system_error naming `call`.
int open_socket(int family, int type, const std::string& call_text);

}  // namespace goro::net::detail
