// A child GoogleTest binary for tests/diag_gate_test.cpp: linked to goro::gtest_main
// (the leak listener + environment), it is run by the parent with a --gtest_filter per
// case, never directly by ctest. Lines the parent looks for carry a "// MARK:" comment.
#include <goro/goro.hpp>
#include <goro/testing.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <thread>

namespace {

using namespace std::chrono_literals;

// Channels nobody ever sends on or closes (leaked on purpose: tasks block on them).
goro::Channel<int>& never() {
  static auto* ch = new goro::Channel<int>;
  return *ch;
}

bool task_named_is_parked(const std::string& name) {
  for (const auto& t : goro::diag::tasks())
    if (t.name == name && t.reason != goro::diag::WaitReason::none) return true;
  return false;
}

// Waits until task `id` is parked, so that the dump shows its wait (the parent has a
// watchdog; no time limit here).
void wait_parked(goro::TaskId id) {
  for (;;) {
    for (const auto& t : goro::diag::tasks())
      if (t.id == id && t.reason != goro::diag::WaitReason::none) return;
    std::this_thread::sleep_for(1ms);
  }
}

// Run alone: every diag reader is empty before any task exists, and reading does not
// start a runtime.
TEST(ChildEmpty, DiagBeforeAnyTask) {
  EXPECT_TRUE(goro::diag::tasks().empty());
  EXPECT_TRUE(goro::diag::blocked_tasks().empty());
  EXPECT_TRUE(goro::diag::find_leaks().empty());
  EXPECT_TRUE(goro::diag::ignore_current().empty());
  std::ostringstream out;
  EXPECT_EQ(goro::diag::dump_blocked(out), 0u);
  EXPECT_TRUE(goro::diag::tasks().empty());
}

TEST(ChildLeaky, LeavesABlockedTask) {
  goro::Channel<int> results;
  results.set_name("results");
  auto id = goro::go_spawn(goro::SpawnOptions{"leaky-sender"}, [results]() mutable {
    results.send(42);  // MARK: leaky wait site
  });
  wait_parked(id);
  // The test returns without receiving: the sender blocks forever.
}

TEST(ChildClean, JoinsItsTask) {
  goro::Channel<int> results;
  goro::go_spawn(goro::SpawnOptions{"clean-sender"}, [results]() mutable { results.send(7); });
  EXPECT_EQ(results.recv(), 7);
}

// A task spawned by a task of ChildLate.Spawner after that test ended is still charged
// to ChildLate.Spawner (spawn lineage), and noticed at the end of ChildLate.Trigger.
goro::Channel<int>& trigger() {
  static auto* ch = new goro::Channel<int>;
  return *ch;
}

TEST(ChildLate, Spawner) {
  auto id = goro::go_spawn(goro::SpawnOptions{"late-parent"}, [] {
    trigger().recv();
    goro::go_spawn(goro::SpawnOptions{"late-child"}, [] {
      never().recv();  // MARK: late wait site
    });
  });
  wait_parked(id);
}

TEST(ChildLate, Trigger) {
  trigger().send(1);
  // Wait (no time limit needed: the parent has a watchdog) until the late child is parked.
  while (!task_named_is_parked("late-child")) std::this_thread::sleep_for(1ms);
}

// With GORO_LEAKCHECK_FAILED_TESTS=off a failed test is not checked at its end; what it
// leaked is noticed at the next test's end and blamed on it.
TEST(ChildFailed, FailsAndLeaks) {
  goro::go_spawn(goro::SpawnOptions{"failed-leaker"}, [] { never().recv(); });
  ADD_FAILURE() << "deliberate failure";
}

TEST(ChildFailed, CleanAfter) {
  goro::Channel<int> ch;
  goro::go_spawn([ch]() mutable { ch.send(1); });
  EXPECT_EQ(ch.recv(), 1);
}

// Leaks from a std::thread the test started (no origin of its own): charged to the test.
TEST(ChildThread, LeaksFromAPlainThread) {
  std::thread([] {
    goro::go_spawn(goro::SpawnOptions{"thread-leaker"}, [] { never().recv(); });
  }).join();
}

// GORO_EXPECT_NO_LEAKS inside the test body.
TEST(ChildMacro, ExpectNoLeaks) {
  goro::go_spawn(goro::SpawnOptions{"macro-leaker"}, [] { never().recv(); });
  GORO_EXPECT_NO_LEAKS();
}

}  // namespace
