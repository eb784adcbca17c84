// runtime/src/sync.cpp — WaitGroup and Mutex on top of detail::park/wake.
//
// Both park through detail::park_on (park_on.hpp), which follows the parking invariants
// of goro/detail/park.hpp: waiters are queued under the object's lock, released by park()
// only once the sleeper is switched out, and woken after the lock is dropped by whoever
// unlinked them.
#include <stdexcept>
#include <string>

#include "goro/mutex.hpp"
#include "goro/wait_group.hpp"
#include "park_on.hpp"

namespace goro {

using detail::park_on;

void WaitGroup::add(int n) {
  detail::WaitQueue to_wake;
  {
    std::lock_guard guard(lock_);
    count_ += n;
    if (count_ < 0) {
      count_ -= n;
      throw std::logic_error("goro::WaitGroup: negative counter (done() called more often "
                             "than add()); add before spawning the task that calls done()");
    }
    if (count_ > 0) return;
    while (detail::Waiter* w = waiters_.pop_claimable()) to_wake.push_back(w);
  }
  // The WaitGroup may be gone once a waiter runs: only the local queue is used now.
  while (detail::Waiter* w = to_wake.pop_front()) detail::wake(*w);
}

void WaitGroup::wait(std::source_location where) {
  lock_.lock();
  if (count_ == 0) {
    lock_.unlock();
    return;
  }
  park_on(lock_, waiters_, {diag::WaitReason::wait_group, where, this});
}

void Mutex::lock(std::source_location where) {
  lock_.lock();
  if (!locked_) {
    locked_ = true;
    lock_.unlock();
    return;
  }
  // Woken only by unlock(), which hands us the mutex: locked_ stays true.
  park_on(lock_, waiters_, {diag::WaitReason::mutex, where, this});
}

bool Mutex::try_lock() noexcept {
  std::lock_guard guard(lock_);
  if (locked_) return false;
  locked_ = true;
  return true;
}

void Mutex::unlock() {
  detail::Waiter* next = nullptr;
  {
    std::lock_guard guard(lock_);
    if (!locked_)
      throw std::logic_error("goro::Mutex: unlock of an unlocked mutex");
    next = waiters_.pop_claimable();
    if (next == nullptr) locked_ = false;
  }
  if (next) detail::wake(*next);
}

}  // namespace goro
