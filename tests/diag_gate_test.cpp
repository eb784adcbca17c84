// The GoogleTest leak gate: a child test binary (leaky_child_test.cpp, linked to
// goro::gtest_main) is run per case and its exit code and output checked; LeakScope
// (one per thread) for tests that overlap in time, and late leaks, in process.
#include <goro/goro.hpp>
#include <goro/testing.hpp>

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "goro_test.hpp"

namespace {

using goro::diag::WaitReason;

using ChildRun = gt::CommandResult;

ChildRun run_child(const std::string& filter, const std::string& env = "") {
  std::string cmd = env + " '" GORO_LEAKY_CHILD "' --gtest_filter='" + filter + "' 2>&1";
  return gt::run_command(cmd);
}

// "leaky_child_test.cpp:<line>" of the child's line marked "// MARK: <what>".
std::string marked_site(const std::string& what) {
  std::ifstream src(GORO_LEAKY_CHILD_SOURCE);
  int n = 0;
  for (std::string line; std::getline(src, line);) {
    ++n;
    if (line.find("// MARK: " + what) != std::string::npos)
      return "leaky_child_test.cpp:" + std::to_string(n);
  }
  return "<no line marked " + what + ">";
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

TEST(DiagGate, ChildDiagReadersAreEmptyBeforeAnyTask) {
  auto r = run_child("ChildEmpty.*");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "[  PASSED  ] 1 test")) << r.output;
}

TEST(DiagGate, FailsExactlyTheLeakingTestWithTheDump) {
  auto r = run_child("ChildLeaky.*:ChildClean.*");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "[  FAILED  ] ChildLeaky.LeavesABlockedTask")) << r.output;
  EXPECT_TRUE(contains(r.output, "[       OK ] ChildClean.JoinsItsTask")) << r.output;
  EXPECT_FALSE(contains(r.output, "[  FAILED  ] ChildClean.JoinsItsTask")) << r.output;
  EXPECT_TRUE(contains(r.output, "1 task leaked by ChildLeaky.LeavesABlockedTask")) << r.output;
  EXPECT_FALSE(contains(r.output, "leaked by ChildClean")) << r.output;
  // The dump: the entry line, the wait site, the channel.
  EXPECT_TRUE(contains(r.output, "\"leaky-sender\" [chan send, ")) << r.output;
  EXPECT_TRUE(contains(r.output, marked_site("leaky wait site"))) << r.output;
  EXPECT_TRUE(contains(r.output, "chan: unbuffered \"results\"")) << r.output;
  // The environment fails the run too, without listing the task a second time.
  EXPECT_TRUE(contains(r.output, "goro: 1 task remains after all tests (1 of them reported above)"))
      << r.output;
}

TEST(DiagGate, LeakNoticedLaterIsBlamedOnTheSpawningTest) {
  auto r = run_child("ChildLate.*");
  EXPECT_NE(r.exit_code, 0) << r.output;
  // The parent task (blocked at Spawner's end) fails Spawner...
  EXPECT_TRUE(contains(r.output, "[  FAILED  ] ChildLate.Spawner")) << r.output;
  EXPECT_EQ(occurrences(r.output, "leaked by ChildLate.Spawner (still alive"), 1u) << r.output;
  EXPECT_TRUE(contains(r.output, "\"late-parent\" [chan receive")) << r.output;
  // ...its child, spawned after Spawner ended, is still Spawner's, noticed at Trigger's end,
  // and Trigger passes.
  EXPECT_TRUE(contains(r.output, "[       OK ] ChildLate.Trigger")) << r.output;
  EXPECT_TRUE(contains(r.output,
                       "1 task leaked by ChildLate.Spawner, noticed at the end of ChildLate.Trigger"))
      << r.output;
  EXPECT_TRUE(contains(r.output, marked_site("late wait site"))) << r.output;
  EXPECT_TRUE(contains(r.output, "\"late-child\" [chan receive")) << r.output;
  // One dump of it from the gate (the runtime's own exit report comes after).
  std::string gate_part = r.output.substr(0, r.output.find("still alive when the process ended"));
  EXPECT_EQ(occurrences(gate_part, "\"late-child\" [chan receive, "), 1u) << r.output;
  EXPECT_FALSE(contains(r.output, "leaked by ChildLate.Trigger")) << r.output;
}

TEST(DiagGate, FailedTestsAreCheckedByDefault) {
  auto r = run_child("ChildFailed.*");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "1 task leaked by ChildFailed.FailsAndLeaks (still alive")) << r.output;
  EXPECT_TRUE(contains(r.output, "[       OK ] ChildFailed.CleanAfter")) << r.output;
}

TEST(DiagGate, FailedTestsUncheckedOnRequestAreBlamedLater) {
  auto r = run_child("ChildFailed.*", "GORO_LEAKCHECK_FAILED_TESTS=off");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "deliberate failure")) << r.output;
  EXPECT_FALSE(contains(r.output, "leaked by ChildFailed.FailsAndLeaks (still alive")) << r.output;
  EXPECT_TRUE(contains(r.output, "1 task leaked by ChildFailed.FailsAndLeaks, noticed at the end of "
                                 "ChildFailed.CleanAfter"))
      << r.output;
  EXPECT_TRUE(contains(r.output, "[       OK ] ChildFailed.CleanAfter")) << r.output;
  EXPECT_TRUE(contains(r.output, "\"failed-leaker\"")) << r.output;
}

TEST(DiagGate, TasksFromAPlainThreadOfTheTestAreCharged) {
  auto r = run_child("ChildThread.*");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "1 task leaked by ChildThread.LeaksFromAPlainThread")) << r.output;
  EXPECT_TRUE(contains(r.output, "\"thread-leaker\"")) << r.output;
}

TEST(DiagGate, ExpectNoLeaksMacroReportsOnce) {
  auto r = run_child("ChildMacro.*");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "[  FAILED  ] ChildMacro.ExpectNoLeaks")) << r.output;
  EXPECT_TRUE(contains(r.output, "1 goro task leaked:")) << r.output;
  EXPECT_TRUE(contains(r.output, "\"macro-leaker\"")) << r.output;
  // The listener does not report it a second time.
  EXPECT_FALSE(contains(r.output, "leaked by ChildMacro.ExpectNoLeaks (still alive")) << r.output;
}

// Tests that overlap in time: each thread has its own scope; each check sees only the
// tasks its own thread (and their descendants) spawned.
TEST(DiagGate, OverlappingScopesChargeOnlyTheirOwnTasks) {
  goro::Channel<int> stuck;
  goro::Channel<int> go_on;  // both threads have spawned before either checks
  std::vector<goro::diag::TaskInfo> leaky_found, clean_found;
  goro::TaskId leaky_task = 0;
  std::thread leaky([&] {
    goro::testing::LeakScope scope("Overlap.Leaky");
    leaky_task = goro::go_spawn([stuck]() mutable {
      goro::go_spawn([stuck]() mutable { stuck.recv(); });  // a descendant: charged too
      stuck.recv();
    });
    ASSERT_TRUE(gt::wait_blocked(leaky_task, WaitReason::chan_recv));
    go_on.send(1);
    goro::diag::LeakOptions opts;
    opts.max_wait = std::chrono::milliseconds(50);
    leaky_found = scope.check(opts);
  });
  std::thread clean([&] {
    goro::testing::LeakScope scope("Overlap.Clean");
    goro::Channel<int> ch;
    goro::go_spawn([ch]() mutable { ch.send(1); });
    EXPECT_EQ(ch.recv(), 1);
    (void)go_on.recv();
    clean_found = scope.check();  // the leaky thread's tasks are alive meanwhile
  });
  leaky.join();
  clean.join();
  EXPECT_TRUE(clean_found.empty()) << goro::testing::describe_leaks(clean_found);
  ASSERT_EQ(leaky_found.size(), 2u) << goro::testing::describe_leaks(leaky_found);
  std::set<goro::TaskId> ids{leaky_found[0].id, leaky_found[1].id};
  EXPECT_EQ(ids.count(leaky_task), 1u);
  for (const auto& t : leaky_found) EXPECT_EQ(goro::testing::origin_label(t.origin), "Overlap.Leaky");
  // Reported once: an ended scope's reported tasks are not late leaks.
  EXPECT_TRUE(goro::testing::late_leaks().empty());
  stuck.close();
  EXPECT_TRUE(goro::diag::find_leaks().empty());
}

TEST(DiagGate, LateLeaksOfAnEndedScopeAreReportedOnce) {
  goro::Channel<int> stuck;
  goro::TaskId id = 0;
  {
    goro::testing::LeakScope scope("Late.Earlier");
    id = goro::go_spawn([stuck]() mutable { stuck.recv(); });
    ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
  }  // ended without a check
  auto late = goro::testing::late_leaks();
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].leaked_by, "Late.Earlier");
  ASSERT_EQ(late[0].tasks.size(), 1u);
  EXPECT_EQ(late[0].tasks[0].id, id);
  EXPECT_TRUE(goro::testing::late_leaks().empty()) << "each leak is reported once";
  stuck.close();
  EXPECT_TRUE(goro::diag::find_leaks().empty());
}

}  // namespace
