// goro/detail/park_on.hpp — parking on wait queues: the protocol every blocking primitive
// follows around detail::park() (goro/detail/park.hpp) to leave its queue when it stops
// waiting without being woken.
//
//   detail::Waiter self;                   // one-queue primitive (channel, mutex, ...)
//   detail::init_waiter(self);
//   lock.lock();
//   queue.push_back(&self);
//   detail::park_queued(lock, queue, self, site);   // returns woken; `lock` not held
//
//   // Any other shape (a select queued on many channels, a wait with a timer):
//   detail::park_or_leave(site, unlock_all, &locks, [&] {
//     /* lock, unlink every waiter of ours, unlock */
//     return /* a waker claimed us first */;
//   });
//
// Protocol (on top of park.hpp's invariants). A parked party stops waiting in one of
// three ways:
// - Woken: a waker unlinked its waiter (and so owns the wake-up); park() returns.
// - Given up by the deadlock detector (plain threads only: DeadlockDetected): it must
//   leave its queues under their locks. A waker may have unlinked it between the verdict
//   and that lock: then the wake-up is owed and imminent, so it waits for it
//   (await_wake()) and carries on as woken; otherwise it throws goro::Deadlock.
// - Unwound (TaskUnwind, run() ending with the task still parked): it leaves its queues
//   and lets the exception pass.
// `leave()` is the primitive's part: under the queues' locks, unlink every waiter of the
// caller and report whether a waker had claimed one first. When it reports none, no
// waker can reach the waiters any more, so the sleeper's frame (their memory) may go.
#pragma once

#include <mutex>
#include <utility>

#include "goro/detail/futex_lock.hpp"
#include "goro/detail/park.hpp"

namespace goro::detail {

inline void unlock_futex_lock(void* lock) { static_cast<FutexLock*>(lock)->unlock(); }

// Parks the caller (its waiters queued, their locks held and handed to `release`), and
// on DeadlockDetected or unwinding runs `leave()` as the protocol above says. Returns
// when woken (or owed a wake-up that has now arrived); `release` has run by then.
template <class Leave>
inline void park_or_leave(const WaitSite& site, void (*release)(void*), void* release_arg,
                          Leave&& leave) {
  try {
    park(site, release, release_arg);
  } catch (const DeadlockDetected& deadlock) {
    if (std::forward<Leave>(leave)()) return await_wake();
    throw_deadlock(deadlock.site);
  } catch (...) {
    (void)std::forward<Leave>(leave)();
    throw;
  }
}

// Takes `self` off `queue` under `lock`. True if a waker unlinked it first: that waker
// owns the wake-up, which will come.
inline bool leave_queue(FutexLock& lock, WaitQueue& queue, Waiter& self) noexcept {
  std::lock_guard guard(lock);
  const bool claimed = !self.queued;
  queue.remove(&self);
  return claimed;
}

// Parks on one queue: `self` is queued on `queue`, whose `lock` the caller holds. The
// lock is released while parked and NOT held on return.
inline void park_queued(FutexLock& lock, WaitQueue& queue, Waiter& self, const WaitSite& site) {
  park_or_leave(site, unlock_futex_lock, &lock, [&] { return leave_queue(lock, queue, self); });
}

// park_queued() with a waiter of its own, for primitives whose waiters carry nothing
// (WaitGroup, Mutex, RWMutex's writer gate, Once). `again`: the caller was woken before
// and lost the race; it queues at the front, keeping its place ahead of later arrivals.
inline void park_on(FutexLock& lock, WaitQueue& queue, const WaitSite& site, bool again = false) {
  Waiter self;
  init_waiter(self);
  if (again) queue.push_front(&self); else queue.push_back(&self);
  park_queued(lock, queue, self, site);
}

}  // namespace goro::detail
