// runtime/src/once.cpp — goro::Once. The invariants are in goro/once.hpp; waiters park
// through detail::park_on (goro/detail/park_on.hpp).
#include <mutex>

#include "goro/once.hpp"
#include "goro/detail/park_on.hpp"

namespace goro {

void Once::call_slow(void (*invoke)(void*), void* fn, std::source_location where) {
  lock_.lock();
  for (;;) {
    if (done_.load(std::memory_order_relaxed)) {
      lock_.unlock();
      return;
    }
    if (!running_) break;
    // Woken when the running call returned (done_ is set) or threw (we may run f).
    detail::park_on(lock_, waiters_, {diag::WaitReason::once, where, this});
    lock_.lock();
  }
  running_ = true;
  lock_.unlock();

  try {
    invoke(fn);
  } catch (...) {
    // Still uncalled: hand the call to the longest waiter, as std::call_once does.
    detail::Waiter* next;
    {
      std::lock_guard guard(lock_);
      running_ = false;
      next = waiters_.pop_claimable();
    }
    if (next) detail::wake(*next);
    throw;
  }

  detail::WaitQueue to_wake;
  {
    std::lock_guard guard(lock_);
    running_ = false;
    done_.store(true, std::memory_order_release);
    while (detail::Waiter* w = waiters_.pop_claimable()) to_wake.push_back(w);
  }
  // The Once may be destroyed as soon as a waiter returns: only the local queue now.
  while (detail::Waiter* w = to_wake.pop_front()) detail::wake(*w);
}

}  // namespace goro
