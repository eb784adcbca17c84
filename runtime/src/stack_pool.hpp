// runtime/src/stack_pool.hpp — task stacks for a million tasks under vm.max_map_count.
//
// One mmap per stack (plus a guard page) would run out of map entries near 32k tasks.
// Instead stacks are carved from large regions (one mapping each, MAP_NORESERVE, so
// pages are committed only when a task touches them) and pooled: a finished task's slot
// goes to a free list and the next spawn reuses it without a syscall.
//
// Region and slot layout, low to high address:
//   region: [lead page][slot 0][slot 1]...[slot n-1]
//   slot:   [guard page][ ...usable stack, grows down... ][reserve: 64 bytes]   <- top
// A slot's task starts just below its top reserve. The first slots carved (GORO_STACK_GUARDS,
// default 16384) get a PROT_NONE guard page; each costs two map entries (the guard and the
// split-off stack). Beyond that budget the guard page position is left as mapped slack and
// a canary sits just below the slot: in the top reserve of the slot beneath it (or in the
// region's lead page), a page that the neighbour's running task touches anyway, so an
// unguarded stack costs no extra resident page. The canary is checked whenever the task
// parks or ends: an overflow past the slack is reported after the fact, naming the task.
//
// Invariants:
// - A slot is owned by exactly one of: a thread cache, the pool's free list, a live task.
//   Slots move between a thread cache and the free list up to 32 at a time.
// - No task writes into its own top reserve: it belongs to the slot above.
// - Regions are never unmapped; the region table only grows (the SIGSEGV handler reads
//   it without locks).
// - Free-list links live just below a slot's reserve, in stack memory no task is using.
// - Once scrubbing is on (enable_scrubbing(); it never goes off), every recycled slot
//   acquire() hands out has its top kScrubBytes zeroed. Why: diag's provable-leak
//   analysis scans stacks conservatively (diag/src/provable.cpp), and a task's frames
//   leave some words unwritten (padding, locals not yet set, spill slots of paths not
//   taken), which then still hold the previous owner's data. A stale pointer there into
//   a blocked task's stack makes that task look reachable and hides its leak (a miss,
//   never a false verdict). A task's first frames, which live longest, sit in that top.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "goro/detail/futex_lock.hpp"

namespace goro::detail {

struct TaskRecord;

class StackPool {
 public:
  static constexpr std::size_t kTopReserve = 64;
  // How much of a recycled slot's top acquire() zeroes once scrubbing is on: the frames
  // a task starts with. (~10 ns per spawn here; 4 KB, most of it cold, cost ~40 ns.)
  static constexpr std::size_t kScrubBytes = 1024;

  struct Slot {
    std::byte* base = nullptr;  // low address (the guard page position)
    bool guarded = false;       // has a PROT_NONE guard page (else: a canary below base)
  };

  // The pool for slots of (at least) stack_size usable bytes; pools live forever.
  static StackPool& for_size(std::size_t stack_size);

  std::size_t slot_size() const noexcept { return slot_size_; }
  std::size_t usable_size() const noexcept { return slot_size_ - page_ - kTopReserve; }
  std::byte* usable_bottom(std::byte* base) const noexcept { return base + page_; }
  std::byte* stack_top(std::byte* base) const noexcept {
    return base + slot_size_ - kTopReserve;
  }

  // Throws std::bad_alloc when no address space is left.
  Slot acquire();
  void release(Slot slot) noexcept;           // to the calling thread's cache
  void release_to_pool(Slot slot) noexcept;   // to the shared free list

  // From now on, recycled slots are handed out with their top kScrubBytes zeroed (see
  // the invariants). diag turns this on when it first looks for provable leaks, so
  // programs that never do pay nothing.
  static void enable_scrubbing() noexcept { scrub_recycled_.store(true, std::memory_order_relaxed); }

  // Whether the canary below an unguarded slot is intact (always true when guarded).
  static bool canary_intact(Slot slot) noexcept;

  static std::size_t page_size() noexcept;

  // Async-signal-safe: if addr lies in the guard page of some slot, returns that slot's
  // base, else nullptr.
  static const std::byte* guard_slot_of(const void* addr) noexcept;

 private:
  explicit StackPool(std::size_t slot_size);
  Slot carve();

  static inline std::atomic<bool> scrub_recycled_{false};

  const std::size_t slot_size_;
  const std::size_t page_;  // page_size(), kept here: read on every switch into a task
  FutexLock lock_;  // guards free_head_, region_, carved_in_region_
  std::byte* free_head_ = nullptr;  // intrusive list of free slots (see free_link)
  struct Region* region_ = nullptr;
  std::size_t carved_in_region_ = 0;
};

// Installs the SIGSEGV handler that names the task whose stack overflowed (once per
// process) and an alternate signal stack for the calling thread.
void install_overflow_handler_for_this_thread();

// Reports a stack overflow of `task` and aborts (never returns).
[[noreturn]] void report_stack_overflow(const TaskRecord* task, bool detected_by_canary) noexcept;

}  // namespace goro::detail
