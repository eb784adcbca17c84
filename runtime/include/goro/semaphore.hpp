// goro/semaphore.hpp — a weighted semaphore that parks tasks instead of threads
// (Go's golang.org/x/sync/semaphore.Weighted).
//
//   goro::Semaphore memory(64 << 20);          // at most 64 MiB of buffers at once
//   goro::go_spawn([&] {
//     memory.acquire(buffer_bytes);            // parks while the units are taken
//     process(buffer_bytes);
//     memory.release(buffer_bytes);
//   });
//
// Semantics are Go's:
// - acquire(n) takes n units, parking until n are free; waiters are served strictly in
//   arrival order, so a large request at the head of the queue holds back smaller later
//   ones that would fit (no starvation of large requests).
// - try_acquire(n) takes n units only if they are free and nobody waits; never parks.
// - release(n) returns units and wakes the waiters at the head that now fit.
// - Releasing more than is held is a bug: std::logic_error (Go panics).
// Unlike Go, acquire(n) with n larger than the semaphore's size throws
// std::invalid_argument at the caller's line instead of blocking forever (Go blocks
// until its context is done; without a context that is a hang). A parked acquire shows
// in goro::diag::tasks() and the dumps as `semaphore` at its call site. Plain threads
// block instead of parking.
//
// Invariants (semaphore.cpp): 0 <= held_ <= size_. Every queued waiter's request is
// <= size_. A queued waiter is woken only by whoever unlinks it from waiters_, and that
// party has already added its request to held_ (the units are handed over, as in Go's
// notifyWaiters), so a woken acquire returns without retaking the lock. After every
// change of held_ or of the queue's head, the head waiter is served if it fits.
// Lock discipline: lock_ guards held_ and waiters_ (and the requests the queued waiters
// point to); size_ is immutable. Parked waiters are woken after lock_ is dropped; a
// waiter of acquire(ctx, n) is told under lock_ (see Request), through a one-slot
// channel whose try_send never blocks (lock order: lock_, then that channel's lock).
#pragma once

#include <cstdint>
#include <source_location>

#include "goro/detail/futex_lock.hpp"
#include "goro/detail/park.hpp"

namespace goro {

class Context;  // goro/context.hpp
class RWMutex;

class Semaphore {
 public:
  // A semaphore of n units, all free. Throws std::invalid_argument if n < 0.
  explicit Semaphore(std::int64_t n);
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // Takes n units, parking until they are free (FIFO among waiters). Throws
  // std::invalid_argument if n < 0 or n > size(): such a request could never be served.
  void acquire(std::int64_t n = 1, std::source_location where = std::source_location::current());
  // Extension (Go's Acquire(ctx, n)): as acquire(n), but gives up when ctx is cancelled
  // first, or already is: then returns false and holds nothing. While it waits it shows
  // as `select` at its line (it waits on ctx.done() too). Include goro/context.hpp.
  bool acquire(const Context& ctx, std::int64_t n = 1,
               std::source_location where = std::source_location::current());
  // Takes n units if they are free now and nobody waits; false otherwise. Never parks.
  bool try_acquire(std::int64_t n = 1);
  // Returns n units. Throws std::logic_error if fewer than n are held (the units stay
  // held), std::invalid_argument if n < 0.
  void release(std::int64_t n = 1);

  // Extensions: the size given at construction, and the units held now (a snapshot).
  std::int64_t size() const noexcept { return size_; }
  std::int64_t held() const noexcept;

 private:
  friend class RWMutex;
  // Go's runtime semaphore (sync's runtime_Semacquire / runtime_Semrelease), for
  // RWMutex: no unit is free until release() returns some, and acquire() parks with the
  // caller's wait site (its own reason, e.g. `rwmutex rlock`).
  struct NoneFree {};
  explicit Semaphore(NoneFree) noexcept;
  void acquire(std::int64_t n, const detail::WaitSite& site);

  // What a queued waiter asks for; its Waiter's elem points to it. A parked acquire is
  // woken (detail::wake) after lock_ is dropped; a context acquire is not parked but
  // selecting, and is told through notify(notify_arg), called under lock_ because its
  // Request may go as soon as it can take lock_ again.
  struct Request {
    std::int64_t n;
    void (*notify)(void*) = nullptr;
    void* notify_arg = nullptr;
  };
  // Throws std::invalid_argument unless 0 <= n <= size_.
  void check_request(std::int64_t n, const std::source_location& where) const;
  // Serves the waiters at the head of waiters_ that fit: parked ones move to `to_wake`,
  // context ones are notified now.
  void grant_locked(detail::WaitQueue& to_wake) noexcept;
  // Takes a waiter given up (deadlock, unwinding) off the queue. True if a waker had
  // already granted it its units.
  bool abandon(detail::Waiter& self) noexcept;

  const std::int64_t size_;
  mutable detail::FutexLock lock_;  // guards held_, waiters_
  std::int64_t held_ = 0;
  detail::WaitQueue waiters_;       // each waiter's elem points to its Request
};

}  // namespace goro
