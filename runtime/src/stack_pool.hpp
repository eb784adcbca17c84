// runtime/src/stack_pool.hpp — task stacks for a million tasks under vm.max_map_count.
//
// One mmap per stack (plus a guard page) would run out of map entries near 32k tasks.
// Instead stacks are carved from large regions (one mapping each, MAP_NORESERVE, so
// pages are committed only when a task touches them) and pooled: a finished task's slot
// goes to a free list and the next spawn reuses it without a syscall.
//
// Slot layout, low to high address:
//   [guard page][ ...stack, grows down... ][TaskRecord + closure]   <- slot top
// The first `guard budget` slots carved get a PROT_NONE guard page (each costs two map
// entries: the guard and the split-off stack). Beyond the budget (GORO_STACK_GUARDS,
// default 16384) the bottom page stays mapped and holds a canary that is checked every
// time the task parks or ends: an overflow there is reported, after the fact, instead of
// faulting at once. Either way the report names the task.
//
// Invariants:
// - A slot is owned by exactly one of: a thread cache, the pool's free list, a live task.
// - Regions are never unmapped; the region table only grows (the SIGSEGV handler reads
//   it without locks).
// - Free-list links live in the slot's top bytes, which every task touches anyway.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "goro/detail/futex_lock.hpp"

namespace goro::detail {

struct TaskRecord;

class StackPool {
 public:
  // The pool for slots of (at least) stack_size bytes; pools live forever.
  static StackPool& for_size(std::size_t stack_size);

  std::size_t slot_size() const noexcept { return slot_size_; }
  std::size_t usable_size() const noexcept { return slot_size_ - page_size(); }

  // Returns the low address of a free slot (its guard page). Throws std::bad_alloc.
  std::byte* acquire();
  void release(std::byte* slot) noexcept;            // to the calling thread's cache
  void release_to_pool(std::byte* slot) noexcept;    // to the shared free list

  // Whether the slot's bottom canary is intact (always true for guarded slots).
  bool canary_intact(const std::byte* slot) const noexcept;

  static std::size_t page_size() noexcept;

  // Async-signal-safe: if addr lies in the guard page of some slot, returns that slot's
  // low address, else nullptr.
  static const std::byte* guard_slot_of(const void* addr) noexcept;

 private:
  explicit StackPool(std::size_t slot_size);
  std::byte* carve();

  const std::size_t slot_size_;
  FutexLock lock_;  // guards: free_head_, region_, carved_in_region_
  std::byte* free_head_ = nullptr;  // intrusive list through each slot's top word
  struct Region* region_ = nullptr;
  std::size_t carved_in_region_ = 0;
};

// Installs the SIGSEGV handler that names the task whose stack overflowed (once per
// process) and an alternate signal stack for the calling thread.
void install_overflow_handler_for_this_thread();

// Reports a stack overflow of `task` and aborts (never returns).
[[noreturn]] void report_stack_overflow(const TaskRecord* task, bool detected_by_canary) noexcept;

}  // namespace goro::detail
