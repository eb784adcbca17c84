// goro::Timer, Timer::after_func, goro::Ticker, goro::sleep_until and after()'s timer
// lifetime (goro/timer.hpp, goro/time.hpp). Orderings and counts only: "never fired"
// checks wait well past the deadline they guard, and waits for what must happen are
// bounded by the watchdog.
#include <goro/detail/timer.hpp>
#include <goro/time.hpp>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using goro::Ticker;
using goro::Timer;
using TimePoint = std::chrono::steady_clock::time_point;

// Long enough past a short deadline that a timer which was going to fire has fired.
void wait_well_past() { std::this_thread::sleep_for(gt::kSanitized ? 500ms : 200ms); }

// ---------------------------------------------------------------------------- Timer

TEST(Timer, DeliversTheTimeOnceAfterItsDuration) {
  const auto start = std::chrono::steady_clock::now();
  Timer t(5ms);
  auto ch = t.c();
  GT_ASSERT_RECV(fired, ch);
  EXPECT_GE(fired, start + 5ms) << "never early";
  EXPECT_FALSE(t.stop()) << "fired and received: nothing left to stop";
  EXPECT_EQ(ch.size(), 0u);
}

TEST(Timer, AStoppedTimerNeverFires) {
  Timer t(20ms);
  EXPECT_TRUE(t.stop());
  wait_well_past();
  std::optional<TimePoint> v;
  EXPECT_FALSE(t.c().try_recv(v));
  EXPECT_FALSE(t.stop()) << "stopped already";
}

TEST(Timer, StopDiscardsAValueDeliveredButNotReceived) {
  Timer t(0ns);
  auto ch = t.c();
  ASSERT_TRUE(gt::eventually([&] { return ch.size() == 1; }));
  EXPECT_TRUE(t.stop()) << "fired but not received counts as active (Go 1.23)";
  std::optional<TimePoint> v;
  EXPECT_FALSE(ch.try_recv(v)) << "no stale value after stop";
}

TEST(Timer, ResetMovesTheDeadlineLater) {
  Timer t(20ms);
  EXPECT_TRUE(t.reset(1h));
  wait_well_past();
  std::optional<TimePoint> v;
  EXPECT_FALSE(t.c().try_recv(v)) << "fired at the deadline reset replaced";
  EXPECT_TRUE(t.reset(0ns)) << "still active";
  auto ch = t.c();
  GT_ASSERT_RECV(fired, ch);
  (void)fired;
}

TEST(Timer, ResetAfterFiringDiscardsTheStaleValueAndFiresAgain) {
  Timer t(0ns);
  auto ch = t.c();
  ASSERT_TRUE(gt::eventually([&] { return ch.size() == 1; }));
  const auto before_reset = std::chrono::steady_clock::now();
  EXPECT_TRUE(t.reset(1ms));
  GT_ASSERT_RECV(fired, ch);
  EXPECT_GE(fired, before_reset) << "the value received is the new firing's, not the stale one";
}

TEST(Timer, ResetOfAStoppedTimerReportsInactiveAndArmsIt) {
  Timer t(1h);
  EXPECT_TRUE(t.stop());
  EXPECT_FALSE(t.reset(1ms));
  auto ch = t.c();
  GT_ASSERT_RECV(fired, ch);
  (void)fired;
}

TEST(Timer, DestroyingATimerStopsIt) {
  const std::size_t before = goro::detail::pending_timers();
  std::atomic<int> runs{0};
  {
    auto t = Timer::after_func(1h, [&] { runs.fetch_add(1); });
    EXPECT_EQ(goro::detail::pending_timers(), before + 1);
    Timer channel_timer(1h);
    EXPECT_EQ(goro::detail::pending_timers(), before + 2);
  }
  EXPECT_EQ(goro::detail::pending_timers(), before) << "both timers removed with their owners";
  EXPECT_EQ(runs.load(), 0);
}

TEST(Timer, WorksInsideATask) {
  Channel<int> done(1);
  goro::go_spawn([done]() mutable {
    Timer t(1ms);
    auto ch = t.c();
    (void)ch.recv();
    done.send(1);
  });
  GT_ASSERT_RECV(v, done);
  EXPECT_EQ(v, 1);
}

TEST(Timer, MovedFromTimerThrows) {
  Timer a(1h);
  Timer b(std::move(a));
  EXPECT_THROW((void)a.c(), std::logic_error);  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(b.stop());
}

// ----------------------------------------------------------------- Timer::after_func

TEST(TimerAfterFunc, RunsInATaskOfItsOwn) {
  Channel<goro::TaskId> ran(1);
  auto t = Timer::after_func(1ms, [ran]() mutable { ran.send(goro::current_task()); });
  GT_ASSERT_RECV(id, ran);
  EXPECT_NE(id, 0u) << "f runs in a task, not on the timer's thread";
  EXPECT_FALSE(t.stop()) << "f has been started";
}

// Deadlines around "now", so stop() wins some races and loses others: whatever it
// returns must hold. true: f never runs; false: f runs (once).
TEST(TimerAfterFunc, StopReturnsTrueExactlyWhenItKeptFFromRunning) {
  constexpr int kTimers = 50;
  std::vector<std::atomic<int>> runs(kTimers);
  std::vector<bool> stopped(kTimers);
  for (int i = 0; i < kTimers; ++i) {
    auto t = Timer::after_func(std::chrono::microseconds(i * 20), [&runs, i] { runs[i].fetch_add(1); });
    if (i % 2 == 1) std::this_thread::sleep_for(std::chrono::microseconds(i * 20));
    stopped[i] = t.stop();
  }
  for (int i = 0; i < kTimers; ++i) {
    if (!stopped[i]) {
      EXPECT_TRUE(gt::eventually([&] { return runs[i].load() == 1; })) << "timer " << i;
    }
  }
  wait_well_past();
  for (int i = 0; i < kTimers; ++i)
    EXPECT_EQ(runs[i].load(), stopped[i] ? 0 : 1) << "timer " << i << ", stop() returned " << stopped[i];
}

TEST(TimerAfterFunc, StopOfAPendingTimerMeansFNeverRuns) {
  std::atomic<int> runs{0};
  auto t = Timer::after_func(1h, [&] { runs.fetch_add(1); });
  EXPECT_TRUE(t.stop());
  EXPECT_FALSE(t.stop()) << "stopped already";
  EXPECT_FALSE(t.reset(0ns)) << "a stopped timer was not active";
  ASSERT_TRUE(gt::eventually([&] { return runs.load() == 1; })) << "reset arms it again";
}

TEST(TimerAfterFunc, ResetRunsFAgain) {
  Channel<int> ran(2);
  auto t = Timer::after_func(0ns, [ran]() mutable { ran.send(1); });
  GT_ASSERT_RECV(first, ran);
  EXPECT_FALSE(t.reset(0ns));
  GT_ASSERT_RECV(second, ran);
  EXPECT_EQ(first + second, 2);
}

TEST(TimerAfterFunc, HasNoChannelAndRejectsAnEmptyFunction) {
  auto t = Timer::after_func(1h, [] {});
  EXPECT_THROW((void)t.c(), std::logic_error);
  EXPECT_THROW((void)Timer::after_func(1ms, std::function<void()>{}), std::invalid_argument);
}

// --------------------------------------------------------------------------- Ticker

TEST(Ticker, TicksRepeatedlyInOrder) {
  Ticker ticker(1ms);
  auto ch = ticker.c();
  TimePoint last{};
  for (int i = 0; i < 5; ++i) {
    GT_ASSERT_RECV(tick, ch);
    EXPECT_GT(tick, last);
    last = tick;
  }
}

TEST(Ticker, ASlowReaderSeesAtMostOneBufferedTick) {
  Ticker ticker(1ms);
  auto ch = ticker.c();
  ASSERT_TRUE(gt::eventually([&] { return ch.size() == 1; }));
  wait_well_past();  // dozens of periods more without a reader
  EXPECT_EQ(ch.capacity(), 1u);
  EXPECT_EQ(ch.size(), 1u) << "one tick kept, the others dropped; the ticker never blocks";
  GT_ASSERT_RECV(first, ch);
  GT_ASSERT_RECV(next, ch);
  EXPECT_GT(next, first) << "ticking continues after the slow stretch";
}

TEST(Ticker, StopEndsTheTicksAndDiscardsAnUnreceivedOne) {
  Ticker ticker(1ms);
  auto ch = ticker.c();
  ASSERT_TRUE(gt::eventually([&] { return ch.size() == 1; }));
  ticker.stop();
  EXPECT_EQ(ch.size(), 0u);
  wait_well_past();
  EXPECT_EQ(ch.size(), 0u) << "a stopped ticker never ticks";
}

TEST(Ticker, ResetChangesThePeriod) {
  Ticker ticker(1h);
  ticker.reset(1ms);
  auto ch = ticker.c();
  GT_ASSERT_RECV(a, ch);
  GT_ASSERT_RECV(b, ch);
  EXPECT_GT(b, a);
  ticker.reset(1h);
  wait_well_past();
  EXPECT_EQ(ch.size(), 0u) << "no tick of the old period after reset";
}

TEST(Ticker, NonPositivePeriodIsInvalid) {
  EXPECT_THROW(Ticker(0ns), std::invalid_argument);
  EXPECT_THROW(Ticker(-1s), std::invalid_argument);
  Ticker ticker(1h);
  EXPECT_THROW(ticker.reset(0ns), std::invalid_argument);
}

TEST(Ticker, DestroyingATickerRemovesItsTimer) {
  const std::size_t before = goro::detail::pending_timers();
  { Ticker ticker(1ms); }
  EXPECT_EQ(goro::detail::pending_timers(), before);
}

// ----------------------------------------------------------------------- sleep_until

TEST(SleepUntil, ReturnsNoEarlierThanTheTimePointInATaskAndOnAThread) {
  Channel<bool> done(1);
  goro::go_spawn([done]() mutable {
    const auto target = std::chrono::steady_clock::now() + 5ms;
    goro::sleep_until(target);
    done.send(std::chrono::steady_clock::now() >= target);
  });
  GT_ASSERT_RECV(in_task, done);
  EXPECT_TRUE(in_task);
  const auto target = std::chrono::steady_clock::now() + 5ms;
  goro::sleep_until(target);
  EXPECT_GE(std::chrono::steady_clock::now(), target);
}

TEST(SleepUntil, APastOrDistantPastTimePointReturnsAtOnce) {
  Channel<int> done(1);
  goro::go_spawn([done]() mutable {
    goro::sleep_until(std::chrono::steady_clock::now() - 1h);
    goro::sleep_until(TimePoint::min());
    done.send(1);
  });
  GT_ASSERT_RECV(v, done);
  EXPECT_EQ(v, 1);
}

TEST(SleepUntil, ParksAsSleep) {
  goro::Config cfg;
  cfg.leak_policy = goro::LeakPolicy::off;
  bool parked_as_sleep = false;
  goro::run(
      [&] {
        const goro::TaskId id = goro::go_spawn(
            [] { goro::sleep_until(std::chrono::steady_clock::now() + 1h); });
        parked_as_sleep = gt::wait_blocked(id, goro::diag::WaitReason::sleep);
      },
      cfg);  // run() unwinds the sleeper
  EXPECT_TRUE(parked_as_sleep);
}

// ------------------------------------------------------------- after()'s timer lifetime

TEST(After, TheTimerGoesAwayWithTheChannelsLastHandle) {
  const std::size_t before = goro::detail::pending_timers();
  {
    auto ch = goro::after(1h);
    EXPECT_EQ(goro::detail::pending_timers(), before + 1);
    auto copy = ch;
  }
  EXPECT_EQ(goro::detail::pending_timers(), before);
}

TEST(After, ASelectLoopOverAfterOneHourKeepsNoTimersPending) {
  std::size_t before = 0, most = 0;
  goro::run([&] {
    before = goro::detail::pending_timers();
    Channel<int> ready(1);
    const int n = gt::scaled(100000, 1000);
    for (int i = 0; i < n; ++i) {
      ready.send(i);
      std::optional<int> v;
      std::optional<TimePoint> t;
      if (goro::select(goro::recv_case(ready, v), goro::recv_case(goro::after(1h), t)) != 0)
        ADD_FAILURE() << "an after(1h) fired";
      most = std::max(most, goro::detail::pending_timers());
    }
  });
  EXPECT_EQ(most, before) << "each select's after() timer must go with its channel";
}

TEST(After, StillFiresWhileAHandleIsHeld) {
  auto ch = goro::after(1ms);
  GT_ASSERT_RECV(fired, ch);
  (void)fired;
}

TEST(After, ATaskWaitingOnlyForAnAfterChannelIsNotALeak) {
  goro::Config cfg;
  cfg.leak_policy = goro::LeakPolicy::off;
  bool listed_as_leaked = true;
  goro::run(
      [&] {
        Channel<int> started(1);
        const goro::TaskId id = goro::go_spawn([started]() mutable {
          auto timeout = goro::after(1h);
          started.send(1);
          (void)timeout.recv();  // its only handle is here, but the timer will send
        });
        (void)started.recv();
        if (!gt::wait_blocked(id, goro::diag::WaitReason::chan_recv)) return;
        listed_as_leaked = false;
        for (const auto& t : goro::diag::leaked_tasks())
          if (t.id == id) listed_as_leaked = true;
      },
      cfg);
  EXPECT_FALSE(listed_as_leaked);
}

}  // namespace
