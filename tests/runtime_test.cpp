// Tasks: go_spawn, current_task, SpawnOptions, yield, sleep_for.
#include "goro_test.hpp"

#include <algorithm>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using goro::diag::WaitReason;

TEST(Spawn, ReturnsNonZeroDistinctIds) {
  Channel<int> done(100);
  std::set<goro::TaskId> ids;
  for (int i = 0; i < 100; ++i) {
    goro::TaskId id = goro::go_spawn([done]() mutable { done.send(1); });
    EXPECT_NE(id, 0u);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_EQ(gt::drain_n(done, 100), 100u);
}

TEST(Spawn, CurrentTaskIsZeroOnPlainThreadAndTheIdInsideATask) {
  EXPECT_EQ(goro::current_task(), 0u);
  Channel<goro::TaskId> seen(1);
  goro::TaskId id = goro::go_spawn([seen]() mutable { seen.send(goro::current_task()); });
  GT_ASSERT_RECV(inside, seen);
  EXPECT_EQ(inside, id);
  EXPECT_NE(inside, 0u);
  EXPECT_EQ(goro::current_task(), 0u);
}

TEST(Spawn, CurrentTaskInNestedTasks) {
  Channel<std::pair<goro::TaskId, goro::TaskId>> seen(1);
  goro::go_spawn([seen]() mutable {
    goro::TaskId parent = goro::current_task();
    Channel<goro::TaskId> child_seen(1);
    goro::TaskId child = goro::go_spawn([child_seen]() mutable { child_seen.send(goro::current_task()); });
    goro::TaskId reported = *child_seen.recv();
    seen.send({parent, reported == child ? child : 0});
    (void)parent;
  });
  GT_ASSERT_RECV(p, seen);
  EXPECT_NE(p.first, 0u);
  EXPECT_NE(p.second, 0u) << "the child's current_task() differs from the id go_spawn returned";
  EXPECT_NE(p.first, p.second);
}

TEST(Spawn, NamedTask) {
  Channel<int> gate;
  goro::SpawnOptions opts;
  opts.name = "x";
  auto id = goro::go_spawn(opts, [gate]() mutable { gate.recv(); });
  EXPECT_NE(id, 0u);
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
  auto info = gt::task_info(id);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->name, "x");
  gate.send(1);
  EXPECT_TRUE(gt::eventually([&] { return !gt::task_info(id).has_value(); }));
}

TEST(Spawn, DesignatedInitializerOptions) {
  Channel<std::string> out(1);
  auto id = goro::go_spawn(goro::SpawnOptions{.name = "worker-7"}, [out]() mutable { out.send("ran"); });
  EXPECT_NE(id, 0u);
  GT_ASSERT_RECV(s, out);
  EXPECT_EQ(s, "ran");
}

TEST(Spawn, SpawnSiteIsTheCallersLine) {
  Channel<int> gate;
  const int line = __LINE__ + 1;
  auto id = goro::go_spawn([gate]() mutable { gate.recv(); });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
  auto info = gt::task_info(id);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->spawn_site.line(), static_cast<std::uint_least32_t>(line));
  EXPECT_NE(std::string(info->spawn_site.file_name()).find("runtime_test.cpp"), std::string::npos);
  gate.send(1);
}

TEST(Spawn, MoveOnlyClosure) {
  Channel<int> out(1);
  auto p = std::make_unique<int>(41);
  goro::go_spawn([p = std::move(p), out]() mutable { out.send(*p + 1); });
  GT_ASSERT_RECV(v, out);
  EXPECT_EQ(v, 42);
}

TEST(Spawn, ClosureIsReleasedWhenTheTaskEnds) {
  auto payload = std::make_shared<int>(3);
  std::weak_ptr<int> weak = payload;
  Channel<int> out(1);
  goro::go_spawn([payload = std::move(payload), out]() mutable { out.send(*payload); });
  GT_ASSERT_RECV(v, out);
  EXPECT_EQ(v, 3);
  EXPECT_TRUE(gt::eventually([&] { return weak.expired(); })) << "the finished task's closure was kept alive";
}

// Tasks spawn tasks: a binary tree 2^depth leaves deep.
TEST(Spawn, TasksSpawnTasks) {
  const int depth = gt::kSanitized ? 8 : 11;
  Channel<int> leaves(64);
  struct Tree {
    static void grow(Channel<int> leaves, int depth) {
      if (depth == 0) {
        leaves.send(1);
        return;
      }
      goro::go_spawn([leaves, depth] { grow(leaves, depth - 1); });
      goro::go_spawn([leaves, depth] { grow(leaves, depth - 1); });
    }
  };
  goro::go_spawn([leaves, depth] { Tree::grow(leaves, depth); });
  const std::size_t n = std::size_t{1} << depth;
  EXPECT_EQ(gt::drain_n(leaves, n), n);
}

TEST(Spawn, SpawnFromManyThreadsAtOnce) {
  constexpr int kThreads = 4;
  const int per = gt::scaled(500, 20);
  Channel<int> done(64);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([done, per]() mutable {
      for (int i = 0; i < per; ++i) goro::go_spawn([done]() mutable { done.send(1); });
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(gt::drain_n(done, kThreads * per), static_cast<std::size_t>(kThreads * per));
}

// ---------------------------------------------------------------------------
// yield

TEST(Yield, FromAPlainThreadReturns) {
  for (int i = 0; i < 10; ++i) goro::yield();
  SUCCEED();
}

TEST(Yield, LetsAnotherTaskRunOnASingleWorker) {
  bool flag_seen = false;
  int rc = goro::run(
      [&] {
        std::atomic<bool> flag{false};
        Channel<int> done(1);
        goro::go_spawn([&flag, done]() mutable {
          flag = true;
          done.send(1);
        });
        // One worker: the spawned task can only run when this one yields.
        for (int i = 0; i < 1'000'000 && !flag.load(); ++i) goro::yield();
        flag_seen = flag.load();
        done.recv();
      },
      goro::Config{.workers = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(flag_seen) << "yield() never let the other task run";
}

TEST(Yield, TwoTasksInterleaveOnASingleWorker) {
  // Each task yields after every step: on one worker neither may finish all its
  // steps before the other starts.
  std::vector<int> trace;
  std::mutex trace_mu;  // not needed on one worker; keeps TSan's fiber model out of it
  int rc = goro::run(
      [&] {
        Channel<int> done(2);
        for (int who = 0; who < 2; ++who)
          goro::go_spawn([&trace, &trace_mu, done, who]() mutable {
            for (int i = 0; i < 50; ++i) {
              {
                std::lock_guard<std::mutex> lk(trace_mu);
                trace.push_back(who);
              }
              goro::yield();
            }
            done.send(1);
          });
        done.recv();
        done.recv();
      },
      goro::Config{.workers = 1});
  EXPECT_EQ(rc, 0);
  ASSERT_EQ(trace.size(), 100u);
  int switches = 0;
  for (std::size_t i = 1; i < trace.size(); ++i) switches += trace[i] != trace[i - 1];
  EXPECT_GE(switches, 10) << "yield() does not switch between runnable tasks";
}

// ---------------------------------------------------------------------------
// sleep_for

TEST(Sleep, NeverWakesEarly) {
  Channel<int> early(64);
  Channel<int> done(64);
  for (int i = 0; i < 20; ++i)
    goro::go_spawn([early, done, i]() mutable {
      auto d = std::chrono::microseconds(250 * (i % 7));
      auto start = std::chrono::steady_clock::now();
      goro::sleep_for(d);
      if (std::chrono::steady_clock::now() - start < d) early.send(i);
      done.send(1);
    });
  EXPECT_EQ(gt::drain_n(done, 20), 20u);
  EXPECT_EQ(early.size(), 0u);
}

TEST(Sleep, ZeroAndNegativeDurationsReturn) {
  Channel<int> done(1);
  goro::go_spawn([done]() mutable {
    goro::sleep_for(0ns);
    goro::sleep_for(-1s);
    done.send(1);
  });
  EXPECT_EQ(gt::drain_n(done, 1), 1u);
}

TEST(Sleep, SleepingTaskIsReportedAsSleeping) {
  Channel<int> stop;
  auto id = goro::go_spawn([stop]() mutable {
    for (;;) {
      goro::sleep_for(1ms);
      std::optional<int> v;
      if (goro::select(goro::recv_case(stop, v), goro::default_case()) == 0) return;
    }
  });
  EXPECT_TRUE(gt::wait_blocked(id, WaitReason::sleep));
  stop.close();
  EXPECT_TRUE(gt::eventually([&] { return !gt::task_info(id).has_value(); }));
}

TEST(Sleep, ManySleepersAllWake) {
  const int n = gt::scaled(2000, 100);
  Channel<int> done(256);
  for (int i = 0; i < n; ++i)
    goro::go_spawn([done, i]() mutable {
      goro::sleep_for(std::chrono::microseconds(i % 50 * 100));
      done.send(1);
    });
  EXPECT_EQ(gt::drain_n(done, n), static_cast<std::size_t>(n));
}

// Tasks wake in the order of their deadlines. Deadlines are 40 ms apart, and
// since a stalled machine could still fire two of them in one pass, the check
// passes when any of three attempts shows the exact order: a timer queue that
// orders wrongly fails all three.
std::vector<int> sleep_order_once(unsigned workers) {
  std::vector<int> order;
  goro::run(
      [&] {
        constexpr int K = 5;
        Channel<int> woke(K);
        // Spawned in reverse order of deadline.
        for (int i = K - 1; i >= 0; --i)
          goro::go_spawn([woke, i]() mutable {
            goro::sleep_for(std::chrono::milliseconds(40 * (i + 1)));
            woke.send(i);
          });
        for (int i = 0; i < K; ++i) order.push_back(woke.recv().value_or(-1));
      },
      goro::Config{.workers = workers});
  return order;
}

TEST(Sleep, WakeOrderFollowsDeadlinesOneWorker) {
  const std::vector<int> want = {0, 1, 2, 3, 4};
  std::vector<int> got;
  for (int attempt = 0; attempt < 3; ++attempt) {
    got = sleep_order_once(1);
    if (got == want) break;
  }
  EXPECT_EQ(got, want);
}

TEST(Sleep, WakeOrderFollowsDeadlinesTwoWorkers) {
  const std::vector<int> want = {0, 1, 2, 3, 4};
  std::vector<int> got;
  for (int attempt = 0; attempt < 3; ++attempt) {
    got = sleep_order_once(2);
    if (got == want) break;
  }
  EXPECT_EQ(got, want);
}

TEST(Sleep, ASleepingTaskDoesNotHoldItsWorker) {
  // One worker; a task sleeps for an hour; the others still run. run() then
  // unwinds the sleeper.
  std::atomic<int> unwound{0};
  int progressed = 0;
  bool sleeping = false;
  int rc = goro::run(
      [&] {
        auto sleeper = goro::go_spawn([&] {
          gt::DtorCounter guard(unwound);
          goro::sleep_for(1h);
        });
        sleeping = gt::wait_blocked(sleeper, WaitReason::sleep);
        Channel<int> done;
        for (int i = 0; i < 10; ++i) {
          goro::go_spawn([done]() mutable { done.send(1); });
          progressed += *done.recv();
        }
      },
      goro::Config{.workers = 1});
  (void)rc;
  EXPECT_TRUE(sleeping);
  EXPECT_EQ(progressed, 10);
  EXPECT_EQ(unwound.load(), 1);
}

// A worker whose task runs on without switching leaves the tasks queued behind it to the
// other worker: a thief leaves a queue alone only while its owner is seen switching tasks.
TEST(Steal, TasksQueuedBehindATaskThatNeverSwitchesRunOnTheOtherWorker) {
  constexpr int kTasks = 8;
  std::atomic<int> ran{0};
  int rc = goro::run(
      [&] {
        for (int i = 0; i < kTasks; ++i) goro::go_spawn([&ran] { ran.fetch_add(1); });
        // No yield, no blocking call: this worker cannot run them itself.
        const auto hang_guard = std::chrono::steady_clock::now() + 60s;
        while (ran.load() < kTasks && std::chrono::steady_clock::now() < hang_guard) {
        }
      },
      goro::Config{.workers = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(ran.load(), kTasks);
}

}  // namespace
