// runtime/src/timer_heap.cpp — see timer_heap.hpp for the invariants and lock discipline.
#include "timer_heap.hpp"

#include <algorithm>
#include <mutex>
#include <utility>

namespace goro::detail {

TimerHeap::Added TimerHeap::add(std::int64_t when, void (*fire)(void*), void (*drop)(void*),
                                void* arg) {
  std::lock_guard guard(lock_);
  // Grow before touching anything, so a failed allocation leaves the heap as it was.
  if (heap_.size() == heap_.capacity()) heap_.reserve(std::max<std::size_t>(16, 2 * heap_.size()));
  if (free_head_ == kFree) {
    slots_.emplace_back();
    slots_.back().next_free = free_head_;
    free_head_ = static_cast<std::uint32_t>(slots_.size() - 1);
  }
  const std::uint32_t slot = free_head_;
  Slot& s = slots_[slot];
  free_head_ = s.next_free;
  s.fire = fire;
  s.drop = drop;
  s.arg = arg;
  s.next_free = kFree;
  ++s.generation;
  heap_.push_back(Entry{when, next_seq_++, slot});
  place(heap_.size() - 1, heap_.back());
  sift_up(heap_.size() - 1);
  const bool earliest = heap_.front().slot == slot;
  publish();
  return Added{(std::uint64_t{s.generation} << 32) | slot, earliest};
}

bool TimerHeap::cancel(std::uint64_t id, Callback* drop) noexcept {
  const auto slot = static_cast<std::uint32_t>(id);
  const auto generation = static_cast<std::uint32_t>(id >> 32);
  std::lock_guard guard(lock_);
  if (slot >= slots_.size()) return false;
  const Slot& s = slots_[slot];
  if (s.generation != generation || s.heap_index == kFree) return false;
  *drop = Callback{s.drop, s.arg};
  remove_at(s.heap_index);
  publish();
  return true;
}

std::size_t TimerHeap::pop_due(std::int64_t now, Callback* out, std::size_t max) noexcept {
  std::lock_guard guard(lock_);
  std::size_t count = 0;
  while (count < max && !heap_.empty() && heap_.front().when <= now) {
    const Slot& s = slots_[heap_.front().slot];
    out[count++] = Callback{s.fire, s.arg};
    remove_at(0);
  }
  publish();
  return count;
}

std::vector<TimerHeap::Callback> TimerHeap::take_all() {
  std::vector<Callback> drops;
  std::lock_guard guard(lock_);
  drops.reserve(heap_.size());
  while (!heap_.empty()) {
    const Slot& s = slots_[heap_.back().slot];
    drops.push_back(Callback{s.drop, s.arg});
    remove_at(heap_.size() - 1);
  }
  publish();
  return drops;
}

void TimerHeap::place(std::size_t i, const Entry& e) noexcept {
  heap_[i] = e;
  slots_[e.slot].heap_index = static_cast<std::uint32_t>(i);
}

void TimerHeap::sift_up(std::size_t i) noexcept {
  const Entry e = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!before(e, heap_[parent])) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, e);
}

void TimerHeap::sift_down(std::size_t i) noexcept {
  const Entry e = heap_[i];
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], e)) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, e);
}

void TimerHeap::remove_at(std::size_t i) noexcept {
  Slot& s = slots_[heap_[i].slot];
  s.heap_index = kFree;
  s.fire = s.drop = nullptr;
  s.arg = nullptr;
  s.next_free = free_head_;
  free_head_ = heap_[i].slot;
  const std::size_t last = heap_.size() - 1;
  if (i != last) {
    place(i, heap_[last]);
    heap_.pop_back();
    // The moved entry may belong above or below its new place.
    if (i > 0 && before(heap_[i], heap_[(i - 1) / 2]))
      sift_up(i);
    else
      sift_down(i);
  } else {
    heap_.pop_back();
  }
}

void TimerHeap::publish() noexcept {
  earliest_.store(heap_.empty() ? kEmpty : heap_.front().when, std::memory_order_release);
  size_.store(heap_.size(), std::memory_order_relaxed);
}

}  // namespace goro::detail
