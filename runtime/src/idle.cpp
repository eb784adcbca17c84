// runtime/src/idle.cpp — idle workers' sleep and wake-up; see idle.hpp for the protocol,
// its invariants and lock discipline. Touches only IdleWorkers' fields, the sleeping
// worker's wake word and the poller's blocking calls.
#include "idle.hpp"

#include <mutex>

#include "goro/detail/timer.hpp"
#include "scheduler.hpp"

namespace goro::detail {

void IdleWorkers::wake_one() noexcept {
  Worker* w = nullptr;
  {
    std::lock_guard guard(lock_);
    if (idle_.empty()) return;
    w = idle_.back();
    idle_.pop_back();
    idle_count_.fetch_sub(1, std::memory_order_seq_cst);
  }
  w->wake_word.store(1, std::memory_order_release);
  futex_wake(&w->wake_word, 1);
  poller_.interrupt(w);
}

void IdleWorkers::wake_all() noexcept {
  std::vector<Worker*> woken;
  {
    std::lock_guard guard(lock_);
    woken.swap(idle_);
    idle_count_.fetch_sub(static_cast<int>(woken.size()), std::memory_order_seq_cst);
  }
  for (Worker* w : woken) {
    w->wake_word.store(1, std::memory_order_release);
    futex_wake(&w->wake_word, 1);
    poller_.interrupt(w);
  }
}

void IdleWorkers::enter(Worker* w) noexcept {
  {
    std::lock_guard guard(lock_);
    idle_.push_back(w);
    idle_count_.fetch_add(1, std::memory_order_seq_cst);
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

void IdleWorkers::leave(Worker* w) noexcept {
  {
    std::lock_guard guard(lock_);
    auto it = std::find(idle_.begin(), idle_.end(), w);
    if (it != idle_.end()) {
      idle_.erase(it);
      idle_count_.fetch_sub(1, std::memory_order_seq_cst);
      return;
    }
  }
  // A waker already took w off the list: consume its wake-up.
  while (w->wake_word.exchange(0, std::memory_order_acquire) == 0) futex_wait(&w->wake_word, 0);
}

IdleWorkers::Wakeup IdleWorkers::sleep(Worker* w, std::int64_t deadline_ns,
                                       PollBatch& out) noexcept {
  // Tasks in IO wait: one idle worker sleeps in epoll_wait instead of its futex.
  if (poller_.has_waiters() && poller_.block(w, deadline_ns, &w->wake_word, out)) {
    if (out.count > 0) return Wakeup::polled;
  } else if (deadline_ns == INT64_MAX) {
    futex_wait(&w->wake_word, 0);
  } else {
    std::int64_t wait = deadline_ns - now_ns();
    if (wait > 0) futex_wait_for(&w->wake_word, 0, wait);
  }
  if (w->wake_word.exchange(0, std::memory_order_acquire) == 1) return Wakeup::woken;
  return Wakeup::timeout;
}

}  // namespace goro::detail
