// The scheduler's one-shot timers: exactly one of fire/drop runs; cancel before the
// deadline drops, cancel after firing reports false; handles outlive their runtime.
#include <goro/detail/timer.hpp>

#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;

struct Probe {
  std::atomic<int> fired{0};
  std::atomic<int> dropped{0};
  goro::Channel<int> done{1};
};

void fire(void* p) {
  auto* probe = static_cast<Probe*>(p);
  probe->fired.fetch_add(1);
  probe->done.try_send(1);
}
void drop(void* p) { static_cast<Probe*>(p)->dropped.fetch_add(1); }

TEST(Timer, CancelBeforeTheDeadlineDropsInsteadOfFiring) {
  Probe probe;
  auto timer = goro::detail::add_timer(goro::detail::now_ns() + 3'600'000'000'000, fire, drop, &probe);
  EXPECT_TRUE(goro::detail::cancel_timer(timer));
  EXPECT_EQ(probe.dropped.load(), 1);
  EXPECT_EQ(probe.fired.load(), 0);
  EXPECT_FALSE(goro::detail::cancel_timer(timer)) << "a timer is cancelled at most once";
}

TEST(Timer, CancelAfterFiringReportsFalse) {
  Probe probe;
  auto timer = goro::detail::add_timer(goro::detail::now_ns(), fire, drop, &probe);
  auto got = gt::recv_for(probe.done);
  ASSERT_FALSE(got.timed_out);
  EXPECT_FALSE(goro::detail::cancel_timer(timer));
  EXPECT_EQ(probe.fired.load(), 1);
  EXPECT_EQ(probe.dropped.load(), 0);
}

TEST(Timer, HandleOutlivesItsRuntime) {
  Probe probe;
  goro::detail::TimerHandle timer;
  goro::run([&] {
    timer = goro::detail::add_timer(goro::detail::now_ns() + 3'600'000'000'000, fire, drop, &probe);
  });
  EXPECT_EQ(probe.dropped.load(), 1) << "run() drops pending timers at its end";
  EXPECT_FALSE(goro::detail::cancel_timer(timer));
  EXPECT_EQ(probe.fired.load(), 0);
}

TEST(Timer, EarliestOfManyFiresFirstAndCancelledOnesNever) {
  constexpr int n = 50;
  std::vector<std::unique_ptr<Probe>> probes;
  std::vector<goro::detail::TimerHandle> timers;
  const auto base = goro::detail::now_ns();
  for (int i = 0; i < n; ++i) {
    probes.push_back(std::make_unique<Probe>());
    timers.push_back(goro::detail::add_timer(base + (i % 2 ? 3'600'000'000'000 : 1'000'000),
                                             fire, drop, probes.back().get()));
  }
  for (int i = 1; i < n; i += 2) EXPECT_TRUE(goro::detail::cancel_timer(timers[i]));
  for (int i = 0; i < n; i += 2) ASSERT_FALSE(gt::recv_for(probes[i]->done).timed_out);
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(probes[i]->fired.load(), i % 2 ? 0 : 1) << i;
    EXPECT_EQ(probes[i]->dropped.load(), i % 2 ? 1 : 0) << i;
  }
}

}  // namespace
