// runtime/src/sync.cpp — WaitGroup and Mutex on top of detail::park/wake.
//
// Both park through detail::park_on (goro/detail/park_on.hpp), which follows the parking invariants
// of goro/detail/park.hpp: waiters are queued under the object's lock, released by park()
// only once the sleeper is switched out, and woken after the lock is dropped by whoever
// unlinked them.
//
// Mutex profile (mutex_profile.hpp): Mutex::contended_since_ns_ (guarded by lock_) is
// Go's semaphore acquiretime, kept once for the whole queue instead of per waiter: the
// queue is FIFO and every hand-off restarts the clock of all waiters left (Go resets
// each one's acquiretime), so the head's uncharged wait starts at its arrival or at the
// last hand-off, whichever is later. Written only while the profile is on.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "goro/detail/schedule_point.hpp"
#include "goro/mutex.hpp"
#include "goro/wait_group.hpp"
#include "mutex_profile.hpp"
#include "goro/detail/park_on.hpp"
#include "task.hpp"

namespace goro {

using detail::park_on;

namespace {
constexpr std::int64_t kCountUnit = std::int64_t{1} << 32;
constexpr std::int64_t kWaitersBit = 1;
constexpr std::int64_t counter_of(std::int64_t state) noexcept { return state >> 32; }
}  // namespace

void WaitGroup::add(int n) {
  detail::schedule_point();
  const std::int64_t delta = std::int64_t{n} * kCountUnit;
  std::int64_t state = state_.fetch_add(delta, std::memory_order_acq_rel) + delta;
  if (counter_of(state) < 0) {
    state = state_.fetch_sub(delta, std::memory_order_acq_rel) - delta;
    if (state == kWaitersBit) release_waiters();
    throw std::logic_error("goro::WaitGroup: negative counter (done() called more often "
                           "than add()); add before spawning the task that calls done()");
  }
  if (state == kWaitersBit) release_waiters();  // the counter just reached 0: wake them
}

void WaitGroup::release_waiters() {
  detail::WaitQueue to_wake;
  {
    std::lock_guard guard(lock_);
    // Raised again meanwhile: the waiters wait for the next time it reaches 0.
    if (counter_of(state_.load(std::memory_order_acquire)) > 0) return;
    while (detail::Waiter* w = waiters_.pop_claimable()) to_wake.push_back(w);
    state_.fetch_and(~kWaitersBit, std::memory_order_acq_rel);
  }
  // The WaitGroup may be gone once a waiter runs: only the local queue is used now.
  while (detail::Waiter* w = to_wake.pop_front()) detail::wake(*w);
}

void WaitGroup::wait(std::source_location where) {
  detail::schedule_point();
  if (counter_of(state_.load(std::memory_order_acquire)) <= 0) return;
  lock_.lock();
  std::int64_t state = state_.load(std::memory_order_acquire);
  for (;;) {
    if (counter_of(state) <= 0) {
      lock_.unlock();
      return;
    }
    if ((state & kWaitersBit) ||
        state_.compare_exchange_weak(state, state | kWaitersBit, std::memory_order_acq_rel,
                                     std::memory_order_acquire))
      break;
  }
  // Queued before lock_ is released: an add() reaching 0 now finds us (release_waiters).
  park_on(lock_, waiters_, {diag::WaitReason::wait_group, where, this});
}

void Mutex::lock(std::source_location where) {
  detail::schedule_point();
  lock_.lock();
  if (!locked_) {
    locked_ = true;
    lock_.unlock();
    return;
  }
  if (detail::mutex_profile_rate() > 0 && waiters_.empty()) [[unlikely]]
    contended_since_ns_ = detail::now_ns();
  // Woken only by unlock(), which hands us the mutex: locked_ stays true.
  park_on(lock_, waiters_, {diag::WaitReason::mutex, where, this});
}

bool Mutex::try_lock() noexcept {
  std::lock_guard guard(lock_);
  if (locked_) return false;
  locked_ = true;
  return true;
}

void Mutex::unlock(std::source_location where) {
  detail::schedule_point();
  detail::Waiter* next = nullptr;
  int profile_rate = 0;
  std::int64_t delay_ns = 0;
  {
    std::lock_guard guard(lock_);
    if (!locked_)
      throw std::logic_error("goro::Mutex: unlock of an unlocked mutex");
    next = waiters_.pop_claimable();
    if (next == nullptr) {
      locked_ = false;
    } else if ((profile_rate = detail::mutex_profile_rate()) > 0) [[unlikely]] {
      const std::int64_t now = detail::now_ns();
      delay_ns = now - std::max(contended_since_ns_,
                                detail::g_mutex_profile_on_since_ns.load(std::memory_order_relaxed));
      contended_since_ns_ = waiters_.empty() ? 0 : now;
    }
  }
  if (next) {
    // Recorded before the wake: once the waiter holds the mutex, the profile has the
    // contention that ended, so whoever the waiter then tells finds it there.
    if (profile_rate > 0) [[unlikely]]
      detail::report_mutex_contention("goro::Mutex::unlock", where, delay_ns, profile_rate);
    detail::wake(*next);
  }
}

}  // namespace goro
