// goro/explore.hpp — schedule exploration: run a concurrent test body many times in a
// bubble (goro/bubble.hpp) under seeded schedules, and stop at the first that leaks,
// deadlocks, throws, or fails a GoogleTest assertion; its seed replays it exactly.
// (awslabs/shuttle and tokio-rs/loom do this for Rust; PCT is Burckhardt et al., ASPLOS 2010.)
//
//   TEST(Pool, ShutsDownCleanly) {
//     auto result = goro::testing::explore([] { Pool p(2); p.submit(job); p.shutdown(); });
//     EXPECT_FALSE(result.failed) << result.report;   // report: the dump and the replay line
//   }
//   // or, in one line inside an existing test body:  GORO_EXPLORE(body)  (goro/testing.hpp)
//
// In every run, each scheduling decision is drawn from a generator seeded by the run's
// seed: which runnable task runs next, whether a task yields at a schedule point (the
// start of a channel send/recv/close, select, Mutex/RWMutex lock and unlock, WaitGroup
// add/wait, ConditionVariable wait, Semaphore acquire/release, goro::yield) and which ready
// case a select takes. So the same seed and options give the same schedule, as long as
// the body is deterministic itself (see docs/testing.md, "What breaks determinism").
//
// Strategies:
// - random: at each schedule point the running task yields with probability 1/2, and the
//   next task is drawn uniformly from the runnable ones.
// - pct: Probabilistic Concurrency Testing. Each task gets a random priority; the
//   runnable task of highest priority runs; at pct_depth - 1 change points (schedule
//   points drawn uniformly in [1, pct_steps]) the running task drops below all others.
//   A bug that needs d ordering constraints is found with probability >= 1/(n k^(d-1))
//   per run (n tasks, k steps).
//
// Replay: ExploreResult::seed is the failing run's own seed. explore(body, {.runs = 1,
// .seed = seed, <same strategy options>}) replays that run, and so does running the test
// again with GORO_EXPLORE_SEED=seed in the environment (which turns every explore() call
// into that single run). seed = 0 picks fresh seeds (from std::random_device) each call.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace goro::testing {

enum class Strategy { random, pct };

struct ExploreOptions {
  int runs = 1000;              // at most this many runs; stops at the first failure
  std::uint64_t seed = 0;       // first run's seed (0: fresh); run i+1's is derived from run i's
  Strategy strategy = Strategy::random;
  int pct_depth = 3;            // pct: the bug depth d (d - 1 priority change points)
  int pct_steps = 64;           // pct: schedule points the change points are drawn from
  // Extension: a run that makes more scheduling decisions than this fails as a livelock
  // (tasks that keep yielding or polling and never block or end).
  std::uint64_t max_decisions = 10'000'000;
};

struct ExploreResult {
  bool failed = false;
  std::uint64_t seed = 0;       // the failing run's seed (the last run's when none failed)
  int runs = 0;                 // runs made, including the failing one
  std::string report;           // failing: why, the dump, the strategy and the replay line
  Strategy strategy = Strategy::random;  // extension: the strategy used
};

// Runs body up to opts.runs times, each in a fresh bubble under a seeded schedule.
// A run fails when its bubble throws BubbleFailure (deadlock, leak, a task's exception),
// when body throws, or when a GoogleTest assertion fails during it (with goro::gtest
// linked), or when it makes more than max_decisions scheduling decisions (a livelock).
// Throws std::invalid_argument for runs, pct_depth, pct_steps or max_decisions below 1,
// and when GORO_EXPLORE_SEED is not a nonzero number.
ExploreResult explore(std::function<void()> body, ExploreOptions opts = {});

// Extension: the strategy's name ("random", "pct") as used in reports.
const char* to_string(Strategy s) noexcept;

}  // namespace goro::testing

namespace goro::detail {
// How explore() notices a failed GoogleTest assertion without depending on GoogleTest:
// goro::gtest (diag/src/testing.cpp) installs a probe returning the running test's failed
// assertions so far (storing the last one's text in *last when last is not null).
using TestFailureProbe = int (*)(std::string* last);
void set_test_failure_probe(TestFailureProbe probe) noexcept;
}  // namespace goro::detail
