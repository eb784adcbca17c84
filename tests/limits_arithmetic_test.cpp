// Sizes and durations at the ends of their types: a channel capacity whose buffer size
// would wrap, and durations / time points from min() to max() in every API taking one.
// Nothing may wrap: an impossible capacity throws std::length_error, a negative or past
// duration means "now", a duration past the end of the clock means "never".
#include "goro_test.hpp"

#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using std::chrono::nanoseconds;
using SteadyPoint = std::chrono::steady_clock::time_point;

// A short wait used as the "something else happened first" reference: never a threshold.
constexpr auto kShort = 20ms;

// ----------------------------------------------------------------- channel capacity

TEST(ChannelCapacity, AWrappingBufferSizeThrowsLengthError) {
  const std::size_t capacity = (std::size_t{1} << 61) + 2;  // * 8 bytes wraps to 16
  try {
    Channel<std::uint64_t> c(capacity);
    FAIL() << "accepted a capacity of " << c.capacity();
  } catch (const std::length_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(std::to_string(capacity)), std::string::npos) << what;
    EXPECT_NE(what.find("limits_arithmetic_test.cpp"), std::string::npos) << what;
    EXPECT_NE(what.find("size out of range"), std::string::npos) << what;
  }
}

TEST(ChannelCapacity, HugeCapacitiesThrowBeforeAllocating) {
  EXPECT_THROW(Channel<char>(SIZE_MAX), std::length_error);
  EXPECT_THROW(Channel<std::string>(SIZE_MAX / 2), std::length_error);
  EXPECT_THROW(Channel<char>(goro::detail::kMaxChannelBufferBytes + 1), std::length_error);
  EXPECT_THROW(Channel<std::uint64_t>(goro::detail::kMaxChannelBufferBytes / 8 + 1),
               std::length_error);
}

TEST(ChannelCapacity, LargeButPossibleCapacitiesWork) {
  Channel<std::uint64_t> c(1 << 20);
  EXPECT_EQ(c.capacity(), std::size_t{1} << 20);
  for (std::uint64_t i = 0; i < 1000; ++i) c.send(i);
  EXPECT_EQ(c.recv(), 0u);
  EXPECT_EQ(c.size(), 999u);
}

// ------------------------------------------------ the saturating helpers themselves

TEST(SaturatingTime, ConversionsSaturateInsteadOfWrapping) {
  using goro::detail::saturating_ns;
  EXPECT_EQ(saturating_ns(std::chrono::hours::max()), nanoseconds::max());
  EXPECT_EQ(saturating_ns(std::chrono::hours::min()), nanoseconds::min());
  EXPECT_EQ(saturating_ns(std::chrono::milliseconds::max()), nanoseconds::max());
  EXPECT_EQ(saturating_ns(std::chrono::duration<double>(1e300)), nanoseconds::max());
  EXPECT_EQ(saturating_ns(std::chrono::duration<double>(-1e300)), nanoseconds::min());
  EXPECT_EQ(saturating_ns(std::chrono::duration<double>(std::nan(""))), nanoseconds(0));
  EXPECT_EQ(saturating_ns(5ms), nanoseconds(5'000'000));
  EXPECT_EQ(saturating_ns(nanoseconds::max()), nanoseconds::max());
}

TEST(SaturatingTime, DeadlinesSaturateAtNowAndNever) {
  using goro::detail::deadline_of;
  using goro::detail::kNeverNs;
  EXPECT_EQ(deadline_of(SteadyPoint::max()), kNeverNs);
  const std::int64_t before = goro::detail::now_ns();
  // system_clock's max() is about 230 years from now: far, but inside the clock's range.
  constexpr std::int64_t kCentury = std::int64_t{100} * 365 * 24 * 3600 * 1'000'000'000;
  EXPECT_GT(deadline_of(std::chrono::system_clock::time_point::max()), before + kCentury);
  EXPECT_LE(deadline_of(SteadyPoint::min()), before);
  const std::int64_t past = deadline_of(std::chrono::system_clock::time_point::min());
  const std::int64_t after = goro::detail::now_ns();
  EXPECT_GE(past, before);
  EXPECT_LE(past, after);
  EXPECT_EQ(goro::detail::deadline_after_ns(before, nanoseconds::max() - 1ns), kNeverNs);
  EXPECT_EQ(goro::detail::deadline_after_ns(before, nanoseconds::min()), before);
  EXPECT_EQ(goro::detail::steady_after(nanoseconds::max()), SteadyPoint::max());
  EXPECT_EQ(goro::detail::steady_after(std::chrono::hours::max()), SteadyPoint::max());
  EXPECT_LE(goro::detail::steady_after(nanoseconds::min()), std::chrono::steady_clock::now());
}

// --------------------------------------------------------------------- sleep_for

TEST(SleepFor, AHugeDurationNeverWakes) {
  for (const nanoseconds d : {nanoseconds::max(), nanoseconds::max() - nanoseconds(1),
                              nanoseconds(std::chrono::hours(24 * 365 * 200))}) {
    SCOPED_TRACE(d.count());
    std::atomic<bool> woke{false};
    const int rc = goro::run(
        [&] {
          const auto id = goro::go_spawn([&] {
            goro::sleep_for(d);
            woke = true;
          });
          ASSERT_TRUE(gt::wait_blocked(id, goro::diag::WaitReason::sleep));
          goro::sleep_for(kShort);
          EXPECT_FALSE(woke.load()) << "a sleep of " << d.count() << " ns woke up";
          auto info = gt::task_info(id);
          ASSERT_TRUE(info);
          EXPECT_EQ(info->reason, goro::diag::WaitReason::sleep);
        },
        goro::Config{.leak_policy = goro::LeakPolicy::off});
    EXPECT_EQ(rc, 0);
    EXPECT_FALSE(woke.load());
  }
}

TEST(SleepFor, NegativeDurationsReturnAtOnce) {
  const int rc = goro::run([] {
    for (const nanoseconds d : {nanoseconds::min(), nanoseconds::min() + nanoseconds(1),
                                nanoseconds(-1), nanoseconds(0)})
      goro::sleep_for(d);
  });
  EXPECT_EQ(rc, 0);
  goro::sleep_for(nanoseconds::min());  // plain thread
}

// ------------------------------------------------------------------------- after

TEST(After, AHugeDurationNeverFires) {
  const int rc = goro::run([] {
    for (const nanoseconds d : {nanoseconds::max(), nanoseconds::max() - nanoseconds(1)}) {
      std::optional<SteadyPoint> huge, reference;
      const auto fired = goro::select(goro::recv_case(goro::after(d), huge),
                                      goro::recv_case(goro::after(kShort), reference));
      EXPECT_EQ(fired, 1u) << "after(" << d.count() << " ns) fired first";
    }
  });
  EXPECT_EQ(rc, 0);
}

TEST(After, NegativeDurationsFireAtOnce) {
  const int rc = goro::run([] {
    for (const nanoseconds d : {nanoseconds::min(), nanoseconds(-1), nanoseconds(0)}) {
      auto ch = goro::after(d);
      GT_ASSERT_RECV(t, ch);
    }
  });
  EXPECT_EQ(rc, 0);
}

// ---------------------------------------------------------- ConditionVariable

struct CvFixture {
  goro::Mutex mu;
  goro::ConditionVariable cv;
};

TEST(ConditionVariableLimits, PastTimeoutsAndDeadlinesTimeOutAtOnce) {
  const int rc = goro::run([] {
    CvFixture f;
    std::unique_lock lock(f.mu);
    EXPECT_EQ(f.cv.wait_for(lock, nanoseconds::min()), std::cv_status::timeout);
    EXPECT_EQ(f.cv.wait_for(lock, std::chrono::hours::min()), std::cv_status::timeout);
    EXPECT_EQ(f.cv.wait_for(lock, -1s), std::cv_status::timeout);
    EXPECT_EQ(f.cv.wait_until(lock, SteadyPoint::min()), std::cv_status::timeout);
    EXPECT_EQ(f.cv.wait_until(lock, std::chrono::steady_clock::now()), std::cv_status::timeout);
    EXPECT_EQ(f.cv.wait_until(lock, std::chrono::system_clock::time_point::min()),
              std::cv_status::timeout);
    EXPECT_EQ(f.cv.wait_until(lock, std::chrono::system_clock::now() + 1ms), std::cv_status::timeout);
    EXPECT_FALSE(f.cv.wait_until(lock, SteadyPoint::min(), [] { return false; }));
    EXPECT_TRUE(lock.owns_lock());
  });
  EXPECT_EQ(rc, 0);
}

// Each huge wait must still be waiting when another task notifies it.
template <class Wait>
void expect_waits_for_notify(Wait wait) {
  const int rc = goro::run([&] {
    CvFixture f;
    bool ready = false;
    std::atomic<bool> timed_out{false};
    goro::Channel<int> done(1);
    goro::go_spawn([&] {
      std::unique_lock lock(f.mu);
      timed_out = !wait(f.cv, lock, ready);
      done.send(1);
    });
    goro::sleep_for(kShort);
    {
      std::lock_guard lock(f.mu);
      ready = true;
    }
    f.cv.notify_all();
    GT_ASSERT_RECV(v, done);
    EXPECT_FALSE(timed_out.load());
  });
  EXPECT_EQ(rc, 0);
}

TEST(ConditionVariableLimits, HugeTimeoutsWaitForANotify) {
  expect_waits_for_notify([](goro::ConditionVariable& cv, auto& lock, bool& ready) {
    return cv.wait_for(lock, std::chrono::hours::max(), [&] { return ready; });
  });
  expect_waits_for_notify([](goro::ConditionVariable& cv, auto& lock, bool& ready) {
    return cv.wait_for(lock, nanoseconds::max(), [&] { return ready; });
  });
  expect_waits_for_notify([](goro::ConditionVariable& cv, auto& lock, bool& ready) {
    return cv.wait_for(lock, std::chrono::duration<double>(1e300), [&] { return ready; });
  });
  expect_waits_for_notify([](goro::ConditionVariable& cv, auto& lock, bool& ready) {
    return cv.wait_until(lock, SteadyPoint::max(), [&] { return ready; });
  });
  expect_waits_for_notify([](goro::ConditionVariable& cv, auto& lock, bool& ready) {
    return cv.wait_until(lock, std::chrono::system_clock::time_point::max(), [&] { return ready; });
  });
  expect_waits_for_notify([](goro::ConditionVariable& cv, auto& lock, bool& ready) {
    using HoursPoint = std::chrono::time_point<std::chrono::steady_clock, std::chrono::hours>;
    return cv.wait_until(lock, HoursPoint::max(), [&] { return ready; });
  });
}

// -------------------------------------------------------------------------- Context

TEST(ContextLimits, HugeTimeoutsAndDeadlinesNeverExpire) {
  const int rc = goro::run([] {
    auto [a, cancel_a] = goro::with_timeout(goro::Context::background(), nanoseconds::max());
    auto [b, cancel_b] = goro::with_timeout(goro::Context::background(), nanoseconds::max() - 1ns);
    auto [c, cancel_c] = goro::with_deadline(goro::Context::background(), SteadyPoint::max());
    goro::sleep_for(kShort);
    EXPECT_FALSE(a.cancelled());
    EXPECT_FALSE(b.cancelled());
    EXPECT_FALSE(c.cancelled());
    cancel_a();
    cancel_b();
    cancel_c();
  });
  EXPECT_EQ(rc, 0);
}

TEST(ContextLimits, PastTimeoutsAndDeadlinesExpireAtOnce) {
  const int rc = goro::run([] {
    auto [a, cancel_a] = goro::with_timeout(goro::Context::background(), nanoseconds::min());
    auto [b, cancel_b] = goro::with_deadline(goro::Context::background(), SteadyPoint::min());
    EXPECT_EQ(a.err(), goro::ContextError::deadline_exceeded);
    EXPECT_EQ(b.err(), goro::ContextError::deadline_exceeded);
    cancel_a();
    cancel_b();
  });
  EXPECT_EQ(rc, 0);
}

// ------------------------------------------------------------------ diag and trends

TEST(FindLeaksLimits, AHugeMaxWaitWaitsForFinishingTasks) {
  const int rc = goro::run([] {
    goro::Channel<int> release;
    goro::go_spawn([release]() mutable { release.recv(); });
    goro::go_spawn([release]() mutable {
      goro::sleep_for(kShort);
      release.close();
    });
    // Both tasks end by themselves: a wait of "forever" returns once they have.
    const auto leaks = goro::diag::find_leaks({.max_wait = std::chrono::milliseconds::max()});
    EXPECT_TRUE(leaks.empty()) << leaks.size() << " task(s) listed";
  });
  EXPECT_EQ(rc, 0);
}

TEST(FindLeaksLimits, ANegativeMaxWaitLooksOnce) {
  const int rc = goro::run(
      [] {
        goro::Channel<int> never;
        const auto id = goro::go_spawn([never]() mutable { never.recv(); });
        ASSERT_TRUE(gt::wait_blocked(id, goro::diag::WaitReason::chan_recv));
        const auto leaks = goro::diag::find_leaks({.max_wait = std::chrono::milliseconds::min()});
        ASSERT_EQ(leaks.size(), 1u);
        EXPECT_EQ(leaks[0].id, id);
      },
      goro::Config{.leak_policy = goro::LeakPolicy::off});
  EXPECT_EQ(rc, 0);
}

TEST(TrendLimits, AHugePeriodSamplesOnce) {
  goro::diag::stop_trend();
  goro::diag::reset_trend();
  goro::diag::start_trend({.period = std::chrono::milliseconds::max(),
                           .window = std::chrono::milliseconds::max()});
  ASSERT_TRUE(gt::eventually([] { return !goro::diag::trend().empty(); }));
  std::this_thread::sleep_for(kShort);
  EXPECT_EQ(goro::diag::trend().size(), 1u) << "the sampler did not wait for its period";
  goro::diag::stop_trend();
  goro::diag::reset_trend();
}

}  // namespace
