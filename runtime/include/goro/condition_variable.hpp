// goro/condition_variable.hpp — a condition variable that parks tasks instead of
// threads (Go's sync.Cond, with the interface of std::condition_variable_any).
//
//   goro::Mutex mu;
//   goro::ConditionVariable cv;
//   std::deque<int> queue;
//   goro::go_spawn([&] {                       // consumer
//     std::unique_lock lock(mu);
//     cv.wait(lock, [&] { return !queue.empty(); });
//     use(queue.front());
//   });
//   { std::lock_guard lock(mu); queue.push_back(1); }
//   cv.notify_one();                           // producer
//
// Works with any BasicLockable (tested with std::unique_lock<goro::Mutex>). A waiter is
// listed by diag as `cond wait` at the line of its wait() call; once notified it
// relocks the user's lock, which for a goro::Mutex may park again as `mutex` (same line).
//
// Invariants:
// - lock_ guards waiters_. wait() queues its waiter under lock_ *before* it unlocks the
//   user's lock, and park() drops lock_ only once the waiter is parked; notify_*() unlink
//   waiters under lock_. So a notify issued after the user's lock was released always
//   finds the waiter: no notify is lost.
// - Whoever unlinks a waiter wakes it, once, after dropping lock_. A wait_for waiter can
//   also be woken by its timer: notify, timer and the waiter itself (leaving by an
//   exception) claim it with a CAS on its detail::SelectState; notify passes over
//   waiters already claimed by their timer, so a notify_one is never spent on a waiter
//   that timed out.
// - wait() returns with the user's lock held, also when it throws goro::Deadlock (plain
//   thread, nothing can notify it). When the runtime unwinds the task (run() ended), it
//   leaves without relocking: a std::unique_lock then reports owns_lock() == false.
#pragma once

#include <chrono>
#include <condition_variable>  // std::cv_status
#include <cstdint>
#include <mutex>
#include <shared_mutex>  // std::shared_lock
#include <source_location>
#include <utility>

#include "goro/detail/futex_lock.hpp"
#include "goro/detail/park.hpp"
#include "goro/detail/timer.hpp"
#include "goro/runtime.hpp"

namespace goro {

namespace detail {
template <class Lock>
inline constexpr bool is_unique_lock = false;
template <class M>
inline constexpr bool is_unique_lock<std::unique_lock<M>> = true;
template <class Lock>
inline constexpr bool is_shared_lock = false;
template <class M>
inline constexpr bool is_shared_lock<std::shared_lock<M>> = true;

// Relocks the user's lock after a wait, passing the wait site on when the mutex takes
// one (goro::Mutex, RWMutex), so a relock that parks shows the user's line.
template <class Lock>
void relock_user_lock(Lock& lock, std::source_location where) {
  if constexpr (is_unique_lock<Lock> && requires { lock.mutex()->lock(where); }) {
    auto* mutex = lock.mutex();  // a std::unique_lock over a goro mutex
    lock.release();
    mutex->lock(where);
    lock = Lock(*mutex, std::adopt_lock);
  } else if constexpr (is_shared_lock<Lock> && requires { lock.mutex()->lock_shared(where); }) {
    auto* mutex = lock.mutex();  // a std::shared_lock over a goro::RWMutex
    lock.release();
    mutex->lock_shared(where);
    lock = Lock(*mutex, std::adopt_lock);
  } else if constexpr (requires { lock.lock(where); }) {
    lock.lock(where);
  } else {
    lock.lock();
  }
}

}  // namespace detail

class ConditionVariable {
 public:
  ConditionVariable() = default;
  ConditionVariable(const ConditionVariable&) = delete;
  ConditionVariable& operator=(const ConditionVariable&) = delete;

  // Atomically releases `lock` and parks until notified; relocks before returning.
  // Spurious wake-ups do not happen, but use the predicate overload anyway.
  template <class Lock>
  void wait(Lock& lock, std::source_location where = std::source_location::current()) {
    (void)wait_until_ns(lock, kNoDeadline, where);
  }
  template <class Lock, class Predicate>
  void wait(Lock& lock, Predicate pred,
            std::source_location where = std::source_location::current()) {
    while (!pred()) (void)wait_until_ns(lock, kNoDeadline, where);
  }

  // As wait(), but gives up after `timeout`: std::cv_status::timeout when not notified.
  // Any duration works: a negative one times out at once, a huge one (hours::max())
  // waits for a notify only; nothing overflows.
  template <class Lock, class Rep, class Period>
  std::cv_status wait_for(Lock& lock, const std::chrono::duration<Rep, Period>& timeout,
                          std::source_location where = std::source_location::current()) {
    return wait_until_ns(lock, detail::deadline_after_ns(detail::saturating_ns(timeout)), where);
  }
  // Returns pred() as it was last evaluated: false means it timed out with pred() false.
  template <class Lock, class Rep, class Period, class Predicate>
  bool wait_for(Lock& lock, const std::chrono::duration<Rep, Period>& timeout, Predicate pred,
                std::source_location where = std::source_location::current()) {
    return wait_until_pred(lock, detail::deadline_after_ns(detail::saturating_ns(timeout)),
                           std::move(pred), where);
  }

  // As wait(), but gives up at `deadline` of any clock (steady_clock is exact; another
  // clock is converted once, at the call). time_point::min() times out at once,
  // time_point::max() waits for a notify only.
  template <class Lock, class Clock, class Duration>
  std::cv_status wait_until(Lock& lock, const std::chrono::time_point<Clock, Duration>& deadline,
                            std::source_location where = std::source_location::current()) {
    return wait_until_ns(lock, detail::deadline_of(deadline), where);
  }
  template <class Lock, class Clock, class Duration, class Predicate>
  bool wait_until(Lock& lock, const std::chrono::time_point<Clock, Duration>& deadline,
                  Predicate pred, std::source_location where = std::source_location::current()) {
    return wait_until_pred(lock, detail::deadline_of(deadline), std::move(pred), where);
  }

  // Wakes the longest waiter, if any (FIFO).
  void notify_one() noexcept;
  // Wakes every waiter queued now.
  void notify_all() noexcept;

 private:
  static constexpr std::int64_t kNoDeadline = -1;

  template <class Lock, class Predicate>
  bool wait_until_pred(Lock& lock, std::int64_t deadline_ns, Predicate pred,
                       std::source_location where) {
    while (!pred())
      if (wait_until_ns(lock, deadline_ns, where) == std::cv_status::timeout) return pred();
    return true;
  }

  // deadline_ns: a detail::now_ns() time; detail::kNeverNs is none.
  template <class Lock>
  std::cv_status wait_until_ns(Lock& lock, std::int64_t deadline_ns, std::source_location where) {
    if (deadline_ns == detail::kNeverNs) deadline_ns = kNoDeadline;
    bool timed_out;
    try {
      timed_out = park_waiter([](void* l) { static_cast<Lock*>(l)->unlock(); }, &lock,
                              deadline_ns, where);
    } catch (const Deadlock&) {
      detail::relock_user_lock(lock, where);  // may itself throw Deadlock
      throw;
    }
    detail::relock_user_lock(lock, where);
    return timed_out ? std::cv_status::timeout : std::cv_status::no_timeout;
  }

  // Queues the caller, runs unlock_user(user) with lock_ held, parks until notified (or
  // until deadline_ns, a detail::now_ns() time; kNoDeadline: none). True: timed out.
  bool park_waiter(void (*unlock_user)(void*), void* user, std::int64_t deadline_ns,
                   std::source_location where);

  detail::FutexLock lock_;  // guards waiters_
  detail::WaitQueue waiters_;
};

}  // namespace goro
