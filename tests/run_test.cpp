// goro::run: runs the main task on its own runtime and returns an exit code.
#include "goro_test.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace {

using namespace std::chrono_literals;
using goro::Channel;

using gt::ScopedEnv;

TEST(Run, RunsTheMainTaskAndReturnsZero) {
  ScopedEnv policy("GORO_LEAKCHECK", "fail");
  bool ran = false;
  int rc = goro::run([&] { ran = true; });
  EXPECT_TRUE(ran);
  EXPECT_EQ(rc, 0);
}

TEST(Run, TheMainTaskIsATask) {
  goro::TaskId id = 0;
  int rc = goro::run([&] { id = goro::current_task(); });
  EXPECT_EQ(rc, 0);
  EXPECT_NE(id, 0u);
  EXPECT_EQ(goro::current_task(), 0u);
}

TEST(Run, ReturnsWhenMainReturnsNotBefore) {
  int steps = 0;
  goro::run([&] {
    Channel<int> c;
    goro::go_spawn([c]() mutable {
      for (int i = 0; i < 100; ++i) c.send(i);
      c.close();
    });
    for (int v : c) steps += v >= 0;
  });
  EXPECT_EQ(steps, 100);
}

TEST(Run, CanRunManyTimesInARow) {
  for (int i = 0; i < 5; ++i) {
    int value = 0;
    int rc = goro::run(
        [&] {
          Channel<int> c;
          goro::go_spawn([c, i]() mutable { c.send(i * 10); });
          value = *c.recv();
        },
        goro::Config{.workers = static_cast<unsigned>(1 + i % 2)});
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(value, i * 10);
  }
}

TEST(Run, DefaultRuntimeStillWorksAfterRun) {
  goro::run([] {});
  Channel<int> c(1);
  goro::go_spawn([c]() mutable { c.send(5); });
  GT_ASSERT_RECV(v, c);
  EXPECT_EQ(v, 5);
}

TEST(Run, DefaultRuntimeTasksKeepRunningDuringRun) {
  // A task of the default runtime and the main task of a run() talk to each other.
  Channel<int> c;
  Channel<int> back;
  goro::go_spawn([c, back]() mutable {
    for (int v : c) back.send(v * 2);
    back.close();
  });
  long sum = 0;
  int rc = goro::run([&] {
    for (int i = 1; i <= 100; ++i) {
      c.send(i);
      sum += *back.recv();
    }
    c.close();
  });
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(sum, 10100);
  auto r = gt::recv_for(back);
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.value.has_value());
}

class RunWorkers : public ::testing::TestWithParam<unsigned> {};

TEST_P(RunWorkers, ManyTasksPassATokenAlongAChain) {
  const int tasks = gt::scaled(200, 20);
  const int rounds = gt::scaled(50, 5);
  long result = -1;
  bool closed_at_end = false;
  int rc = goro::run(
      [&] {
        std::vector<Channel<long>> ch(tasks + 1);
        goro::WaitGroup wg;
        for (int i = 0; i < tasks; ++i) {
          wg.add(1);
          goro::go_spawn([in = ch[i], out = ch[i + 1], &wg]() mutable {
            for (long v : in) out.send(v + 1);
            out.close();
            wg.done();
          });
        }
        long v = 0;
        for (int r = 0; r < rounds; ++r) {
          ch[0].send(v);
          v = ch[tasks].recv().value_or(-1);
        }
        ch[0].close();
        closed_at_end = !ch[tasks].recv().has_value();
        wg.wait();
        result = v;
      },
      goro::Config{.workers = GetParam()});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(result, static_cast<long>(tasks) * rounds);
  EXPECT_TRUE(closed_at_end);
}

TEST_P(RunWorkers, CountsAreExact) {
  const int n = gt::scaled(10000, 500);
  long sum = 0;
  int rc = goro::run(
      [&] {
        Channel<int> c(16);
        goro::WaitGroup wg;
        for (int p = 0; p < 4; ++p) {
          wg.add(1);
          goro::go_spawn([c, &wg, n]() mutable {
            for (int i = 1; i <= n; ++i) c.send(i);
            wg.done();
          });
        }
        goro::go_spawn([c, &wg]() mutable {
          wg.wait();
          c.close();
        });
        for (int v : c) sum += v;
      },
      goro::Config{.workers = GetParam()});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(sum, 4L * n * (n + 1) / 2);
}

INSTANTIATE_TEST_SUITE_P(Workers, RunWorkers, ::testing::Values(1u, 2u));

// ---------------------------------------------------------------------------
// The exit leak policy (GORO_LEAKCHECK when the Config does not set one).

TEST(RunLeakPolicy, ReportPolicyReturnsZeroWithALeak) {
  ScopedEnv policy("GORO_LEAKCHECK", "report");
  int rc = goro::run([] {
    Channel<int> never;
    goro::go_spawn([never]() mutable { never.recv(); });
    goro::sleep_for(1ms);
  });
  EXPECT_EQ(rc, 0);
}

TEST(RunLeakPolicy, FailPolicyReturnsNonZeroWithALeak) {
  ScopedEnv policy("GORO_LEAKCHECK", "fail");
  int rc = goro::run([] {
    Channel<int> never;
    auto id = goro::go_spawn([never]() mutable { never.recv(); });
    gt::wait_blocked(id, goro::diag::WaitReason::chan_recv);
  });
  EXPECT_NE(rc, 0);
}

TEST(RunLeakPolicy, FailPolicyReturnsZeroWithoutLeaks) {
  ScopedEnv policy("GORO_LEAKCHECK", "fail");
  int rc = goro::run([] {
    Channel<int> done;
    for (int i = 0; i < 10; ++i) goro::go_spawn([done]() mutable { done.send(1); });
    for (int i = 0; i < 10; ++i) done.recv();
  });
  EXPECT_EQ(rc, 0);
}

TEST(RunLeakPolicy, OffPolicyReturnsZeroWithALeak) {
  ScopedEnv policy("GORO_LEAKCHECK", "off");
  int rc = goro::run([] {
    Channel<int> never;
    auto id = goro::go_spawn([never]() mutable { never.recv(); });
    gt::wait_blocked(id, goro::diag::WaitReason::chan_recv);
  });
  EXPECT_EQ(rc, 0);
}

// ---------------------------------------------------------------------------
// Go's panic: an exception escaping a task terminates the program.

TEST(RunDeathTest, ExceptionEscapingATaskTerminates) {
  EXPECT_DEATH(
      {
        goro::run([] {
          Channel<int> never;
          goro::go_spawn([] { throw std::runtime_error("boom from a task"); });
          never.recv();
        });
      },
      "");
}

}  // namespace
