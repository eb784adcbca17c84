// goro/detail/park.hpp — parking and waking: the one interface every blocking
// primitive (channels, select, WaitGroup, Mutex, sleep) is built on.
//
// A Waiter is Go's sudog: a node that a blocked party puts on a primitive's wait queue.
// It lives on the parked party's own stack (a task's fiber stack, or a plain thread's
// stack), so parking allocates nothing. The parked party is either a task (its fiber is
// switched out and its worker runs other tasks) or a plain thread (it blocks on a futex).
//
//   detail::Waiter w;                    // on my stack
//   detail::init_waiter(w);              // who am I: task or thread
//   queue.push_back(&w);                 // under the primitive's lock
//   detail::park({WaitReason::mutex, where, this}, unlock_fn, &lock);
//   // ...another party: w2 = queue.pop_front(); unlock; detail::wake(*w2);
//
// Primitives do not call park() bare: goro/detail/park_on.hpp wraps it in the protocol
// for leaving the queue when the wait ends without a wake-up (deadlock, unwinding).
//
// Invariants:
// - A waiter is on at most one queue; only the holder of that queue's lock links,
//   unlinks or reads queue links.
// - Whoever unlinks a waiter (and, for a select, wins its SelectState::done CAS) owns
//   the right to wake it, exactly once. Nobody touches the waiter after waking it: its
//   memory is the sleeper's stack frame and goes away when the sleeper returns.
// - park() calls `release(arg)` only once the caller can be woken safely — for a task,
//   after its fiber has been switched out, on the scheduler's stack — so a waker that
//   needs the released lock can never resume a task that is still running.
// - All results (the value moved into elem, success) are written before wake(), and
//   read by the sleeper after park() returns; wake() publishes them (release/acquire
//   through the run queue, or the thread parker's futex word).
#pragma once

#include <atomic>
#include <cstdint>
#include <source_location>
#include <type_traits>

#include "goro/wait_reason.hpp"

// Marks the functions every park and hand-off runs through (scheduler, parking, select).
// Aligned to a cache line so that where they land does not depend on the size of
// unrelated code linked before them: two builds that differ by a few instructions
// elsewhere otherwise place these loops differently, which alone moved select's time by
// several percent here (benchmarks/recording_overhead.sh).
#define GORO_HOT_PATH __attribute__((aligned(64)))

namespace goro::detail {

struct TaskRecord;    // runtime/src/task.hpp
struct ThreadParker;  // runtime/src/park.cpp
struct ChanBase;      // goro/detail/channel_state.hpp (channel module)

// Shared by all waiters of one blocked select: the first waker to CAS done 0 -> 1 wins.
struct SelectState {
  std::atomic<std::uint32_t> done{0};
  struct Waiter* winner = nullptr;  // written by the winning waker before wake()
};

struct Waiter {
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
  bool queued = false;             // linked into a WaitQueue (guarded by its lock)
  bool success = false;            // value transferred (false: woken by close)
  bool sending = false;            // queued on the channel's send queue (diagnostics)
  std::uint32_t case_index = 0;    // position in the select, for the winner
  TaskRecord* task = nullptr;      // the sleeper, when it is a task...
  ThreadParker* thread = nullptr;  // ...or when it is a plain thread
  void* elem = nullptr;            // send: T* to move from; recv: std::optional<T>* to fill
  SelectState* select = nullptr;   // non-null when part of a select
  ChanBase* chan = nullptr;        // the channel this waiter is queued on
};

// FIFO of waiters, intrusive. Guarded by the owning primitive's lock, except that
// looks_empty() may be called without it, as a guess (head_ is stored atomically for that).
class WaitQueue {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  bool looks_empty() const noexcept {
    return std::atomic_ref(const_cast<Waiter*&>(head_)).load(std::memory_order_relaxed) == nullptr;
  }
  void push_back(Waiter* w) noexcept {
    w->next = nullptr;
    w->prev = tail_;
    if (tail_) tail_->next = w; else set_head(w);
    tail_ = w;
    w->queued = true;
  }
  // For a waiter that was woken, lost the race for what it waited for, and waits again:
  // it keeps its place ahead of later arrivals (Go's semacquire with lifo).
  void push_front(Waiter* w) noexcept {
    w->prev = nullptr;
    w->next = head_;
    if (head_) head_->prev = w; else tail_ = w;
    head_ = w;
    w->queued = true;
  }
  void remove(Waiter* w) noexcept {
    if (!w->queued) return;
    if (w->prev) w->prev->next = w->next; else set_head(w->next);
    if (w->next) w->next->prev = w->prev; else tail_ = w->prev;
    w->prev = w->next = nullptr;
    w->queued = false;
  }
  // The first waiter that may be woken: for a select waiter this claims the whole select
  // (CAS on done); waiters of selects already won elsewhere are dropped on the way.
  Waiter* pop_claimable() noexcept {
    while (Waiter* w = head_) {
      remove(w);
      if (w->select == nullptr) return w;
      std::uint32_t expected = 0;
      if (w->select->done.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
        w->select->winner = w;
        return w;
      }
    }
    return nullptr;
  }
  // For local lists of already-claimed waiters (to wake after unlocking): no CAS.
  Waiter* pop_front() noexcept {
    Waiter* w = head_;
    if (w) remove(w);
    return w;
  }

 private:
  void set_head(Waiter* w) noexcept {
    std::atomic_ref(head_).store(w, std::memory_order_relaxed);
  }
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
};

// What a parked party is waiting for, for diagnostics. It lives in the parking call's
// frame, which diag's provable-leak analysis scans conservatively (diag/src/provable.cpp):
// so every byte of it is written, padding included, or the padding would keep a stale
// pointer from that stack's earlier use (a pointer into another task's frame there hides
// that task's leak).
struct WaitSite {
  constexpr WaitSite(diag::WaitReason reason_, std::source_location where_, const void* object_ = nullptr,
                     const Waiter* waiters_ = nullptr, std::uint32_t waiter_count_ = 0) noexcept
      : reason(reason_), where(where_), object(object_), waiters(waiters_), waiter_count(waiter_count_) {}

  diag::WaitReason reason;
  std::uint8_t zeroed_padding[7] = {};
  std::source_location where;
  const void* object = nullptr;      // channel / mutex / wait group, informational
  const Waiter* waiters = nullptr;   // a select's waiters: one per channel case
  std::uint32_t waiter_count = 0;
  std::uint32_t zeroed_tail = 0;
};
static_assert(std::has_unique_object_representations_v<WaitSite>, "WaitSite has no padding bytes");

// Fills w.task / w.thread with the calling party.
void init_waiter(Waiter& w) noexcept;

// Parks the caller until wake() is called on a waiter naming it. `release(arg)` runs once
// the caller is safely parked (see invariants). Throws detail::TaskUnwind when the
// runtime is unwinding the calling task (run() returned); `release` has run by then.
void park(const WaitSite& site, void (*release)(void*), void* release_arg);

// Makes the sleeper named by w runnable (task) or returns it from park() (thread).
void wake(const Waiter& w) noexcept;

// Thrown by park() on a plain thread when the deadlock detector gives up on it. The
// primitive must then take its waiter off the queue under its lock: if a waker claimed
// it meanwhile, the wake-up is imminent (await_wake() and carry on as woken); otherwise
// throw goro::Deadlock (throw_deadlock()). detail::park_or_leave (park_on.hpp) does this.
struct DeadlockDetected {
  WaitSite site;
};
// Blocks the calling plain thread until the wake-up owed to it arrives.
void await_wake();
// The goro::Deadlock to throw for a waiter given up at `site`: message with the dump.
[[noreturn]] void throw_deadlock(const WaitSite& site);

// Thrown through a task's stack when run() unwinds tasks still alive at its end.
// It does not derive from std::exception; `catch (...)` blocks must rethrow it.
struct TaskUnwind {};

// A fast per-thread pseudo-random number (select's poll order, steal victims).
std::uint32_t fast_random() noexcept;

}  // namespace goro::detail
