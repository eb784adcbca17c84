// goro::Once (Go's sync.Once): exactly one call, waiters parked until it finishes, an
// exception handing the call to a waiter, plain threads, and goro::Deadlock.
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "blocked_waits.hpp"
#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using goro::diag::WaitReason;

TEST(Once, RunsExactlyOnceUnderContention) {
  const int n = gt::live_tasks(200);
  int rc = goro::run(
      [&] {
        goro::Once once;
        std::atomic<int> calls{0};
        int value = 0;  // written by f, read by every caller after call() returned
        std::atomic<int> wrong{0};
        goro::WaitGroup wg;
        wg.add(n);
        for (int i = 0; i < n; ++i)
          goro::go_spawn([&, i] {
            auto f = [&] {
              calls++;
              goro::yield();  // let the others pile up behind
              value = 42;
            };
            if (i % 2) once.call(f); else goro::call_once(once, f);
            if (value != 42 || !once.done()) wrong++;
            wg.done();
          });
        wg.wait();
        EXPECT_EQ(calls.load(), 1);
        EXPECT_EQ(wrong.load(), 0);
      },
      goro::Config{.workers = 2});
  EXPECT_EQ(rc, 0);
}

TEST(Once, CallersParkAsOnceAtTheirLineUntilItFinished) {
  auto once = std::make_shared<goro::Once>();
  Channel<int> entered(1), release, done(2);
  goro::go_spawn([once, entered, release, done]() mutable {
    once->call([&] {
      entered.send(1);
      release.recv();
    });
    done.send(1);
  });
  GT_ASSERT_RECV(ignored, entered);
  const unsigned line = __LINE__ + 2;
  auto waiter = goro::go_spawn([once, done]() mutable {
    once->call([] { ADD_FAILURE() << "ran twice"; });
    done.send(2);
  });
  gt::expect_parked_at(waiter, WaitReason::once, line);
  EXPECT_FALSE(once->done());
  release.send(1);
  EXPECT_EQ(gt::drain_n(done, 2), 2u);
  EXPECT_TRUE(once->done());
}

TEST(Once, AnExceptionLeavesItUncalledAndAWaiterTakesOver) {
  auto once = std::make_shared<goro::Once>();
  auto calls = std::make_shared<std::atomic<int>>(0);
  Channel<int> entered(1), release, outcome(2);
  goro::go_spawn([once, calls, entered, release, outcome]() mutable {
    try {
      once->call([&] {
        (*calls)++;
        entered.send(1);
        release.recv();
        throw std::runtime_error("first try fails");
      });
      outcome.send(0);
    } catch (const std::runtime_error&) {
      outcome.send(-1);  // the exception reached its caller
    }
  });
  GT_ASSERT_RECV(ignored, entered);
  auto waiter = goro::go_spawn([once, calls, outcome]() mutable {
    once->call([&] { (*calls)++; });  // parks, then runs f itself after the failure
    outcome.send(1);
  });
  ASSERT_TRUE(gt::wait_blocked(waiter, WaitReason::once));
  release.send(1);
  GT_ASSERT_RECV(a, outcome);
  GT_ASSERT_RECV(b, outcome);
  EXPECT_EQ(a + b, 0);  // -1 and 1, in either order
  EXPECT_EQ(calls->load(), 2);
  EXPECT_TRUE(once->done());
  once->call([&] { (*calls)++; });
  EXPECT_EQ(calls->load(), 2);
}

TEST(Once, ThrowingCallOnAPlainThreadThenASuccessfulOne) {
  goro::Once once;
  EXPECT_THROW(once.call([] { throw std::runtime_error("no"); }), std::runtime_error);
  EXPECT_FALSE(once.done());
  int calls = 0;
  goro::call_once(once, [&] { ++calls; });
  goro::call_once(once, [&] { ++calls; });
  EXPECT_EQ(calls, 1);
}

TEST(Once, PlainThreadWaitsForATaskRunningIt) {
  goro::Once once;
  Channel<int> entered(1), release;
  std::atomic<int> calls{0};
  goro::go_spawn([&, entered, release]() mutable {
    once.call([&] {
      calls++;
      entered.send(1);
      release.recv();
    });
  });
  GT_ASSERT_RECV(ignored, entered);
  std::atomic<bool> returned{false};
  std::thread plain([&] {
    once.call([&] { calls++; });
    returned.store(true);
  });
  gt::settle();
  EXPECT_FALSE(returned.load());
  release.send(1);
  plain.join();
  EXPECT_TRUE(returned.load());
  EXPECT_EQ(calls.load(), 1);
  EXPECT_TRUE(gt::eventually([] { return goro::diag::tasks().empty(); }));
}

// A plain thread blocked for good on the Once gets goro::Deadlock.

TEST(SyncDeadlock, OnceCalledFromItsOwnFunction) {
  gt::short_deadlock_grace();
  goro::Once once;
  std::string what = gt::deadlock_message([&] { once.call([&] { once.call([] {}); }); });
  EXPECT_NE(what.find("[once] at"), std::string::npos) << what;
  EXPECT_FALSE(once.done());  // the exception left f uncalled
  int calls = 0;
  once.call([&] { ++calls; });
  EXPECT_EQ(calls, 1);
}

}  // namespace
