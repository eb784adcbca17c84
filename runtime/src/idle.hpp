// runtime/src/idle.hpp — how a worker with nothing to run waits, and how new work wakes
// it (Go's notesleep / wakep, and netpoll's place in findRunnable).
//
//   // a producer, after publishing a task (Runtime::ready):
//   idle.wake_if_needed();
//   // a worker out of work (Runtime::find_runnable):
//   idle.enter(w);  if (work visible after all) idle.leave(w);
//   else switch (idle.sleep(w, next_timer_deadline, batch)) { ... }
//
// One IdleWorkers per runtime. An idle worker sleeps either on its own futex
// (Worker::wake_word) or, one at a time, inside the poller's epoll_wait (netpoll.hpp),
// both until the next timer's deadline; waking it means setting its wake word, then a
// futex wake and a poller break (interrupt), so it wakes wherever it sleeps. The poller
// sits behind this class: the scheduler asks it for ready fds only through poll_if_due()
// and poll_now(), and sleeps only through sleep().
//
// No lost wake-ups (the scheduler's side is in scheduler.hpp):
//   producer:  publish the task; seq_cst fence; if idle_count_ > 0 && spinning_count_ == 0:
//              wake one (wake_if_needed; a publish by a seq_cst RMW is its own fence:
//              wake_if_needed_after_fence)
//   idler:     enter(): listed, idle_count_++ (seq_cst), seq_cst fence; then the caller
//              re-checks every queue and the timers before it sleeps
//   In the seq_cst order either the idler's re-check sees the task, or the producer sees
//   idle_count_ > 0 and wakes an idler. A spinning worker (spinning_count_ > 0) finds the
//   task itself, and wakes another worker when it stops spinning with work in hand. (It
//   may be asleep for up to ~100 us meanwhile, watching whether a busy worker gets
//   through its own queue: Runtime::worth_stealing. Busy workers take the global queue
//   every 61st schedule, so nothing waits longer on its account.)
// - A waker takes the worker off idle_ (and decrements idle_count_) before setting its
//   wake word, so each wake word is set at most once per enter(); a worker that leaves
//   on its own (leave()) and finds itself already taken off waits for that wake-up, so a
//   wake word never carries a stale 1 into the next sleep.
//
// Lock discipline: lock_ guards idle_ (and keeps idle_count_ equal to its size at every
// release of the lock); idle_count_ and spinning_count_ are atomics read without it. No
// lock is held while sleeping or waking.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

#include "goro/detail/futex_lock.hpp"
#include "netpoll.hpp"

namespace goro::detail {

struct Worker;

class IdleWorkers {
 public:
  IdleWorkers() = default;
  IdleWorkers(const IdleWorkers&) = delete;
  IdleWorkers& operator=(const IdleWorkers&) = delete;

  // --- producers of work
  // After publishing work with a plain store: fence, then wake one idle worker if none spins.
  void wake_if_needed() noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    wake_if_needed_after_fence();
  }
  // The same when the publish was a seq_cst read-modify-write (it serves as the fence).
  void wake_if_needed_after_fence() noexcept {
    if (idle_count_.load(std::memory_order_seq_cst) > 0 &&
        spinning_count_.load(std::memory_order_seq_cst) == 0)
      wake_one();
  }
  void wake_one() noexcept;
  void wake_all() noexcept;  // shutdown
  // Workers idle now (seq_cst: a timer's producer and the deadlock detector order on it).
  int idle_count() const noexcept { return idle_count_.load(std::memory_order_seq_cst); }

  // --- spinning (a worker out of work that keeps looking for a while)
  // At most half the busy workers spin (relaxed: a heuristic), and none while a task
  // waits on an fd. Then the work this process waits for comes from other processes
  // and the kernel, which need the CPU a spinner holds: where runnable threads outnumber
  // cores, a spin delays the very peer it waits for by its own length (a 64-byte echo
  // over loopback on 2 vCPUs ran 10x slower with spinning workers, at 1 connection, and
  // 2x at 100). Such a worker polls once, steals without waiting for a victim to drain
  // its queue (Runtime::steal's wait_for_draining), and goes idle; one idle worker sleeps
  // in epoll_wait, where the kernel wakes it for the next edge, as Go's findRunnable does
  // after its brief steal passes.
  bool may_spin(std::size_t workers) const noexcept {
    const int busy = static_cast<int>(workers) - idle_count_.load(std::memory_order_relaxed);
    return workers > 1 && 2 * spinning_count_.load(std::memory_order_relaxed) < std::max(busy, 1) &&
           !poller_.has_task_waiters();
  }
  void start_spinning() noexcept { spinning_count_.fetch_add(1, std::memory_order_seq_cst); }
  void stop_spinning() noexcept { spinning_count_.fetch_sub(1, std::memory_order_seq_cst); }

  // --- a worker out of work
  // Lists w as idle, then fences: the caller re-checks for work before it sleeps.
  void enter(Worker* w) noexcept;
  // Back to work without being woken: unlists w, or, if a waker has already taken it
  // off the list, consumes that waker's wake-up.
  void leave(Worker* w) noexcept;
  enum class Wakeup : std::uint8_t {
    woken,    // a waker took w off the list (no leave() needed)
    polled,   // fds became ready: `out` holds their tasks; w is still listed
    timeout,  // the deadline passed, or a spurious return; w is still listed
  };
  // Sleeps (once) until woken, deadline_ns (INT64_MAX: none) or, when w is the worker
  // inside epoll_wait, an fd edge.
  Wakeup sleep(Worker* w, std::int64_t deadline_ns, PollBatch& out) noexcept;

  // --- the poller's tasks for busy workers
  // Whether any task waits on an fd: one relaxed load, checked before the calls below.
  bool polling() const noexcept { return poller_.has_waiters(); }
  // A busy worker's non-blocking poll, at most every Netpoll::kPollIntervalNs.
  void poll_if_due(std::uint32_t tick, PollBatch& out) noexcept { poller_.poll_if_due(tick, out); }
  // A worker out of work: a non-blocking poll now.
  void poll_now(PollBatch& out) noexcept { poller_.poll_now(out); }
  Netpoll& poller() noexcept { return poller_; }

 private:
  std::atomic<int> idle_count_{0};
  std::atomic<int> spinning_count_{0};
  FutexLock lock_;                // guards idle_
  std::vector<Worker*> idle_;
  Netpoll poller_;  // fd readiness: busy workers poll it, one idle worker sleeps in it
};

}  // namespace goro::detail
