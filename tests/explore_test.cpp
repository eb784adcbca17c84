// goro::testing::explore: seeded schedules that vary with the seed, replay exactly from a
// failing run's seed (in code and through GORO_EXPLORE_SEED), and the failure kinds a run
// can end with.
#include <goro/goro.hpp>
#include <goro/testing.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "goro_test.hpp"

using goro::testing::ExploreOptions;
using goro::testing::ExploreResult;
using goro::testing::Strategy;

namespace {

// Three tasks append their steps to a trace; schedule points (channel, mutex) between.
std::vector<int> traced_run(std::uint64_t seed, Strategy s) {
  std::vector<int> trace;
  ExploreOptions o;
  o.runs = 1;
  o.seed = seed;
  o.strategy = s;
  const ExploreResult r = goro::testing::explore(
      [&] {
        trace.clear();
        goro::Mutex mu;
        goro::Channel<int> ch(8);
        goro::WaitGroup wg;
        for (int id = 0; id < 3; ++id) {
          wg.add(1);
          goro::go_spawn([&, id, ch]() mutable {
            for (int k = 0; k < 3; ++k) {
              mu.lock();
              trace.push_back(id * 10 + k);
              mu.unlock();
              ch.send(id);
            }
            wg.done();
          });
        }
        for (int i = 0; i < 9; ++i) trace.push_back(100 + *ch.recv());
        wg.wait();
      },
      o);
  EXPECT_FALSE(r.failed) << r.report;
  return trace;
}

// A bug found by both strategies quickly: an early return leaves a sender blocked.
void early_return_bug() {
  goro::Channel<int> result;
  // Shared, not a local captured by reference: the canceller may run after this returns.
  auto cancelled = std::make_shared<bool>(false);
  goro::go_spawn([result]() mutable { result.send(1); });
  goro::go_spawn([cancelled] { *cancelled = true; });
  goro::yield();
  if (*cancelled) return;
  (void)result.recv();
}

TEST(Explore, SameSeedSameSchedule) {
  for (Strategy s : {Strategy::random, Strategy::pct})
    for (std::uint64_t seed : {1ull, 42ull, 0xDEADBEEFull})
      EXPECT_EQ(traced_run(seed, s), traced_run(seed, s)) << goro::testing::to_string(s) << " seed " << seed;
}

TEST(Explore, DifferentSeedsExploreDifferentSchedules) {
  for (Strategy s : {Strategy::random, Strategy::pct}) {
    std::set<std::vector<int>> seen;
    for (std::uint64_t seed = 1; seed <= 30; ++seed) seen.insert(traced_run(seed, s));
    EXPECT_GT(seen.size(), 5u) << goro::testing::to_string(s);
  }
}

TEST(Explore, SelectChoiceComesFromTheSeed) {
  std::set<std::size_t> chosen;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    std::size_t i = 99;
    ExploreOptions o;
    o.runs = 1;
    o.seed = seed;
    (void)goro::testing::explore(
        [&] {
          goro::Channel<int> a(1), b(1);
          a.send(1);
          b.send(2);
          std::optional<int> va, vb;
          i = goro::select(goro::recv_case(a, va), goro::recv_case(b, vb));
        },
        o);
    chosen.insert(i);
  }
  EXPECT_EQ(chosen, (std::set<std::size_t>{0, 1}));
}

TEST(Explore, FailingSeedReplaysExactly) {
  for (Strategy s : {Strategy::random, Strategy::pct}) {
    ExploreOptions o;
    o.seed = 7;
    o.strategy = s;
    const ExploreResult found = goro::testing::explore(early_return_bug, o);
    ASSERT_TRUE(found.failed) << goro::testing::to_string(s);
    EXPECT_EQ(found.strategy, s);
    EXPECT_NE(found.report.find("leak"), std::string::npos) << found.report;
    EXPECT_NE(found.report.find("GORO_EXPLORE_SEED=" + std::to_string(found.seed)), std::string::npos)
        << found.report;
    ExploreOptions replay = o;
    replay.runs = 1;
    replay.seed = found.seed;
    for (int i = 0; i < 3; ++i) {
      const ExploreResult again = goro::testing::explore(early_return_bug, replay);
      EXPECT_TRUE(again.failed);
      EXPECT_EQ(again.seed, found.seed);
      EXPECT_EQ(again.runs, 1);
    }
  }
}

TEST(Explore, EnvironmentSeedReplaysOneRun) {
  ExploreOptions o;
  o.seed = 11;
  const ExploreResult found = goro::testing::explore(early_return_bug, o);
  ASSERT_TRUE(found.failed);
  const std::string seed = std::to_string(found.seed);
  gt::ScopedEnv env("GORO_EXPLORE_SEED", seed.c_str());
  const ExploreResult replayed = goro::testing::explore(early_return_bug);  // 1000 runs asked
  EXPECT_TRUE(replayed.failed);
  EXPECT_EQ(replayed.runs, 1);
  EXPECT_EQ(replayed.seed, found.seed);
}

TEST(Explore, InvalidEnvironmentSeedThrows) {
  gt::ScopedEnv env("GORO_EXPLORE_SEED", "12abc");
  EXPECT_THROW(goro::testing::explore([] {}), std::invalid_argument);
}

TEST(Explore, ATaskThatNeverBlocksIsALivelock) {
  // Two tasks poll a channel nobody sends on and yield: neither blocks, nothing ends.
  auto spin_forever = [] {
    goro::Channel<int> never;
    goro::go_spawn([never]() mutable {
      std::optional<int> v;
      while (!never.try_recv(v)) goro::yield();
    });
    std::optional<int> v;
    while (!never.try_recv(v)) goro::yield();
  };
  ExploreOptions o;
  o.runs = 3;
  o.seed = 5;
  o.max_decisions = 2000;
  const ExploreResult r = goro::testing::explore(spin_forever, o);
  ASSERT_TRUE(r.failed);
  EXPECT_EQ(r.runs, 1);
  EXPECT_NE(r.report.find("livelock: 2000 scheduling decisions"), std::string::npos) << r.report;
  EXPECT_NE(r.report.find("GORO_EXPLORE_SEED=5"), std::string::npos) << r.report;
}

TEST(Explore, InvalidOptionsThrow) {
  ExploreOptions o;
  o.runs = 0;
  EXPECT_THROW(goro::testing::explore([] {}, o), std::invalid_argument);
  o.runs = 1;
  o.pct_depth = 0;
  EXPECT_THROW(goro::testing::explore([] {}, o), std::invalid_argument);
  o.pct_depth = 1;
  o.max_decisions = 0;
  EXPECT_THROW(goro::testing::explore([] {}, o), std::invalid_argument);
}

TEST(Explore, PassingBodyRunsEveryRun) {
  ExploreOptions o;
  o.runs = 50;
  const ExploreResult r = goro::testing::explore([] {}, o);
  EXPECT_FALSE(r.failed);
  EXPECT_EQ(r.runs, 50);
  EXPECT_TRUE(r.report.empty());
}

TEST(Explore, BodyExceptionFailsTheRun) {
  ExploreOptions o;
  o.runs = 5;
  const ExploreResult r = goro::testing::explore([] { throw std::out_of_range("index 9"); }, o);
  EXPECT_TRUE(r.failed);
  EXPECT_EQ(r.runs, 1);
  EXPECT_NE(r.report.find("std::out_of_range: index 9"), std::string::npos) << r.report;
}

TEST(Explore, DeadlockFailsTheRunWithTheDump) {
  ExploreOptions o;
  o.runs = 5;
  const ExploreResult r = goro::testing::explore(
      [] {
        goro::Mutex a;
        a.lock();
        a.lock();
      },
      o);
  EXPECT_TRUE(r.failed);
  EXPECT_NE(r.report.find("deadlock"), std::string::npos) << r.report;
  EXPECT_NE(r.report.find("mutex"), std::string::npos) << r.report;
}

// The GoogleTest probe: a failed assertion during a run fails that run. (A fake probe
// stands in for GoogleTest's result, so this test itself does not fail.)
int g_fake_failures = 0;
int fake_probe(std::string* last) {
  if (last) *last = "fake.cpp:1: Expected equality";
  return g_fake_failures;
}

TEST(Explore, FailedAssertionFailsTheRun) {
  goro::detail::set_test_failure_probe(&fake_probe);
  g_fake_failures = 0;
  ExploreOptions o;
  o.runs = 100;
  o.seed = 3;
  int run = 0;
  const ExploreResult r = goro::testing::explore(
      [&] {
        if (++run == 4) ++g_fake_failures;
      },
      o);
  // Put GoogleTest's probe back (explore_in_test installs it).
  GORO_EXPLORE([] {}, {.runs = 1});
  EXPECT_TRUE(r.failed);
  EXPECT_EQ(r.runs, 4);
  EXPECT_NE(r.report.find("GoogleTest assertion failed"), std::string::npos) << r.report;
  EXPECT_NE(r.report.find("fake.cpp:1"), std::string::npos) << r.report;
}

TEST(Explore, MacroExploresInOneLine) {
  int runs = 0;
  GORO_EXPLORE(
      [&] {
        ++runs;
        goro::Channel<int> ch(1);
        goro::go_spawn([ch]() mutable { ch.send(1); });
        EXPECT_EQ(*ch.recv(), 1);
      },
      {.runs = 200, .strategy = Strategy::pct});
  EXPECT_EQ(runs, 200);
}

TEST(Explore, VirtualTimeInsideEveryRun) {
  ExploreOptions o;
  o.runs = 20;
  const ExploreResult r = goro::testing::explore(
      [] {
        const auto start = goro::testing::now();
        auto [ctx, cancel] = goro::with_timeout(goro::Context::background(), std::chrono::seconds(30));
        (void)ctx.done().recv();
        if (goro::testing::now() - start != std::chrono::seconds(30)) throw std::logic_error("clock");
        cancel();
      },
      o);
  EXPECT_FALSE(r.failed) << r.report;
}

}  // namespace
