// runtime/src/stack_pool.hpp — task stacks for a million tasks under vm.max_map_count.
//
//   StackPool& pool = StackPool::for_size(64 * 1024);  // one pool per page-rounded size
//   pool.reserve();                        // at spawn: throws StackMemoryUnavailable
//   StackPool::Slot slot = pool.acquire();  // when the task first runs: cannot fail
//   ... run the task on [pool.usable_bottom(slot.base), pool.stack_top(slot.base)) ...
//   pool.release(slot);                    // the reservation goes with the slot
//   (a task freed before it ran calls pool.unreserve() instead)
//
// One mmap per stack (plus a guard page) would run out of map entries near 32k tasks.
// Instead stacks are carved from large regions (one mapping each, MAP_NORESERVE, so
// pages are committed only when a task touches them) and pooled: a finished task's slot
// goes to a free list and the next spawn reuses it without a syscall.
//
// Region and slot layout, low to high address:
//   region: [lead page][slot 0][slot 1]...[slot n-1]
//   slot:   [guard: kGuardPages][ ...usable stack, grows down... ][reserve: 64 bytes]  <- top
// A slot's task starts just below its top reserve. The guard is made inaccessible, in
// the first way that works (decided once, at the first slot carved):
// 1. MADV_GUARD_INSTALL (Linux 6.13+): guard markers in the page tables, no mapping of
//    their own, so every slot gets one whatever the map count.
// 2. mprotect(PROT_NONE): two map entries per slot (the guard and the split-off stack),
//    so only the first GORO_STACK_GUARDS slots (default 16384) get one.
// GORO_STACK_GUARDS=N caps the guarded slots in either way (0: none). An unguarded slot
// keeps its guard position as mapped slack, and a canary sits just below the slot: in
// the top reserve of the slot beneath it (or in the region's lead page), a page that the
// neighbour's running task touches anyway, so an unguarded stack costs no extra resident
// page. The canary is checked whenever the task parks or ends, the task's stack pointer
// whenever it parks and when it faults (the SIGSEGV handler): an overflow past the slack
// is reported, naming the task, after the fact.
// Why the guard is several pages: code built with -fstack-clash-protection (goro::goro
// adds it to its users) touches every page of a large frame in order, so one page would
// do for it; the others catch frames of up to that size from code built without it.
//
// Reservations: a spawn reserves a slot, mapping regions then if need be, so that a
// spawn that cannot have a stack fails at its call site, while the slot itself is taken
// only when the task first runs (tasks spawned and not yet run hold no stack, and
// short-lived tasks keep recycling a few hot slots). A slot in a thread cache is out of
// other threads' reach, so it stays reserved too:
//   reserved_ = live tasks' reservations + slots in thread caches + threads' credits
//   capacity_ = slots in the regions mapped for this pool;   reserved_ <= capacity_
// (reserved_ may pass capacity_ only inside take_reservations, which then maps regions
// or takes its increment back). So a thread whose cache is empty finds, for a task it
// starts, a slot on the free list or an uncarved one in a mapped region: acquire() never
// maps memory, and a worker never fails for want of a stack.
//
// Invariants:
// - A slot is owned by exactly one of: a thread cache, the pool's free list, a live task.
//   Slots move between a thread cache and the free list up to 32 at a time.
// - No task writes into its own top reserve: it belongs to the slot above.
// - Regions are never unmapped; the region table only grows (the SIGSEGV handler reads
//   it without locks). Pools are never destroyed; the pool table only grows.
// - In a region, the guarded slots are a prefix (Region::guarded).
// - Free-list links live just below a slot's reserve, in stack memory no task is using.
// - Once scrubbing is on (enable_scrubbing(); it never goes off), every recycled slot
//   acquire() hands out has its top kScrubBytes zeroed. Why: diag's provable-leak
//   analysis scans stacks conservatively (diag/src/provable.cpp), and a task's frames
//   leave some words unwritten (padding, locals not yet set, spill slots of paths not
//   taken), which then still hold the previous owner's data. A stale pointer there into
//   a blocked task's stack makes that task look reachable and hides its leak (a miss,
//   never a false verdict). A task's first frames, which live longest, sit in that top.
// Lock discipline: lock_ guards free_head_, region_, carved_in_region_ and the spare
// regions, and is held wherever capacity_ grows; reserved_ is atomic (a spawn adds to
// it without the lock, kBatch at a time through the thread's credits). The pool table
// has its own mutex (for_size).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "goro/detail/futex_lock.hpp"

namespace goro::detail {

struct TaskRecord;

// The kernel refused memory for stacks (mmap failed: address space or map entries
// exhausted, RLIMIT_AS, ...). `error` is the errno; what() says which call failed.
struct StackMemoryUnavailable : std::bad_alloc {
  explicit StackMemoryUnavailable(int error) noexcept : error(error) {}
  const char* what() const noexcept override { return "mmap of a stack region failed"; }
  int error;
};

class StackPool {
 public:
  static constexpr std::size_t kTopReserve = 64;
  static constexpr std::size_t kGuardPages = 4;
  // The usable sizes a pool may have (a task's stack_size, before rounding up to pages).
  static constexpr std::size_t kMinStackSize = std::size_t{16} << 10;
  static constexpr std::size_t kMaxStackSize = std::size_t{1} << 30;
  // How many distinct (page-rounded) stack sizes a process may use.
  static constexpr std::size_t kMaxPools = 255;
  // How much of a recycled slot's top acquire() zeroes once scrubbing is on: the frames
  // a task starts with. (~10 ns per spawn here; 4 KB, most of it cold, cost ~40 ns.)
  static constexpr std::size_t kScrubBytes = 1024;

  struct Slot {
    std::byte* base = nullptr;  // low address (the guard position)
    bool guarded = false;       // has an inaccessible guard (else: a canary below base)
  };

  // The pool for slots of (at least) stack_size usable bytes, which must lie in
  // [kMinStackSize, kMaxStackSize]; pools live forever. Throws std::length_error when
  // kMaxPools distinct sizes are in use already.
  static StackPool& for_size(std::size_t stack_size);
  // The pool with this index() (a task keeps the index of its stack's pool).
  static StackPool& by_index(std::uint8_t index) noexcept;
  std::uint8_t index() const noexcept { return index_; }

  std::size_t slot_size() const noexcept { return slot_size_; }
  std::size_t usable_size() const noexcept { return slot_size_ - guard_ - kTopReserve; }
  std::byte* usable_bottom(std::byte* base) const noexcept { return base + guard_; }
  std::byte* stack_top(std::byte* base) const noexcept {
    return base + slot_size_ - kTopReserve;
  }
  // The guard size of every slot (kGuardPages pages); usable_bottom(base) - base.
  static std::size_t guard_size() noexcept;

  // At spawn: makes sure a slot will be there when the task first runs. Throws
  // StackMemoryUnavailable when the kernel gives no more address space (nothing is
  // reserved then), std::invalid_argument for an invalid GORO_STACK_GUARDS.
  void reserve();
  void unreserve() noexcept;  // a reserved task ends before it took a slot
  void unreserve_shared(std::size_t n) noexcept;  // gives n back to the pool's count

  // A slot for a task that reserved one (it maps memory only for a task that did not).
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

  // Async-signal-safe: if addr lies in the guard of some slot, returns that slot's
  // base, else nullptr.
  static const std::byte* guard_slot_of(const void* addr) noexcept;

 private:
  StackPool(std::size_t slot_size, std::uint8_t index);
  Slot carve();
  void map_region();
  void take_reservations(std::size_t n);

  static inline std::atomic<bool> scrub_recycled_{false};

  const std::size_t slot_size_;
  const std::size_t guard_;  // guard_size(), kept here: read on every switch into a task
  const std::uint8_t index_;
  FutexLock lock_;  // guards free_head_, region_, carved_in_region_, spare_*; capacity_ grows under it
  std::byte* free_head_ = nullptr;  // intrusive list of free slots (see free_link)
  struct Region* region_ = nullptr;  // the region slots are carved from now
  std::size_t carved_in_region_ = 0;
  struct Region* spare_head_ = nullptr;  // mapped, not yet carved from (oldest first)
  struct Region* spare_tail_ = nullptr;
  std::atomic<std::size_t> reserved_{0};  // see "Reservations"
  std::atomic<std::size_t> capacity_{0};
};

// Installs the SIGSEGV handler that names the task whose stack overflowed (once per
// process) and an alternate signal stack for the calling thread.
void install_overflow_handler_for_this_thread();

// How an overflow was noticed, for the report.
enum class OverflowEvidence {
  guard,          // a fault in a guard region
  canary,         // the canary below an unguarded stack was overwritten
  stack_pointer,  // the task's stack pointer was below its stack (at a park or a fault)
};

// Reports a stack overflow of `task` and aborts (never returns). Async-signal-safe.
[[noreturn]] void report_stack_overflow(const TaskRecord* task, OverflowEvidence evidence) noexcept;

}  // namespace goro::detail
