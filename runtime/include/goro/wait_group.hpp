// goro/wait_group.hpp — wait for a collection of tasks to finish (Go's sync.WaitGroup).
//
//   goro::WaitGroup wg;
//   for (int i = 0; i < 10; ++i) {
//     wg.add(1);
//     goro::go_spawn([&wg] { do_work(); wg.done(); });
//   }
//   wg.wait();   // parks the task (or blocks the plain thread) until all ten called done()
//
// As in Go, the WaitGroup may be destroyed as soon as wait() returns: done() touches
// nothing of it after it has released the waiters.
//
// Invariants (sync.cpp): add() and done() are one atomic add on state_ (the counter in
// the high 32 bits), as in Go, so tasks finishing on several workers do not queue on a
// lock. Bit 0 of state_ says a waiter may be queued; it is set only under lock_ while
// the counter is above 0 and cleared only under lock_ by release_waiters(). An add()
// that brings the counter to 0 while bit 0 is set takes lock_ and wakes the queue.
#pragma once

#include <atomic>
#include <cstdint>
#include <source_location>

#include "goro/detail/futex_lock.hpp"
#include "goro/detail/park.hpp"

namespace goro {

class WaitGroup {
 public:
  WaitGroup() = default;
  WaitGroup(const WaitGroup&) = delete;
  WaitGroup& operator=(const WaitGroup&) = delete;

  // Adds n (may be negative) to the counter. Throws std::logic_error if it goes below 0.
  void add(int n = 1);
  void done() { add(-1); }
  // Blocks until the counter is zero.
  void wait(std::source_location where = std::source_location::current());

 private:
  void release_waiters();

  std::atomic<std::int64_t> state_{0};  // counter << 32 | waiters-may-be-queued bit
  detail::FutexLock lock_;              // guards waiters_ and changes of state_'s bit 0
  detail::WaitQueue waiters_;
};

}  // namespace goro
