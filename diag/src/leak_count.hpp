// diag/src/leak_count.hpp — how many tasks are provably leaked, for readers that poll
// (the /metrics scrape, the trend sampler), with the analysis's cost bounded.
//
//   const LeakCount c = bounded_leak_count(/*any_waiting=*/channel_waits > 0);
//   out << "goro_tasks_leaked " << c.leaked << "\n";
//
// The provable-leak analysis (diag::leaked_tasks()) walks every parked task's stack: a
// few hundred ms for 100,000 blocked tasks. A count is reused until 20 times the
// duration of the analysis that produced it has passed since that analysis began, so
// polling spends at most about 5% of a core on it, and a count is at most that old
// (milliseconds with a few tasks, seconds at 100,000). A reader that finds the count
// due runs the analysis itself; others meanwhile get the previous count.
//
// Lock: g_leak_count.lock guards its fields; the analysis runs without it, one at a
// time (guarded by g_leak_count.analysing).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace goro::diag::internal {

struct LeakCount {
  std::size_t leaked = 0;
  std::chrono::steady_clock::time_point computed_at;  // when its analysis began
};

// `any_waiting`: false when the caller saw no task waiting in a channel operation or
// select, the only waits the analysis can prove leaked (then none is, and no analysis
// runs).
LeakCount bounded_leak_count(bool any_waiting);

// The next bounded_leak_count() that sees a waiting task runs the analysis.
void invalidate_leak_count() noexcept;

// How many analyses bounded_leak_count() has run (tests).
std::uint64_t leak_count_analyses() noexcept;

// Tests: a count is also reused for at least `interval` (default 0: only the 20x rule).
void set_leak_count_min_interval(std::chrono::steady_clock::duration interval) noexcept;

}  // namespace goro::diag::internal
