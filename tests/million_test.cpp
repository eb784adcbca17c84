// A million parked tasks: 1,000,000 tasks, each blocked on its own channel, all
// alive at once; then every one is released and must finish. Release builds
// only (label "heavy"); sanitizer builds skip it.
#include "goro_test.hpp"

#include <cstdio>
#include <vector>

namespace {

using goro::Channel;

#if !defined(GORO_ASAN) && !defined(GORO_TSAN)

TEST(Million, MillionParkedTasksAllFinish) {
  constexpr int N = 1'000'000;
  std::atomic<int> parked{0};
  std::atomic<long> finished_sum{0};
  std::atomic<int> finished{0};
  bool all_parked = false;
  using Clock = std::chrono::steady_clock;
  Clock::time_point t0 = Clock::now(), t_spawned, t_parked, t_released;
  int rc = goro::run([&] {
    std::vector<Channel<int>> chans(N);
    goro::WaitGroup wg;
    wg.add(N);
    for (int i = 0; i < N; ++i)
      goro::go_spawn([c = chans[i], &wg, &parked, &finished, &finished_sum]() mutable {
        parked.fetch_add(1, std::memory_order_relaxed);
        int v = c.recv().value_or(0);
        finished_sum.fetch_add(v, std::memory_order_relaxed);
        finished.fetch_add(1, std::memory_order_relaxed);
        wg.done();
      });
    t_spawned = Clock::now();
    // All of them reach their receive (and park there: nothing was sent yet).
    all_parked = gt::eventually([&] { return parked.load() == N; });
    t_parked = Clock::now();
    EXPECT_EQ(finished.load(), 0);
    for (int i = 0; i < N; ++i) chans[i].send(i % 7);
    wg.wait();
    t_released = Clock::now();
  });
  // Information only (no thresholds): where the time went.
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  std::printf("spawn %lld ms, until all parked %lld ms, release+finish %lld ms, run() teardown %lld ms\n",
              static_cast<long long>(ms(t_spawned - t0)), static_cast<long long>(ms(t_parked - t_spawned)),
              static_cast<long long>(ms(t_released - t_parked)),
              static_cast<long long>(ms(Clock::now() - t_released)));
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(all_parked);
  EXPECT_EQ(finished.load(), N);
  long expect = 0;
  for (int i = 0; i < N; ++i) expect += i % 7;
  EXPECT_EQ(finished_sum.load(), expect);
}

#else

TEST(Million, MillionParkedTasksAllFinish) { GTEST_SKIP() << "Release builds only (too heavy under sanitizers)"; }

#endif

}  // namespace
