// goro::testing::bubble and wait_blocked: virtual time for every goro timing, and the
// bubble's own verdicts (deadlock, leak, a task's exception, a wake-up from outside).
#include <goro/goro.hpp>
#include <goro/testing.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using goro::testing::BubbleFailure;
using goro::testing::kBubbleEpoch;

namespace {

// The message of the BubbleFailure that bubble(body) throws ("" if none).
std::string failure_of(std::function<void()> body) {
  try {
    goro::testing::bubble(std::move(body));
  } catch (const BubbleFailure& e) {
    return e.what();
  }
  return "";
}

TEST(Bubble, SleepAdvancesVirtualTimeExactly) {
  std::chrono::steady_clock::time_point before, after;
  goro::testing::bubble([&] {
    before = goro::testing::now();
    goro::sleep_for(30s);
    after = goro::testing::now();
  });
  EXPECT_EQ(before, kBubbleEpoch);
  EXPECT_EQ(after - before, 30s);
}

TEST(Bubble, SleepUntilUsesTheVirtualClock) {
  std::chrono::steady_clock::time_point woke;
  goro::testing::bubble([&] {
    goro::sleep_until(goro::testing::now() + 1h);
    woke = goro::testing::now();
  });
  EXPECT_EQ(woke, kBubbleEpoch + 1h);
}

TEST(Bubble, AfterTimesOutAndStampsVirtualTime) {
  int chosen = -1;
  std::optional<std::chrono::steady_clock::time_point> fired;
  goro::testing::bubble([&] {
    goro::Channel<int> never;
    std::optional<int> v;
    chosen = static_cast<int>(goro::select(goro::recv_case(never, v), goro::recv_case(goro::after(30s), fired)));
  });
  EXPECT_EQ(chosen, 1);
  ASSERT_TRUE(fired.has_value());
  EXPECT_EQ(*fired, kBubbleEpoch + 30s);
}

TEST(Bubble, ContextTimeoutExpiresInVirtualTime) {
  goro::ContextError err = goro::ContextError::none;
  std::chrono::steady_clock::time_point expired;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  goro::testing::bubble([&] {
    auto [ctx, cancel] = goro::with_timeout(goro::Context::background(), 30s);
    deadline = ctx.deadline();
    (void)ctx.done().recv();
    expired = goro::testing::now();
    err = ctx.err();
    cancel();
  });
  EXPECT_EQ(err, goro::ContextError::deadline_exceeded);
  ASSERT_TRUE(deadline.has_value());
  EXPECT_EQ(*deadline, kBubbleEpoch + 30s);
  EXPECT_EQ(expired, kBubbleEpoch + 30s);
}

TEST(Bubble, TickerTicksOnVirtualTime) {
  std::vector<std::chrono::steady_clock::duration> ticks;
  goro::testing::bubble([&] {
    goro::Ticker ticker(1s);
    for (int i = 0; i < 5; ++i) {
      auto t = ticker.c().recv();
      ticks.push_back(*t - kBubbleEpoch);
    }
    ticker.stop();
  });
  ASSERT_EQ(ticks.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ticks[i], std::chrono::seconds(i + 1));
}

TEST(Bubble, TimerStopAndResetFollowVirtualTime) {
  std::chrono::steady_clock::duration got{};
  goro::testing::bubble([&] {
    goro::Timer timer(10s);
    goro::sleep_for(5s);
    timer.reset(10s);  // now due at 15 s
    auto t = timer.c().recv();
    got = *t - kBubbleEpoch;
  });
  EXPECT_EQ(got, 15s);
}

TEST(Bubble, TimeStandsStillWhileTasksRun) {
  std::chrono::steady_clock::time_point a, b;
  goro::testing::bubble([&] {
    a = goro::testing::now();
    goro::WaitGroup wg;
    for (int i = 0; i < 10; ++i) {
      wg.add(1);
      goro::go_spawn([&] {
        for (int k = 0; k < 100; ++k) goro::yield();
        wg.done();
      });
    }
    wg.wait();
    b = goro::testing::now();
  });
  EXPECT_EQ(a, b);
}

TEST(Bubble, ReturnsOnceEveryTaskHasEnded) {
  std::atomic<int> finished{0};
  goro::testing::bubble([&] {
    for (int i = 1; i <= 3; ++i)
      goro::go_spawn([&, i] {
        goro::sleep_for(std::chrono::minutes(i));
        ++finished;
      });
  });  // the body returns at once; its tasks end later in virtual time
  EXPECT_EQ(finished.load(), 3);
}

TEST(Bubble, DeadlockIsReportedWithTheDump) {
  const std::string what = failure_of([] {
    goro::Channel<int> ch;
    (void)ch.recv();
  });
  EXPECT_NE(what.find("deadlock"), std::string::npos) << what;
  EXPECT_NE(what.find("chan receive"), std::string::npos) << what;
}

TEST(Bubble, LeakAfterTheBodyReturnsIsReportedWithVirtualAges) {
  const std::string what = failure_of([] {
    goro::Channel<int> ch;
    goro::go_spawn([ch]() mutable { (void)ch.recv(); });
    goro::sleep_for(5min);  // the leaked task has waited 5 virtual minutes by now
  });
  EXPECT_NE(what.find("leak"), std::string::npos) << what;
  EXPECT_NE(what.find("chan receive, 5m0s"), std::string::npos) << what;
}

TEST(Bubble, TickerLeftRunningAfterTheBodyIsALeak) {
  const std::string what = failure_of([] {
    goro::go_spawn([] {
      goro::Ticker ticker(1h);
      for (;;) (void)ticker.c().recv();
    });
  });
  EXPECT_NE(what.find("24 hours"), std::string::npos) << what;
}

TEST(Bubble, TaskExceptionFailsTheBubble) {
  const std::string what = failure_of([] {
    goro::go_spawn([] { throw std::runtime_error("boom in a task"); });
    goro::sleep_for(1s);
  });
  EXPECT_NE(what.find("boom in a task"), std::string::npos) << what;
}

TEST(Bubble, BodyExceptionPropagatesAfterUnwinding) {
  EXPECT_THROW(goro::testing::bubble([] {
    goro::Channel<int> ch;
    goro::go_spawn([ch]() mutable { (void)ch.recv(); });
    throw std::invalid_argument("from the body");
  }),
               std::invalid_argument);
}

TEST(Bubble, WaitBlockedReturnsWhenOthersAreDurablyBlocked) {
  int seen = -1;
  goro::testing::bubble([&] {
    goro::Channel<int> in;
    std::atomic<int> stage{0};
    goro::go_spawn([&, in]() mutable {
      stage = 1;
      (void)in.recv();
      stage = 2;
      goro::sleep_for(1s);
      stage = 3;
    });
    goro::testing::wait_blocked();
    seen = stage.load() * 10;
    in.send(1);
    goro::testing::wait_blocked();  // the task sleeps now: durably blocked too
    seen += stage.load();
    goro::sleep_for(2s);
  });
  EXPECT_EQ(seen, 12);
}

TEST(Bubble, ATaskInWaitBlockedShowsAsBubbleWaitAtItsLine) {
  goro::diag::TaskInfo seen{};
  int waiting_line = 0;
  goro::testing::bubble([&] {
    goro::Channel<int> done(1);
    const goro::TaskId waiter = goro::go_spawn([&, done]() mutable {
      waiting_line = __LINE__ + 1;
      goro::testing::wait_blocked();  // returns once the body blocks on `done`
      done.send(1);
    });
    goro::yield();  // the waiter runs and parks in wait_blocked; the body is still running
    for (const auto& t : goro::diag::tasks())
      if (t.id == waiter) seen = t;
    (void)done.recv();
  });
  EXPECT_EQ(seen.reason, goro::diag::WaitReason::bubble_wait);
  EXPECT_EQ(goro::diag::to_string(seen.reason), "bubble wait");
  EXPECT_EQ(seen.wait_site.line(), static_cast<std::uint_least32_t>(waiting_line));
  EXPECT_NE(std::string(seen.wait_site.file_name()).find("bubble_test.cpp"), std::string::npos);
}

TEST(Bubble, WaitBlockedOutsideABubbleThrows) {
  EXPECT_THROW(goro::testing::wait_blocked(), std::logic_error);
}

TEST(Bubble, BubbleFromAGoroTaskThrows) {
  bool threw = false;
  goro::run([&] {
    try {
      goro::testing::bubble([] {});
    } catch (const std::logic_error&) {
      threw = true;
    }
  });
  EXPECT_TRUE(threw);
}

TEST(Bubble, BlockingCallIsNotDurableAndKeepsTheClock) {
  std::chrono::steady_clock::time_point a, b;
  int v = 0;
  goro::testing::bubble([&] {
    a = goro::testing::now();
    v = goro::blocking([] {
      std::this_thread::sleep_for(20ms);
      return 7;
    });
    b = goro::testing::now();
  });
  EXPECT_EQ(v, 7);
  EXPECT_EQ(a, b);
}

TEST(Bubble, WakeUpFromOutsideTheBubbleIsAnError) {
  const std::string what = failure_of([] {
    goro::Channel<int> ch;
    goro::go_spawn([ch]() mutable { (void)ch.recv(); });
    goro::yield();  // the task is parked on ch now
    // A pool thread is outside the bubble: its send wakes a durably blocked task.
    goro::blocking([ch]() mutable { ch.send(1); });
  });
  EXPECT_NE(what.find("outside the bubble"), std::string::npos) << what;
}

TEST(Bubble, MutexAndWaitGroupWorkInside) {
  int total = 0;
  goro::testing::bubble([&] {
    goro::Mutex mu;
    goro::WaitGroup wg;
    for (int i = 0; i < 8; ++i) {
      wg.add(1);
      goro::go_spawn([&] {
        for (int k = 0; k < 10; ++k) {
          std::lock_guard guard(mu);
          int t = total;
          goro::sleep_for(1ms);
          total = t + 1;
        }
        wg.done();
      });
    }
    wg.wait();
  });
  EXPECT_EQ(total, 80);
}

}  // namespace
