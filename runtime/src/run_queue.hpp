// runtime/src/run_queue.hpp — a worker's local run queue (Go's runq): a 256-slot ring of
// runnable tasks that its owner pushes and pops and other workers steal half of.
//
//   if (!w->runq.push(t)) ... full: move half to the global queue (Runtime::push_local)
//   TaskRecord* next = w->runq.pop();
//   TaskRecord* stolen = victim->runq.steal_into(w->runq);  // a thief, into its own queue
//
// Single producer (the owner), multiple consumers (the owner and thieves). No lock:
// - tail_ is written only by the owner (push: slot first, then tail_ with release, so a
//   consumer that acquires tail_ sees the slot);
// - head_ moves only by CAS, by whichever consumer takes slots [head, head + n): a
//   consumer reads the slots first and commits with the CAS, so slots it read are only
//   its own if nobody else consumed them meanwhile;
// - the owner never overwrites a slot before head_ has passed it (push checks
//   tail - head < kSize against an acquired head_);
// - a thief copies into its own queue's free slots and publishes them with its tail_,
//   which it alone writes.
// The member functions are defined here, inline: they are on the scheduler's hot path
// (Runtime::ready, try_get_work) and must inline into it.
#pragma once

#include <atomic>
#include <cstdint>

namespace goro::detail {

struct TaskRecord;

class RunQueue {
 public:
  static constexpr std::uint32_t kSize = 256;
  bool push(TaskRecord* t) noexcept;  // owner only; false when full
  TaskRecord* pop() noexcept;         // owner only
  TaskRecord* pop_unshared() noexcept;  // owner only, and no thief exists (Worker::alone)
  // Moves about half of this queue into `into` (which must be empty and owned by the
  // caller); returns one of the stolen tasks to run now, or nullptr.
  TaskRecord* steal_into(RunQueue& into) noexcept;
  // Owner only: moves half of the queue plus `extra` into `out` (for the global queue).
  std::uint32_t take_half(TaskRecord** out) noexcept;
  // A racy view for thieves deciding whether to steal: tasks queued.
  std::uint32_t size_hint() const noexcept {
    return tail_.load(std::memory_order_relaxed) - head_.load(std::memory_order_relaxed);
  }
  bool empty() const noexcept {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }

 private:
  std::atomic<std::uint32_t> head_{0};
  std::atomic<std::uint32_t> tail_{0};
  std::atomic<TaskRecord*> slots_[kSize]{};
};

inline bool RunQueue::push(TaskRecord* t) noexcept {
  std::uint32_t h = head_.load(std::memory_order_acquire);
  std::uint32_t tl = tail_.load(std::memory_order_relaxed);
  if (tl - h >= kSize) return false;
  slots_[tl % kSize].store(t, std::memory_order_relaxed);
  tail_.store(tl + 1, std::memory_order_release);
  return true;
}

inline TaskRecord* RunQueue::pop() noexcept {
  std::uint32_t h = head_.load(std::memory_order_acquire);
  for (;;) {
    std::uint32_t tl = tail_.load(std::memory_order_relaxed);
    if (h == tl) return nullptr;
    TaskRecord* t = slots_[h % kSize].load(std::memory_order_relaxed);
    if (head_.compare_exchange_weak(h, h + 1, std::memory_order_acq_rel,
                                    std::memory_order_acquire))
      return t;
  }
}

// Not inlined: a thief's loop (Runtime::steal) stays small.
inline TaskRecord* RunQueue::pop_unshared() noexcept {
  const std::uint32_t h = head_.load(std::memory_order_relaxed);
  if (h == tail_.load(std::memory_order_relaxed)) return nullptr;
  TaskRecord* t = slots_[h % kSize].load(std::memory_order_relaxed);
  head_.store(h + 1, std::memory_order_release);
  return t;
}

[[gnu::noinline]] inline TaskRecord* RunQueue::steal_into(RunQueue& into) noexcept {
  const std::uint32_t into_tail = into.tail_.load(std::memory_order_relaxed);
  std::uint32_t n;
  for (;;) {
    std::uint32_t h = head_.load(std::memory_order_acquire);
    std::uint32_t tl = tail_.load(std::memory_order_acquire);
    n = tl - h;
    n -= n / 2;
    if (n == 0) return nullptr;
    if (n > kSize / 2) continue;  // torn read of head/tail: retry
    for (std::uint32_t i = 0; i < n; ++i)
      into.slots_[(into_tail + i) % kSize].store(
          slots_[(h + i) % kSize].load(std::memory_order_relaxed), std::memory_order_relaxed);
    // The copies are only valid if nobody consumed them meanwhile: commit with a CAS.
    if (head_.compare_exchange_strong(h, h + n, std::memory_order_acq_rel,
                                      std::memory_order_acquire))
      break;
  }
  --n;
  TaskRecord* run_now = into.slots_[(into_tail + n) % kSize].load(std::memory_order_relaxed);
  if (n > 0) into.tail_.store(into_tail + n, std::memory_order_release);
  return run_now;
}

inline std::uint32_t RunQueue::take_half(TaskRecord** out) noexcept {
  std::uint32_t h = head_.load(std::memory_order_acquire);
  std::uint32_t tl = tail_.load(std::memory_order_relaxed);
  std::uint32_t n = (tl - h) / 2;
  if (n != kSize / 2) return 0;  // not full any more: a thief took some
  for (std::uint32_t i = 0; i < n; ++i)
    out[i] = slots_[(h + i) % kSize].load(std::memory_order_relaxed);
  if (!head_.compare_exchange_strong(h, h + n, std::memory_order_acq_rel,
                                     std::memory_order_acquire))
    return 0;
  return n;
}

}  // namespace goro::detail
