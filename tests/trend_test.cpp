// Leak trends (goro/trend.hpp): a wait site whose blocked count keeps climbing is flagged
// and logged once; a steady pool, a pool starting up and a drained burst are not; the
// history is a bounded ring; Config::trend_period and GORO_TREND start the sampler.
//
// Samples are taken by hand (TrendOptions::period = 0) where the test needs to control
// what each one sees, so nothing here depends on timing.
#include <goro/goro.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;
using goro::diag::WaitReason;

// Manual sampling, a window longer than any test, small thresholds.
goro::diag::TrendOptions manual(std::size_t min_rise = 5) {
  goro::diag::TrendOptions o;
  o.period = 0ms;
  o.window = std::chrono::hours(1);
  o.min_rise = min_rise;
  o.min_samples = 5;
  return o;
}

// Tasks blocked in recv() on `ch` at one line of this file.
struct BlockedAtOneSite {
  goro::Channel<int> ch;
  unsigned line = 0;
  int spawned = 0;

  void add() {
    line = __LINE__ + 1;
    goro::go_spawn([c = ch]() mutable { (void)c.recv(); });
    ++spawned;
  }
  // Waits until `n` tasks are parked at the site (the watchdog bounds it).
  void wait_until_parked(std::size_t n) const {
    const auto give_up = gt::Clock::now() + gt::kWatchdog;
    while (gt::Clock::now() < give_up) {
      std::size_t parked = 0;
      for (const auto& t : goro::diag::tasks())
        if (t.reason == WaitReason::chan_recv && t.wait_site.line() == line) ++parked;
      if (parked == n) return;
      std::this_thread::sleep_for(1ms);
    }
    FAIL() << "tasks never parked at line " << line;
  }
  void release() { ch.close(); }  // every receiver returns
};

class Trend : public ::testing::Test {
 protected:
  void SetUp() override {
    goro::diag::start_trend(manual());
    goro::diag::reset_trend();
  }
  void TearDown() override {
    goro::diag::stop_trend();
    goro::diag::reset_trend();
    EXPECT_TRUE(goro::diag::find_leaks().empty());
  }
};

TEST_F(Trend, ASiteGrowingByOneTaskPerSampleIsFlaggedOnce) {
  goro::diag::start_trend(manual(/*min_rise=*/5));
  BlockedAtOneSite site;
  for (int i = 0; i < 12; ++i) {
    site.add();
    site.wait_until_parked(i + 1);
    goro::diag::sample_trend();
  }
  const auto leaks = goro::diag::possible_leaks();
  ASSERT_EQ(leaks.size(), 1u) << "one rising site, flagged once";
  EXPECT_EQ(leaks[0].reason, WaitReason::chan_recv);
  EXPECT_EQ(leaks[0].site.line(), site.line);
  // Flagged as soon as the window held min_samples samples and a rise of min_rise.
  EXPECT_EQ(leaks[0].blocked, 6u);
  EXPECT_GT(leaks[0].per_minute, 0.0);
  const std::string expected =
      "possible leak: 6 tasks [chan receive] at trend_test.cpp:" + std::to_string(site.line) + ", +";
  EXPECT_EQ(leaks[0].message.rfind(expected, 0), 0u) << leaks[0].message;

  const auto history = goro::diag::trend();
  ASSERT_EQ(history.size(), 12u);
  EXPECT_EQ(history.back().blocked_tasks, 12u);
  EXPECT_GE(history.back().live_tasks, 12u);
  EXPECT_GT(history.back().rss_bytes, 0u);
  ASSERT_FALSE(history.back().sites.empty());
  EXPECT_EQ(history.back().sites[0].blocked, 12u);
  site.release();
}

TEST_F(Trend, ASteadyPoolIsNotFlagged) {
  // Eight workers waiting for jobs: as jobs come and go the count dips and recovers.
  goro::Channel<int> jobs;
  goro::WaitGroup done;
  std::vector<goro::TaskId> pool;
  const unsigned pool_line = __LINE__ + 3;
  for (int w = 0; w < 8; ++w) {
    pool.push_back(goro::go_spawn([jobs, &done]() mutable {
      while (auto job = jobs.recv()) done.done();
    }));
  }
  for (auto id : pool) ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
  for (int round = 0; round < 30; ++round) {
    done.add(1);
    jobs.send(round);
    done.wait();
    goro::diag::sample_trend();
  }
  EXPECT_TRUE(goro::diag::possible_leaks().empty()) << goro::diag::possible_leaks()[0].message;
  bool saw_pool = false;
  for (const auto& s : goro::diag::trend())
    for (const auto& site : s.sites) saw_pool |= site.site.line() == pool_line;
  EXPECT_TRUE(saw_pool) << "the pool's wait site was sampled";
  jobs.close();
}

TEST_F(Trend, ABurstThatDrainsIsNotFlagged) {
  // Twenty tasks pile up (sampled at 4, 8, .., 20 with a threshold too high to flag the
  // rise), then drain (sampled at 15, 10, 5, 0 with a low one): it rose, but it did not
  // end at its highest.
  goro::diag::start_trend(manual(/*min_rise=*/100));
  BlockedAtOneSite site;
  for (int i = 0; i < 20; ++i) {
    site.add();
    site.wait_until_parked(i + 1);
    if (i % 4 == 3) goro::diag::sample_trend();
  }
  goro::diag::start_trend(manual(/*min_rise=*/5));
  for (int left = 20; left > 0; left -= 5) {
    for (int k = 0; k < 5; ++k) site.ch.send(k);
    site.wait_until_parked(left - 5);
    goro::diag::sample_trend();
  }
  EXPECT_EQ(goro::diag::trend().size(), 9u);
  EXPECT_TRUE(goro::diag::possible_leaks().empty()) << goro::diag::possible_leaks()[0].message;
  site.release();
}

TEST_F(Trend, APoolThatStartsUpAndStaysFlatIsNotFlagged) {
  // One step up (ten workers parking at once) and then flat for many samples: it rose by
  // more than min_rise and ends at its highest, but it does not keep rising.
  BlockedAtOneSite site;
  goro::diag::sample_trend();  // before: 0
  for (int i = 0; i < 10; ++i) site.add();
  site.wait_until_parked(10);
  for (int i = 0; i < 11; ++i) goro::diag::sample_trend();
  EXPECT_EQ(goro::diag::trend().size(), 12u);
  EXPECT_TRUE(goro::diag::possible_leaks().empty()) << goro::diag::possible_leaks()[0].message;
  site.release();
}

TEST_F(Trend, HistoryIsARingOfCapacitySamples) {
  auto opts = manual();
  opts.capacity = 4;
  goro::diag::start_trend(opts);
  for (int i = 0; i < 10; ++i) goro::diag::sample_trend();
  const auto history = goro::diag::trend();
  ASSERT_EQ(history.size(), 4u);
  for (std::size_t i = 1; i < history.size(); ++i)
    EXPECT_LE(history[i - 1].steady_at, history[i].steady_at) << "oldest first";
}

TEST_F(Trend, TheSamplerThreadSamplesAtItsPeriodIntoTheRing) {
  goro::diag::TrendOptions opts;
  opts.period = 1ms;
  opts.capacity = 3;
  goro::diag::start_trend(opts);
  // Wait until the ring is full and has moved on (the watchdog bounds it).
  const auto give_up = gt::Clock::now() + gt::kWatchdog;
  std::chrono::steady_clock::time_point first_full{};
  for (;;) {
    auto history = goro::diag::trend();
    if (history.size() == 3 && first_full == std::chrono::steady_clock::time_point{})
      first_full = history.front().steady_at;
    if (history.size() == 3 && history.front().steady_at > first_full) break;
    ASSERT_LT(gt::Clock::now(), give_up) << "the sampler took no samples";
    std::this_thread::sleep_for(1ms);
  }
  goro::diag::stop_trend();
  EXPECT_EQ(goro::diag::trend().size(), 3u);
}

TEST_F(Trend, ConfigTrendPeriodStartsTheSampler) {
  goro::diag::stop_trend();
  goro::Config cfg;
  cfg.trend_period = 1ms;
  goro::run(
      [] {
        const auto give_up = gt::Clock::now() + gt::kWatchdog;
        while (goro::diag::trend().empty()) {
          ASSERT_LT(gt::Clock::now(), give_up) << "Config::trend_period started no sampler";
          goro::sleep_for(1ms);
        }
      },
      cfg);
}

// Run by the test below in a child process: a site rising for many samples is logged
// through the goro logger exactly once.
TEST(TrendChild, DISABLED_RisingSiteIsLoggedOnce) {
  goro::diag::start_trend(manual(/*min_rise=*/3));
  BlockedAtOneSite site;
  for (int i = 0; i < 15; ++i) {
    site.add();
    site.wait_until_parked(i + 1);
    goro::diag::sample_trend();
  }
  site.release();
}

TEST(TrendLog, ARisingSiteIsLoggedOnceThroughTheGoroLogger) {
  const auto r = gt::run_command(
      "/proc/" + std::to_string(::getpid()) +
      "/exe --gtest_also_run_disabled_tests --gtest_filter=TrendChild.DISABLED_RisingSiteIsLoggedOnce 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::size_t count = 0;
  for (std::size_t at = r.output.find("possible leak: "); at != std::string::npos;
       at = r.output.find("possible leak: ", at + 1))
    ++count;
  EXPECT_EQ(count, 1u) << r.output;
  EXPECT_NE(r.output.find("tasks [chan receive] at trend_test.cpp:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[warning]"), std::string::npos) << "logged as a warning:\n" << r.output;
}

TEST(TrendEnv, GoroTrendStartsTheSamplerInAChild) {
  const auto r = gt::run_command("GORO_TREND=2ms /proc/" + std::to_string(::getpid()) +
                                 "/exe --gtest_also_run_disabled_tests "
                                 "--gtest_filter=TrendChild.DISABLED_EnvStartsSampler 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("[  PASSED  ] 1 test"), std::string::npos) << r.output;
}

TEST(TrendChild, DISABLED_EnvStartsSampler) {
  goro::run([] {
    const auto give_up = gt::Clock::now() + gt::kWatchdog;
    while (goro::diag::trend().empty()) {
      ASSERT_LT(gt::Clock::now(), give_up) << "GORO_TREND started no sampler";
      goro::sleep_for(1ms);
    }
  });
}

}  // namespace
