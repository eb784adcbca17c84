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
#pragma once

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
  detail::FutexLock lock_;   // guards count_, waiters_
  std::int64_t count_ = 0;
  detail::WaitQueue waiters_;
};

}  // namespace goro
