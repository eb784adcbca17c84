// goro/testing.hpp — GoogleTest integration: fail tests that leave tasks behind
// (uber-go/goleak's VerifyNone and VerifyTestMain, for goro), plus virtual time and
// schedule exploration (goro/bubble.hpp, goro/explore.hpp). Link goro::gtest.
//
//   TEST(Queue, NoLostWakeups) { GORO_EXPLORE([] { run_producer_and_consumer(); }); }
//
//   int main(int argc, char** argv) {
//     ::testing::InitGoogleTest(&argc, argv);
//     auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
//     listeners.Append(goro::testing::make_leak_listener());        // per test
//     ::testing::AddGlobalTestEnvironment(goro::testing::make_leak_environment());  // at end
//     return RUN_ALL_TESTS();
//   }
//   // or link goro::gtest_main, whose main() does exactly that.
//
//   TEST(Server, StopsItsWorkers) { start_and_stop(); GORO_EXPECT_NO_LEAKS(); }
//
// How a leak is charged to a test: when a test starts, the listener gives the calling
// thread a fresh spawn origin (goro/detail/origin.hpp); every task spawned from that
// thread, and every task those spawn, carries it. At the test's end the listener waits
// (diag::find_leaks' bounded wait) only for the tasks charged to this test, so tests that
// overlap in time (a LeakScope per thread) do not blame each other, and a task charged to
// an earlier test that is noticed alive at a later test's end is reported as "leaked by
// Earlier.Test, noticed at the end of Later.Test" without failing the later test. Each
// leaked task is reported once. Tasks spawned by a plain thread that has no origin (a
// std::thread the test started) are charged to the running test when no other test
// overlapped it; otherwise the environment reports them at the end.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "goro/bubble.hpp"
#include "goro/diag.hpp"
#include "goro/explore.hpp"

namespace goro::testing {

// Extension: what the listener checks.
struct ListenerOptions {
  // Check tests that failed anyway. goro::gtest_main reads GORO_LEAKCHECK_FAILED_TESTS=off.
  bool check_failed_tests = true;
  // At each test's end, also report tasks charged to earlier tests that are still alive
  // and were not reported yet (they fail the run, at its end, not the later test).
  bool report_late_leaks = true;
};

// Fails the test that left tasks behind (tasks charged to it still alive after the
// bounded wait of diag::find_leaks), with the dump in the failure message.
::testing::TestEventListener* make_leak_listener(diag::LeakOptions opts = {});
::testing::TestEventListener* make_leak_listener(diag::LeakOptions opts, ListenerOptions lopts);
// Fails the run when tasks remain once every test has finished.
::testing::Environment* make_leak_environment(diag::LeakOptions opts = {});

// Extension: one test's (or any scope's) account of the tasks it spawns. The constructing
// thread's spawn origin becomes a fresh id until the scope is destroyed (which restores
// the previous one). Use one per thread for tests that run concurrently.
class LeakScope {
 public:
  explicit LeakScope(std::string label);
  ~LeakScope();
  LeakScope(const LeakScope&) = delete;
  LeakScope& operator=(const LeakScope&) = delete;

  std::uint64_t origin() const noexcept { return origin_; }
  const std::string& label() const noexcept { return label_; }
  // Tasks charged to this scope that are still alive after opts' bounded wait (minus
  // opts' ignore rules and tasks reported before); they count as reported from now on.
  std::vector<diag::TaskInfo> check(const diag::LeakOptions& opts = {});

 private:
  std::uint64_t origin_;
  std::uint64_t previous_origin_;
  std::string label_;
  std::vector<TaskId> before_;  // tasks alive at the start (for tasks without origin)
  LeakScope* t_scope_previous_ = nullptr;  // this thread's enclosing scope
};

// Tasks alive now that are charged to scopes that have ended, and not reported yet; they
// count as reported from now on. `except_origin`'s tasks are left out.
struct LateLeak {
  std::string leaked_by;  // the label of the scope (test) they are charged to
  std::vector<diag::TaskInfo> tasks;
};
std::vector<LateLeak> late_leaks(std::uint64_t except_origin = 0);

// The label ("Suite.Test") of the scope that `origin` belongs to, or "" if none.
std::string origin_label(std::uint64_t origin);

// The failure text for `leaks`: one line per task (with the test it is charged to) plus
// their dump.
std::string describe_leaks(const std::vector<diag::TaskInfo>& leaks);

// What GORO_EXPECT_NO_LEAKS() checks: inside a test run by the listener (or any
// LeakScope on this thread), the tasks charged to it; elsewhere every task but the caller.
std::vector<diag::TaskInfo> find_test_leaks(const diag::LeakOptions& opts = {});

// What GORO_EXPLORE(body, opts) runs: explore(body, opts), then a non-fatal failure at
// the caller's line with the report (the dump and the replay line) if a run failed.
ExploreResult explore_in_test(std::function<void()> body, ExploreOptions opts = {},
                              const char* file = __builtin_FILE(), int line = __builtin_LINE());

}  // namespace goro::testing

// Inside a test body: explores `body` (goro/explore.hpp) with optional ExploreOptions,
// and fails the test with the failing run's report and replay line:
//   GORO_EXPLORE([&] { body(); });
//   GORO_EXPLORE([&] { body(); }, {.runs = 200, .strategy = goro::testing::Strategy::pct});
#define GORO_EXPLORE(...) (void)::goro::testing::explore_in_test(__VA_ARGS__)

// Inside a test body: a non-fatal failure listing the tasks still alive (after the
// bounded wait of diag::find_leaks) that this test spawned.
#define GORO_EXPECT_NO_LEAKS()                                                       \
  do {                                                                               \
    auto goro_leaks_ = ::goro::testing::find_test_leaks();                           \
    EXPECT_TRUE(goro_leaks_.empty()) << ::goro::testing::describe_leaks(goro_leaks_); \
  } while (0)
