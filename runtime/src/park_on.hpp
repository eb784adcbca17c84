// runtime/src/park_on.hpp — the parking loop shared by the sync primitives (WaitGroup,
// Mutex, RWMutex, ConditionVariable, Once): park on a wait queue guarded by a FutexLock.
//
// Follows the parking invariants of goro/detail/park.hpp: the waiter is queued under the
// object's lock, the lock is released by park() only once the sleeper is switched out,
// and whoever unlinks the waiter wakes it, after dropping the lock.
#pragma once

#include <mutex>

#include "goro/detail/futex_lock.hpp"
#include "goro/detail/park.hpp"

namespace goro::detail {

inline void unlock_futex_lock(void* lock) { static_cast<FutexLock*>(lock)->unlock(); }

// Queues the caller on `queue` (whose `lock` the caller holds) and parks until a waker
// unlinks and wakes it; `lock` is released while parked and NOT held on return.
// - Plain thread given up by the deadlock detector: leaves the queue and throws
//   goro::Deadlock, unless a waker claimed it meanwhile (then returns as woken).
// - TaskUnwind (run() unwinding the task): leaves the queue and rethrows.
// `again`: the caller was woken before and lost the race; it queues at the front.
inline void park_on(FutexLock& lock, WaitQueue& queue, const WaitSite& site, bool again = false) {
  Waiter self;
  init_waiter(self);
  if (again) queue.push_front(&self); else queue.push_back(&self);
  try {
    park(site, unlock_futex_lock, &lock);
  } catch (const DeadlockDetected& deadlock) {
    bool claimed;
    {
      std::lock_guard guard(lock);
      claimed = !self.queued;  // woken after the detector gave up: the wake is owed
      queue.remove(&self);
    }
    if (claimed) return await_wake();
    throw_deadlock(deadlock.site);
  } catch (...) {
    std::lock_guard guard(lock);
    queue.remove(&self);
    throw;
  }
}

}  // namespace goro::detail
