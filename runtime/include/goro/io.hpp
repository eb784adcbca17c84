// goro/io.hpp — waiting for a file descriptor without blocking the worker thread.
//
// For any non-blocking fd the caller owns (a socket, a pipe, an eventfd, or the fds of
// libpq, c-ares, libcurl multi): a task waiting here parks and its worker runs other
// tasks; the runtime's poller (epoll) readies it when the fd is ready.
//
//   // read(2), or -errno. errno is read here, in a function that never waits (see below).
//   [[gnu::noinline]] ssize_t read_some(int fd, char* buf, size_t n) {
//     const ssize_t r = ::read(fd, buf, n);
//     return r >= 0 ? r : -errno;
//   }
//
//   goro::io::Registration reg(fd);               // optional: registers fd once
//   for (;;) {
//     const ssize_t n = read_some(fd, buf, sizeof buf);
//     if (n >= 0) break;
//     if (n != -EAGAIN) throw std::system_error(int(-n), std::generic_category(), "read");
//     if (!goro::io::wait_readable(fd, deadline)) throw MyTimeout{};   // false: deadline passed
//   }
//   reg.close();                                  // wakes other waiters with io::Closed, closes fd
//
// Semantics:
// - Readiness is edge-based: true means "try the operation now". It may still return
//   EAGAIN (another reader took the data): wait again. No edge is lost between a failed
//   read and the next wait.
// - One task waits per fd and direction at a time; a second concurrent waiter throws
//   std::logic_error.
// - Registration: an fd a task waits on without a Registration is registered lazily, and
//   each such wait checks the registration with one epoll_ctl call (so a closed and
//   reused fd number is picked up correctly). Holding a Registration for the fd's
//   lifetime registers it once and saves that call. A Registration belongs to the
//   runtime of the task that made it and must not outlive that runtime; made on a plain
//   thread it registers nothing. Destroy it (or close()) before closing the fd.
// - close: Registration::close() and io::close(fd) wake every task waiting on fd with
//   io::Closed (Go's "use of closed network connection"), and waits that start later on
//   the same fd throw it too, until the fd is registered afresh; then the fd is closed.
// - A regular file cannot be polled (epoll refuses it): use goro::blocking for files.
// - On a plain thread (not a task) these block the thread in poll(2). Closing the fd
//   from elsewhere does not wake a plain thread's wait; its deadline does.
// - errno: a task may resume on another worker thread after any wait. glibc declares
//   __errno_location() (what `errno` expands to) const, so the compiler may reuse the
//   address it computed before the wait and read the first thread's errno. Read errno
//   right after the call that set it, into a local, in a function that has not waited
//   and is not inlined into one that has (read_some above).
// - A task waiting here shows in diagnostics as "IO wait" with the fd, the direction
//   and, for a socket, both addresses.
#pragma once

#include <chrono>
#include <source_location>
#include <stdexcept>

namespace goro::io {

// The fd was closed (or deregistered) while the task waited on it, or before.
struct Closed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool wait_readable(int fd, std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max(),
                   std::source_location where = std::source_location::current());   // true: ready; false: deadline passed
bool wait_writable(int fd, std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max(),
                   std::source_location where = std::source_location::current());

// Wakes every task waiting on fd with io::Closed (in any runtime; callable from a task
// or a plain thread), drops the fd from the pollers, then closes it (::close).
void close(int fd);

// Registers fd with the calling task's runtime's poller for this object's lifetime.
class Registration {
 public:
  explicit Registration(int fd);
  ~Registration();
  Registration(Registration&& other) noexcept : fd_(other.fd_), poller_(other.poller_) {
    other.fd_ = -1;
    other.poller_ = nullptr;
  }
  Registration& operator=(Registration&& other) noexcept;
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

  int fd() const noexcept { return fd_; }
  // Wakes the fd's waiters with io::Closed, deregisters it and closes it.
  void close();

 private:
  void release() noexcept;
  int fd_ = -1;
  void* poller_ = nullptr;  // the runtime's poller; null on a plain thread
};

}  // namespace goro::io
