// runtime/src/timer_heap.hpp — one runtime's pending timers: a min-heap on (deadline,
// insertion order) with O(log n) add, cancel and pop, and a lock-free mirror of the
// earliest deadline.
//
//   TimerHeap heap;
//   auto [id, earliest] = heap.add(now_ns() + 1'000'000, &fire, &drop, payload);
//   TimerHeap::Callback drop_it;
//   if (heap.cancel(id, &drop_it)) drop_it.run();        // outside any lock of the caller's
//   TimerHeap::Callback due[32];
//   for (std::size_t i = 0, n = heap.pop_due(now_ns(), due, 32); i < n; ++i) due[i].run();
//
// The heap never runs a callback itself: add, cancel, pop_due and take_all hand back what
// to run, so the caller runs it with no lock of the heap held (a callback may add or cancel
// timers).
//
// Invariants (Go's runtime/time.go keeps the same index in each timer), all under lock_:
// - heap_ is a binary min-heap on (when, seq); seq grows with every add, so timers due at
//   the same instant fire in the order they were added.
// - Each pending timer owns one slot; slots_[heap_[i].slot].heap_index == i for every i.
//   So a cancel finds its timer's place in O(1) and re-heaps from there in O(log n).
// - A slot not in the heap has heap_index == kFree and is on the free list (next_free).
//   Every reuse of a slot bumps its generation, and an id is (generation, slot): an id of
//   a timer that fired or was cancelled names a slot whose generation moved on, so it
//   cancels nothing (ids of one slot repeat only after 2^32 reuses of that slot).
// - earliest_ == heap_[0].when, or kEmpty when the heap is empty. It is stored under the
//   lock and read without it (one acquire load: workers test it on every scheduling
//   round).
//
// Lock discipline: lock_ guards heap_, slots_, free_head_ and next_seq_; earliest_ and
// size_ are written only under it. It is a leaf lock: nothing else is taken, and nothing
// is called, while it is held.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "goro/detail/futex_lock.hpp"

namespace goro::detail {

class TimerHeap {
 public:
  static constexpr std::int64_t kEmpty = std::numeric_limits<std::int64_t>::max();

  struct Callback {
    void (*fn)(void*) = nullptr;
    void* arg = nullptr;
    void run() const {
      if (fn) fn(arg);
    }
  };
  struct Added {
    std::uint64_t id;
    bool earliest;  // the new timer is now the first due: sleepers must re-arm
  };

  TimerHeap() = default;
  TimerHeap(const TimerHeap&) = delete;
  TimerHeap& operator=(const TimerHeap&) = delete;

  // `fire(arg)` is what pop_due hands back once `when` has passed; `drop(arg)` (may be
  // null) what cancel and take_all hand back instead.
  Added add(std::int64_t when, void (*fire)(void*), void (*drop)(void*), void* arg);
  // Removes timer `id` if it is still pending: true, with its drop callback in *drop.
  // False if it fired, was cancelled or never existed.
  bool cancel(std::uint64_t id, Callback* drop) noexcept;
  // Removes up to `max` timers due at `now`, earliest first, storing their fire callbacks.
  std::size_t pop_due(std::int64_t now, Callback* out, std::size_t max) noexcept;
  // Removes every pending timer; returns their drop callbacks.
  std::vector<Callback> take_all();

  // The earliest pending deadline, kEmpty when none: one load, no lock.
  std::int64_t earliest() const noexcept { return earliest_.load(std::memory_order_acquire); }
  // Pending timers (racy while others add or cancel).
  std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::uint32_t kFree = std::numeric_limits<std::uint32_t>::max();

  struct Entry {
    std::int64_t when;
    std::uint64_t seq;
    std::uint32_t slot;
  };
  struct Slot {
    void (*fire)(void*) = nullptr;
    void (*drop)(void*) = nullptr;
    void* arg = nullptr;
    std::uint32_t heap_index = kFree;
    std::uint32_t generation = 0;
    std::uint32_t next_free = kFree;
  };

  static bool before(const Entry& a, const Entry& b) noexcept {
    return a.when != b.when ? a.when < b.when : a.seq < b.seq;
  }
  void place(std::size_t i, const Entry& e) noexcept;  // heap_[i] = e, and its slot's index
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  void remove_at(std::size_t i) noexcept;  // frees the slot too
  void publish() noexcept;                 // earliest_ and size_ from heap_

  mutable FutexLock lock_;
  std::vector<Entry> heap_;
  std::vector<Slot> slots_;
  std::uint32_t free_head_ = kFree;
  std::uint64_t next_seq_ = 0;
  std::atomic<std::int64_t> earliest_{kEmpty};
  std::atomic<std::size_t> size_{0};
};

}  // namespace goro::detail
