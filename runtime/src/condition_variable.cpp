// runtime/src/condition_variable.cpp — goro::ConditionVariable: waiters on a WaitQueue
// under lock_, a timer per wait_for. The invariants are in goro/condition_variable.hpp.
//
// wait_for's timer: the sleeper, its timer and notify race to claim the waiter (CAS on
// TimedWait::claim.done); only the winner wakes it. The TimedWait lives on the sleeper's
// stack, so the sleeper does not return before the timer is provably done with it:
// either cancel_timer() removed it (drop ran) or fire/drop set timer_done.
#include <mutex>

#include "goro/condition_variable.hpp"
#include "goro/detail/park_on.hpp"
#include "goro/detail/schedule_point.hpp"

namespace goro {

namespace {

struct TimedWait {
  detail::SelectState claim;               // first to CAS done 0 -> 1 owns the wake-up
  detail::Waiter* waiter = nullptr;        // the sleeper's waiter (claim.done guards waking it)
  detail::TimerHandle timer;               // written by park's release step, under the CV lock
  bool timed_out = false;                  // written by the timer before it wakes the sleeper
  std::atomic<bool> timer_done{false};     // fire or drop has finished with this object
};

void timer_fired(void* arg) {
  auto* timed = static_cast<TimedWait*>(arg);
  std::uint32_t unclaimed = 0;
  if (timed->claim.done.compare_exchange_strong(unclaimed, 1, std::memory_order_acq_rel)) {
    timed->timed_out = true;
    // The waiter stays on the queue; the sleeper unlinks itself (notify skips it).
    detail::wake(*timed->waiter);
  }
  timed->timer_done.store(true, std::memory_order_release);
}

void timer_dropped(void* arg) {
  static_cast<TimedWait*>(arg)->timer_done.store(true, std::memory_order_release);
}

// Returns once neither fire nor drop of the timer can touch `timed` any more. `cancel`:
// false only when the timer itself woke us (it fired; nothing to cancel).
void retire_timer(TimedWait& timed, bool cancel) {
  if (cancel) (void)detail::cancel_timer(timed.timer);  // drop runs if it removed the timer
  // Otherwise it fired, or is firing right now on a worker: a few instructions away.
  while (!timed.timer_done.load(std::memory_order_acquire)) detail::cpu_relax();
}

struct ReleaseArgs {
  detail::FutexLock* lock;
  TimedWait* timed;  // null: no deadline
  std::int64_t deadline_ns;
};

// park()'s release step: runs once the sleeper is parked, so the timer cannot wake a
// task that is still running.
void arm_timer_and_unlock(void* arg) {
  auto* args = static_cast<ReleaseArgs*>(arg);
  if (args->timed)
    args->timed->timer = detail::add_timer(args->deadline_ns, timer_fired, timer_dropped, args->timed);
  args->lock->unlock();
}

}  // namespace

bool ConditionVariable::park_waiter(void (*unlock_user)(void*), void* user,
                                    std::int64_t deadline_ns, std::source_location where) {
  detail::schedule_point();
  detail::Waiter self;
  detail::init_waiter(self);
  TimedWait timed_storage;
  TimedWait* timed = nullptr;
  if (deadline_ns != kNoDeadline) {
    timed = &timed_storage;
    timed->waiter = &self;
    self.select = &timed->claim;  // notify's pop_claimable CASes it
  }
  const detail::WaitSite site{diag::WaitReason::cond_wait, where, this};

  lock_.lock();
  waiters_.push_back(&self);
  try {
    unlock_user(user);  // queued first: a notify after this finds us
  } catch (...) {
    waiters_.remove(&self);
    lock_.unlock();
    throw;
  }
  ReleaseArgs args{&lock_, timed, deadline_ns};
  // Leaving without a wake-up: a notify that unlinked us, or (timed) a timer or notify
  // that won the claim, owes us one.
  auto leave = [&] {
    bool owed = detail::leave_queue(lock_, waiters_, self);
    if (timed) {
      std::uint32_t unclaimed = 0;
      owed = !timed->claim.done.compare_exchange_strong(unclaimed, 1, std::memory_order_acq_rel);
    }
    return owed;
  };
  try {
    detail::park_or_leave(site, arm_timer_and_unlock, &args, leave);
  } catch (...) {  // TaskUnwind, or given up: the timer must be done with our frame first
    // Not woken through the claim: timed_out may be being written right now; don't read it.
    if (timed) retire_timer(*timed, true);
    throw;
  }
  if (timed) {
    {
      std::lock_guard guard(lock_);
      waiters_.remove(&self);  // still linked when the timer woke us
    }
    // We were woken through the claim (or await_wake()): timed_out is published.
    retire_timer(*timed, !timed->timed_out);
    return timed->timed_out;
  }
  return false;
}

void ConditionVariable::notify_one() noexcept {
  detail::Waiter* next;
  {
    std::lock_guard guard(lock_);
    next = waiters_.pop_claimable();  // skips waiters their timer already claimed
  }
  if (next) detail::wake(*next);
}

void ConditionVariable::notify_all() noexcept {
  detail::WaitQueue to_wake;
  {
    std::lock_guard guard(lock_);
    while (detail::Waiter* w = waiters_.pop_claimable()) to_wake.push_back(w);
  }
  while (detail::Waiter* w = to_wake.pop_front()) detail::wake(*w);
}

}  // namespace goro
