// runtime/src/steal.cpp — work stealing: a worker out of work takes half of another
// worker's run queue, or, as a last resort, its runnext (Go's runqsteal / runqgrab).
//
// Touches other workers' runq (RunQueue::steal_into: a CAS on their head) and runnext (a
// CAS), and the thief's own runq; reads victims' queue hints and task-switch counters
// (Worker::executed) racily.
// Invariants: a stolen task is taken by exactly one CAS, so it is run by one worker; a
// thief steals only into its own, empty queue. Two heuristics keep tasks that talk to
// each other on one CPU (they cost only latency, never correctness):
// - a busy victim's runnext is left alone for kRunnextStealDelayNs (steal_runnext);
// - a queue its owner drains within kDrainNs is left to it (worth_stealing: the thief
//   sleeps while it watches the owner switch tasks, so a spinning worker may look away
//   for up to kDrainNs).
// A worker that has resumed no task for kStalledNs is stolen from even by a worker that
// keeps finding ready fds (steal_from_stalled).
// No locks.
#include <chrono>
#include <cstdint>
#include <thread>

#include "goro/detail/futex_lock.hpp"
#include "goro/detail/park.hpp"
#include "goro/detail/timer.hpp"
#include "scheduler.hpp"

namespace goro::detail {

namespace {

// How long a thief leaves a busy victim's runnext alone (steal_runnext).
constexpr std::int64_t kRunnextStealDelayNs = 3000;
// Below this estimated drain time a busy worker's queue is left to it (worth_stealing):
// at most this much parallelism is given up, against a CPU's worth of cache misses and
// lock contention for tasks that talk to each other.
constexpr std::int64_t kDrainNs = 100'000;
// A worker that resumed no task for this long while work waits in its queue has stopped
// (steal_from_stalled): far above a task's usual run between two parks, a quarter of a
// kernel scheduler tick. (Measured, 64-byte echo at 100 connections, server and client
// goro programs on 2 vCPUs: p99 4.3 ms, one tick, without; 1.8-2.3 ms at 1 ms.)
constexpr std::int64_t kStalledNs = 1'000'000;

// Spins (politely) until read() returns something other than `seen`, or `ns` have
// passed; true when it kept returning `seen`.
template <class Read, class T>
bool stays_for(Read read, T seen, std::int64_t ns) noexcept {
  const std::int64_t give_up = now_ns() + ns;
  do {
    for (int i = 0; i < 20; ++i) cpu_relax();
    if (read() != seen) return false;
  } while (now_ns() < give_up);
  return true;
}

// Whether read() returns `seen` again after sleeping `ns`. Read only twice, and asleep in
// between: the value is a field its owner writes on every task switch, so each thief's
// read costs the owner a cache miss on its next write, and a thief that polled it (or
// spun at all) while the owner works through its tasks would burn a CPU for nothing.
template <class Read, class T>
bool unchanged_after(Read read, T seen, std::int64_t ns) noexcept {
  std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
  return read() == seen;
}

// Takes `seen` out of the victim's runnext, unless the owner (or another thief) took it
// first.
TaskRecord* take_runnext_if(Worker* victim, TaskRecord* seen) noexcept {
  if (seen != nullptr && victim->runnext.compare_exchange_strong(seen, nullptr, std::memory_order_acq_rel))
    return seen;
  return nullptr;
}

}  // namespace

// A task sits in runnext because the victim's running task readied it, and that task
// usually parks moments later (a hand-off: a channel send to a waiting receiver, a
// producer about to fill its buffer), after which the victim runs it on a warm cache.
// Stealing it at once splits the pair across CPUs, where every later channel operation
// bounces the channel's cache lines. So, as Go's runqgrab does, give the victim a few
// microseconds to take it first; a task that is still there after that is stolen.
TaskRecord* Runtime::steal_runnext(Worker* victim) noexcept {
  TaskRecord* seen = victim->runnext.load(std::memory_order_relaxed);
  if (seen == nullptr) return nullptr;
  const auto runnext = [victim] { return victim->runnext.load(std::memory_order_relaxed); };
  if (!stays_for(runnext, seen, kRunnextStealDelayNs)) return nullptr;
  return take_runnext_if(victim, seen);
}

// Whether a thief should take from `victim`'s queue now. Tasks in a queue that its owner
// works through quickly will run within microseconds on a CPU whose cache has them
// (typically tasks a channel operation just readied, which will talk to the same
// channel); moving them gains little and makes both CPUs fight over that channel's cache
// lines, and each side then readies the other's partners onto itself, so the split
// persists. So the thief estimates the drain time: it waits up to kDrainNs / queued for
// the owner to switch tasks; if the owner does, draining takes about queued x that wait
// < kDrainNs, and the queue is left alone. A long queue (a short wait) or a stalled owner
// (one task running all along) is stolen from.
// Progress is the owner's task switches (Worker::executed), not its queue's head: tasks
// that hand off to each other run from runnext, often for a whole runnext streak, while
// the queue's head stands still; a worker busy switching among them is not stalled.
bool Runtime::worth_stealing(const Worker* victim) noexcept {
  const std::uint32_t queued = victim->runq.size_hint();
  if (queued == 0) return false;
  const std::int64_t wait_ns = kDrainNs / queued;
  if (wait_ns < 1000) return true;
  const auto switches = [victim] { return victim->executed.load(std::memory_order_relaxed); };
  return unchanged_after(switches, switches(), wait_ns);
}

// Without wait_for_draining (a worker out of work while tasks wait on fds) the thief takes
// half of a queue at once: it is then not keeping talking tasks on one CPU but holding
// the CPU that the processes and the kernel it waits on need, and a thief that leaves a
// queue alone finds it non-empty again when it re-checks before sleeping
// (any_work_visible), so it would wait again and again (a 64-byte echo server at 100
// connections spent 17% of its CPU in that wait). A victim's runnext is still left alone
// for a few microseconds (steal_runnext).
TaskRecord* Runtime::steal(Worker* w, bool wait_for_draining) {
  const std::size_t n = workers_.size();
  if (n < 2) return nullptr;
  constexpr int kAttempts = 4;
  std::uint64_t draining = 0;  // victims (by index, first 64) whose short queue is moving
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const std::size_t start = fast_random() % n;
    for (std::size_t k = 0; k < n; ++k) {
      Worker* victim = workers_[(start + k) % n].get();
      if (victim == w) continue;
      const std::uint64_t bit = victim->index < 64 ? std::uint64_t{1} << victim->index : 0;
      if (attempt == 0 && wait_for_draining && !worth_stealing(victim)) draining |= bit;
      if (!(draining & bit))
        if (TaskRecord* t = victim->runq.steal_into(w->runq)) return t;
      // Last attempt: take the victim's runnext too, or a task readied by a worker that
      // then stays busy for long would wait for it.
      if (attempt == kAttempts - 1)
        if (TaskRecord* t = steal_runnext(victim)) return t;
    }
  }
  return nullptr;
}

// A worker out of work while tasks wait on fds polls before it steals (find_runnable),
// and under load its poll always finds something: so it never steals, and tasks queued on
// a worker whose thread has stopped running wait for that thread. A thread stops in a
// plain blocking system call, in one long task, or when the kernel preempts it (where
// threads outnumber CPUs, for up to a scheduler tick). So, before polling, it takes half the
// queue, or else the runnext, of any worker that has resumed no task for kStalledNs while
// work waits there (Go: sysmon hands a P off from an M stuck in a syscall).
//
// Progress is the victim's `executed` count; observers note in the victim when they first
// saw its current value (stall_seen_executed / stall_seen_ns, relaxed, written by any
// observer without a lock). Two observers may interleave their two stores, making a
// victim look stalled early: that costs one steal, never correctness.
TaskRecord* Runtime::steal_from_stalled(Worker* w) noexcept {
  std::int64_t now = 0;
  for (const auto& owned : workers_) {
    Worker* victim = owned.get();
    if (victim == w) continue;
    if (victim->runq.empty() && victim->runnext.load(std::memory_order_relaxed) == nullptr) continue;
    const std::uint64_t executed = victim->executed.load(std::memory_order_relaxed);
    if (now == 0) now = now_ns();
    if (executed != victim->stall_seen_executed.load(std::memory_order_relaxed)) {
      victim->stall_seen_executed.store(executed, std::memory_order_relaxed);
      victim->stall_seen_ns.store(now, std::memory_order_relaxed);
      continue;
    }
    if (now - victim->stall_seen_ns.load(std::memory_order_relaxed) < kStalledNs) continue;
    if (TaskRecord* t = victim->runq.steal_into(w->runq)) return t;
    if (TaskRecord* t = take_runnext_if(victim, victim->runnext.load(std::memory_order_relaxed))) return t;
  }
  return nullptr;
}

}  // namespace goro::detail
