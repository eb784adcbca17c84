// run() returning while tasks are still blocked: like Go's main returning. The
// leftover tasks are unwound (their destructors run), nothing leaks (ASan), and
// channels shared with code outside the run keep no dangling waiters.
#include "goro_test.hpp"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using goro::diag::WaitReason;

// Keeps the exit leak policy at "report" for these tests, whatever the
// environment says, so run()'s return code is known (0).
struct ReportPolicy {
  std::optional<std::string> old;
  ReportPolicy() {
    if (const char* o = std::getenv("GORO_LEAKCHECK")) old = o;
    ::setenv("GORO_LEAKCHECK", "report", 1);
  }
  ~ReportPolicy() {
    if (old)
      ::setenv("GORO_LEAKCHECK", old->c_str(), 1);
    else
      ::unsetenv("GORO_LEAKCHECK");
  }
};

TEST(Shutdown, TasksBlockedInEveryKindOfWaitAreUnwound) {
  ReportPolicy policy;
  std::atomic<int> unwound{0};
  std::atomic<int> resumed{0};
  int expected = 0;
  bool all_blocked = true;
  auto tracker = std::make_shared<int>(0);
  std::weak_ptr<int> weak_tracker = tracker;

  int rc = goro::run([&] {
    std::vector<std::pair<goro::TaskId, WaitReason>> blocked;
    auto spawn = [&](WaitReason why, auto body) {
      ++expected;
      auto id = goro::go_spawn([&unwound, &resumed, body, t = tracker]() mutable {
        gt::DtorCounter guard(unwound);
        body();
        resumed.fetch_add(1);
      });
      blocked.emplace_back(id, why);
    };
    Channel<int> nobody_sends, nobody_receives, full(1), a, b;
    full.send(0);
    spawn(WaitReason::chan_recv, [nobody_sends]() mutable { nobody_sends.recv(); });
    spawn(WaitReason::chan_send, [nobody_receives]() mutable { nobody_receives.send(1); });
    spawn(WaitReason::chan_send, [full]() mutable { full.send(2); });
    spawn(WaitReason::select, [a, b]() mutable {
      std::optional<int> x, y;
      goro::select(goro::recv_case(a, x), goro::recv_case(b, y));
    });
    spawn(WaitReason::select, [a]() mutable {
      std::optional<int> x;
      std::optional<std::chrono::steady_clock::time_point> t;
      goro::select(goro::recv_case(a, x), goro::recv_case(goro::after(1h), t));
    });
    spawn(WaitReason::select_no_cases, [] { goro::select(); });
    spawn(WaitReason::sleep, [] { goro::sleep_for(1h); });
    auto wg = std::make_shared<goro::WaitGroup>();
    wg->add(1);
    spawn(WaitReason::wait_group, [wg] { wg->wait(); });
    auto mu = std::make_shared<goro::Mutex>();
    mu->lock();  // never unlocked
    spawn(WaitReason::mutex, [mu] { mu->lock(); });
    for (auto [id, why] : blocked)
      if (!gt::wait_blocked(id, why)) all_blocked = false;
  });
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(all_blocked) << "some task never reached its wait";
  EXPECT_EQ(resumed.load(), 0) << "a blocked task resumed normally at shutdown";
  EXPECT_EQ(unwound.load(), expected) << "run() returned without unwinding every blocked task";
  tracker.reset();
  EXPECT_TRUE(weak_tracker.expired()) << "a leaked task's closure was not destroyed";
}

TEST(Shutdown, TasksThatNeverStartedHaveTheirClosuresDestroyed) {
  ReportPolicy policy;
  const int n = gt::scaled(1000, 50);
  auto tracker = std::make_shared<int>(0);
  std::weak_ptr<int> weak = tracker;
  std::atomic<int> started{0};
  int rc = goro::run(
      [&] {
        Channel<int> never;
        for (int i = 0; i < n; ++i)
          goro::go_spawn([t = tracker, never, &started]() mutable {
            started.fetch_add(1);
            never.recv();
          });
        // Return at once: on one worker most of these have not run yet.
      },
      goro::Config{.workers = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_LE(started.load(), n);
  EXPECT_EQ(tracker.use_count(), 1) << (tracker.use_count() - 1) << " closures still alive";
  tracker.reset();
  EXPECT_TRUE(weak.expired());
}

TEST(Shutdown, NestedLeakedTasksAreUnwound) {
  ReportPolicy policy;
  std::atomic<int> unwound{0};
  constexpr int depth = 20;
  int rc = goro::run([&] {
    Channel<int> ready(depth);
    struct Chain {
      static void link(std::atomic<int>& unwound, Channel<int> ready, int left) {
        gt::DtorCounter guard(unwound);
        if (left > 1) goro::go_spawn([&unwound, ready, left] { link(unwound, ready, left - 1); });
        Channel<int> never;
        ready.send(1);
        never.recv();
      }
    };
    goro::go_spawn([&unwound, ready, d = depth] { Chain::link(unwound, ready, d); });
    for (int i = 0; i < depth; ++i) ready.recv();
  });
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(unwound.load(), depth);
}

TEST(Shutdown, CatchAllThatRethrowsLetsTheUnwindThrough) {
  ReportPolicy policy;
  std::atomic<int> unwound{0};
  std::atomic<int> swallowed{0};
  int rc = goro::run([&] {
    Channel<int> never;
    auto id = goro::go_spawn([&unwound, &swallowed, never]() mutable {
      gt::DtorCounter guard(unwound);
      try {
        gt::DtorCounter inner(unwound);
        never.recv();
      } catch (...) {
        throw;  // user code must let the unwind through (a catch (...) rethrows)
      }
      swallowed.fetch_add(1);
    });
    gt::wait_blocked(id, WaitReason::chan_recv);
  });
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(unwound.load(), 2);
  EXPECT_EQ(swallowed.load(), 0);
}

TEST(Shutdown, SharedChannelsKeepNoWaitersOfUnwoundTasks) {
  ReportPolicy policy;
  // Channels that outlive the run: the tasks that were parked on them are gone,
  // and so must be their wait-queue entries (which lived on their stacks).
  Channel<std::string> recv_side, send_side, sel_a, sel_b;
  Channel<std::string> buffered(1);
  int rc = goro::run([&] {
    std::vector<std::pair<goro::TaskId, WaitReason>> ids;
    ids.emplace_back(goro::go_spawn([c = recv_side]() mutable { c.recv(); }), WaitReason::chan_recv);
    ids.emplace_back(goro::go_spawn([c = send_side]() mutable { c.send(std::string(100, 's')); }),
                     WaitReason::chan_send);
    ids.emplace_back(goro::go_spawn([a = sel_a, b = sel_b]() mutable {
                       std::optional<std::string> x;
                       goro::select(goro::recv_case(a, x), goro::send_case(b, std::string(100, 'b')));
                     }),
                     WaitReason::select);
    buffered.send("x");
    ids.emplace_back(goro::go_spawn([c = buffered]() mutable { c.send("y"); }), WaitReason::chan_send);
    for (auto [id, why] : ids) gt::wait_blocked(id, why);
  });
  EXPECT_EQ(rc, 0);
  std::optional<std::string> v;
  EXPECT_EQ(goro::select(goro::send_case(recv_side, "hello"), goro::default_case()), 1u)
      << "a send paired with the receiver of an unwound task";
  EXPECT_EQ(goro::select(goro::recv_case(send_side, v), goro::default_case()), 1u)
      << "a receive paired with the sender of an unwound task";
  EXPECT_EQ(goro::select(goro::send_case(sel_a, "a"), goro::default_case()), 1u);
  EXPECT_EQ(goro::select(goro::recv_case(sel_b, v), goro::default_case()), 1u);
  EXPECT_EQ(buffered.size(), 1u);
  EXPECT_EQ(buffered.recv(), std::optional<std::string>("x"));
  EXPECT_EQ(goro::select(goro::recv_case(buffered, v), goro::default_case()), 1u)
      << "the unwound sender's value arrived";
  // The channels still work normally.
  Channel<std::string> c = recv_side;
  std::thread t([c]() mutable { c.send("after"); });
  EXPECT_EQ(recv_side.recv(), std::optional<std::string>("after"));
  t.join();
}

TEST(Shutdown, ARunAfterALeakyRunWorks) {
  ReportPolicy policy;
  std::atomic<int> unwound{0};
  for (int round = 0; round < 3; ++round) {
    int rc = goro::run([&] {
      Channel<int> never;
      std::vector<goro::TaskId> ids;
      for (int i = 0; i < 10; ++i)
        ids.push_back(goro::go_spawn([&unwound, never]() mutable {
          gt::DtorCounter g(unwound);
          never.recv();
        }));
      for (auto id : ids) gt::wait_blocked(id, WaitReason::chan_recv);
    });
    EXPECT_EQ(rc, 0);
  }
  EXPECT_EQ(unwound.load(), 30);
  int value = 0;
  EXPECT_EQ(goro::run([&] {
              Channel<int> c;
              goro::go_spawn([c]() mutable { c.send(4); });
              value = *c.recv();
            }),
            0);
  EXPECT_EQ(value, 4);
}

TEST(Shutdown, TasksStillRunningAtReturnAreUnwound) {
  // Tasks that never park (they only yield) are alive when main returns: run()
  // must unwind them rather than wait for them to finish.
  ReportPolicy policy;
  constexpr int kSpinners = 4;
  std::atomic<int> unwound{0}, started{0}, finished{0};
  const auto deadline = std::chrono::steady_clock::now() + gt::kWatchdog;
  int rc = goro::run(
      [&] {
        for (int i = 0; i < kSpinners; ++i)
          goro::go_spawn([&] {
            gt::DtorCounter g(unwound);
            started.fetch_add(1);
            while (std::chrono::steady_clock::now() < deadline) goro::yield();
            finished.fetch_add(1);
          });
        gt::eventually([&] { return started.load() == kSpinners; });
      },
      goro::Config{.workers = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(started.load(), kSpinners);
  EXPECT_EQ(finished.load(), 0) << "run() waited for running tasks to finish instead of unwinding them";
  EXPECT_EQ(unwound.load(), kSpinners);
}

TEST(Shutdown, ManyBlockedTasksOnTwoWorkers) {
  ReportPolicy policy;
  const int n = gt::scaled(5000, 200);
  std::atomic<int> unwound{0};
  std::atomic<int> parked{0};
  int rc = goro::run(
      [&] {
        Channel<int> never;
        Channel<int> full(1);
        full.send(0);
        for (int i = 0; i < n; ++i)
          goro::go_spawn([&unwound, &parked, never, full, i]() mutable {
            gt::DtorCounter g(unwound);
            std::string s(64, 'x');  // something on the stack with a destructor
            parked.fetch_add(1);
            if (i % 2)
              never.recv();
            else
              full.send(i);
          });
        gt::eventually([&] { return parked.load() == n; });
      },
      goro::Config{.workers = 2});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(parked.load(), n);
  EXPECT_EQ(unwound.load(), n);
}

// run() unwinds tasks blocked on each sync primitive; none stays queued.
TEST(SyncShutdown, TasksBlockedOnEachPrimitiveAreUnwoundAndLeaveNoWaiterBehind) {
  std::atomic<int> unwound{0}, resumed{0};
  goro::Mutex mu;
  goro::ConditionVariable cv;
  goro::RWMutex rw;
  goro::Once once;
  int expected = 0;
  bool all_blocked = true;
  int rc = goro::run(
      [&] {
        auto spawn_blocked = [&](WaitReason why, auto body) {
          ++expected;
          auto id = goro::go_spawn([&unwound, &resumed, body]() mutable {
            gt::DtorCounter guard(unwound);
            body();
            resumed.fetch_add(1);
          });
          if (!gt::wait_blocked(id, why)) all_blocked = false;
        };
        spawn_blocked(WaitReason::cond_wait, [&] {
          std::unique_lock lock(mu);
          cv.wait(lock);
        });
        spawn_blocked(WaitReason::cond_wait, [&] {
          std::unique_lock lock(mu);
          (void)cv.wait_for(lock, 1h);  // its timer must be cancelled, not fire later
        });
        rw.lock_shared();  // never released
        spawn_blocked(WaitReason::rwmutex_lock, [&] { rw.lock(); });
        spawn_blocked(WaitReason::rwmutex_rlock, [&] { rw.lock_shared(); });
        Channel<int> never;
        spawn_blocked(WaitReason::chan_recv, [&, never]() mutable {
          once.call([&] { never.recv(); });
        });
        spawn_blocked(WaitReason::once, [&] { once.call([] {}); });
      },
      goro::Config{.leak_policy = goro::LeakPolicy::off});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(all_blocked) << "some task never reached its wait";
  EXPECT_EQ(resumed.load(), 0) << "a blocked task resumed normally at shutdown";
  EXPECT_EQ(unwound.load(), expected);
  // No stale waiter: a notify touches nothing of the unwound tasks (ASan would see it).
  cv.notify_all();
  EXPECT_TRUE(mu.try_lock());  // the unwound waiters did not relock it
  mu.unlock();
  // f was unwound, not finished: the Once is still uncalled and this thread runs it.
  EXPECT_FALSE(once.done());
  int calls = 0;
  once.call([&] { ++calls; });
  EXPECT_EQ(calls, 1);
}

}  // namespace
