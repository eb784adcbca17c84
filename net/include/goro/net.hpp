// goro/net.hpp — TCP, UDP and Unix-domain sockets whose waits park the task, not its
// worker thread (Go's net package on goro's poller).
//
//   goro::net::Listener ln = goro::net::listen("127.0.0.1:8080");
//   for (;;) {
//     goro::net::Conn conn = ln.accept();
//     goro::go_spawn([c = std::move(conn)]() mutable {   // one task per connection
//       std::array<std::byte, 4096> buf;
//       while (std::size_t n = c.read(buf)) c.write(std::span(buf).first(n));
//     });
//   }
//
//   goro::net::Conn c = goro::net::dial("localhost:8080", std::chrono::seconds(5));
//   c.set_deadline(std::chrono::steady_clock::now() + std::chrono::seconds(30));
//   c.write("ping\n");
//
// Addresses: "127.0.0.1:8080", "[::1]:8080", "localhost:8080" (resolved with getaddrinfo
// on the blocking pool), ":8080" (listen: every interface, IPv6 and IPv4 on one socket
// when the host has IPv6; dial: the local host), port 0 (listen: any free port; read it
// back with address()), "unix:/path/to/socket" and "unix:@name" (Linux's abstract
// namespace). A host name's IPv4 addresses come first, as in Go: listen("localhost:0")
// binds 127.0.0.1, and dial tries 127.0.0.1 before ::1. Ports are numbers: a service
// name ("localhost:http") throws std::invalid_argument. Addresses come back in the same
// forms.
//
// Semantics are Go's:
// - A blocking call (accept, read, write, dial, recv_from, send_to) parks the calling task
//   until the socket is ready; its worker runs other tasks meanwhile. On a plain thread
//   (not a task) the same calls block the thread and behave the same way.
// - Deadlines are absolute (steady_clock) and belong to the socket, not to one call: a
//   deadline that has passed fails the pending call (it is woken at once) and every later
//   one with net::Timeout; moving it into the future lets calls work again;
//   time_point::max() clears it.
// - close() may be called from any task or thread while others wait on the socket: they
//   wake with net::Closed, and so does every later call. The fd is closed when the last
//   call in progress has returned, so its number is never reused under a running call.
//   close() is idempotent; the destructor closes too, and a call in progress keeps the
//   socket's state alive, so a handle may be destroyed right after close() while the
//   woken tasks are still on their way out (never while another task may start a call).
// - Calls in the same direction take turns (Go's fd lock): two tasks accepting on one
//   Listener, or reading one Conn, are served one after the other; a task waiting for
//   its turn shows as "mutex". A Conn is full-duplex: one task may read while another
//   writes.
// - A socket opened by a task is registered with that task's runtime and must not
//   outlive it (as goro::io::Registration).
//
// Errors: std::system_error with the errno (a refused connection: ECONNREFUSED; a host
// name that does not resolve: net::resolver_category()), net::Timeout, net::Closed, and
// std::invalid_argument naming a malformed address. Messages name the call, the caller's
// line and the socket.
//
// Diagnostics: a task waiting here shows as "IO wait" with the operation and both
// addresses, e.g. `read fd 7 127.0.0.1:8080 <- 127.0.0.1:40312`, in dump_blocked(), the
// debug endpoint and find_leaks().
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <source_location>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "goro/context.hpp"
#include "goro/io.hpp"

namespace goro::net {

// A deadline or a dial timeout passed.
struct Timeout : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The connection or listener is closed, or was closed while the call waited (Go's "use
// of closed network connection"). A goro::io::Closed, so code catching that sees it too.
struct Closed : io::Closed {
  using io::Closed::Closed;
};

// The error category of host-name resolution failures (getaddrinfo's EAI_* codes).
const std::error_category& resolver_category() noexcept;

namespace detail {
struct Socket;
}

using TimePoint = std::chrono::steady_clock::time_point;

// A stream connection (TCP or Unix). Move-only; the destructor closes it.
class Conn {
 public:
  Conn() noexcept;  // no connection: every call throws net::Closed
  explicit Conn(std::shared_ptr<detail::Socket> socket) noexcept;
  ~Conn();
  Conn(Conn&&) noexcept;
  Conn& operator=(Conn&&) noexcept;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Reads what is available, at least one byte: the bytes read, or 0 at end of stream
  // (the peer closed or shut down its side) or when buf is empty.
  std::size_t read(std::span<std::byte> buf, std::source_location where = std::source_location::current());
  // Reads until buf is full or the stream ends: buf.size(), or fewer at end of stream.
  std::size_t read_full(std::span<std::byte> buf, std::source_location where = std::source_location::current());
  // Writes all of data, or throws (a write that timed out may have sent part of it).
  void write(std::span<const std::byte> data, std::source_location where = std::source_location::current());
  void write(std::string_view text, std::source_location where = std::source_location::current());

  void close() noexcept;
  // Shuts down the sending side (the peer reads end of stream); reading goes on.
  void close_write(std::source_location where = std::source_location::current());

  void set_deadline(TimePoint t);        // both directions
  void set_read_deadline(TimePoint t);
  void set_write_deadline(TimePoint t);

  std::string local_address() const;     // "127.0.0.1:40312", "[::1]:80", "unix:/path"
  std::string remote_address() const;
  int native_handle() const;             // -1 once closed
  explicit operator bool() const noexcept { return socket_ != nullptr; }

 private:
  std::shared_ptr<detail::Socket> socket_;
};

// A listening stream socket. Move-only; the destructor closes it (a Unix listener also
// removes its socket file, as Go's does).
class Listener {
 public:
  Listener() noexcept;
  explicit Listener(std::shared_ptr<detail::Socket> socket) noexcept;
  ~Listener();
  Listener(Listener&&) noexcept;
  Listener& operator=(Listener&&) noexcept;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // The next connection. A close() from another task wakes it with net::Closed.
  Conn accept(std::source_location where = std::source_location::current());
  std::string address() const;           // the bound address: port 0 resolved
  void close() noexcept;
  void set_deadline(TimePoint t);        // for accept
  int native_handle() const;

 private:
  std::shared_ptr<detail::Socket> socket_;
};

// What recv_from received: its size and the sender's address.
struct Datagram {
  std::size_t size = 0;
  std::string address;
};

// A datagram socket (UDP, or "unix:" datagrams). Move-only; the destructor closes it.
class PacketConn {
 public:
  PacketConn() noexcept;
  explicit PacketConn(std::shared_ptr<detail::Socket> socket) noexcept;
  ~PacketConn();
  PacketConn(PacketConn&&) noexcept;
  PacketConn& operator=(PacketConn&&) noexcept;
  PacketConn(const PacketConn&) = delete;
  PacketConn& operator=(const PacketConn&) = delete;

  // One datagram into buf (a longer one is truncated to buf.size(), as in Go).
  Datagram recv_from(std::span<std::byte> buf, std::source_location where = std::source_location::current());
  // One datagram to address ("127.0.0.1:9000", "[::1]:9000", "host:9000", "unix:/path").
  void send_to(std::span<const std::byte> data, std::string_view address,
               std::source_location where = std::source_location::current());

  void close() noexcept;
  void set_deadline(TimePoint t);
  void set_read_deadline(TimePoint t);
  void set_write_deadline(TimePoint t);
  std::string local_address() const;
  int native_handle() const;

 private:
  std::shared_ptr<detail::Socket> socket_;
};

Listener listen(std::string_view address, std::source_location where = std::source_location::current());
PacketConn listen_packet(std::string_view address, std::source_location where = std::source_location::current());

Conn dial(std::string_view address, std::source_location where = std::source_location::current());
// Gives up with net::Timeout after `timeout` (name resolution included).
Conn dial(std::string_view address, std::chrono::nanoseconds timeout,
          std::source_location where = std::source_location::current());
// Gives up at ctx's deadline (net::Timeout) or when ctx is cancelled (throws
// goro::cause(ctx), a goro::ContextDone unless the canceller gave a cause).
Conn dial(const Context& ctx, std::string_view address, std::source_location where = std::source_location::current());

}  // namespace goro::net
