// The timer heap on its own (runtime/src/timer_heap.hpp): deadline order with insertion
// order among equal deadlines, cancel anywhere in the heap, stale ids, the earliest-deadline
// mirror, and a randomized comparison with a sorted model.
#include "timer_heap.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <cstdint>
#include <map>
#include <random>
#include <utility>
#include <vector>

namespace {

using goro::detail::TimerHeap;

// Callbacks record their payload (a small integer) into this log.
std::vector<std::intptr_t>* g_log = nullptr;
void record(void* arg) { g_log->push_back(reinterpret_cast<std::intptr_t>(arg)); }
void* tag(std::intptr_t n) { return reinterpret_cast<void*>(n); }

std::vector<std::intptr_t> pop_all(TimerHeap& heap, std::int64_t now) {
  std::vector<std::intptr_t> fired;
  g_log = &fired;
  TimerHeap::Callback due[4];
  for (std::size_t n; (n = heap.pop_due(now, due, 4)) > 0;)
    for (std::size_t i = 0; i < n; ++i) due[i].run();
  g_log = nullptr;
  return fired;
}

TEST(TimerHeap, EmptyHeapHasNoEarliestDeadline) {
  TimerHeap heap;
  EXPECT_EQ(heap.earliest(), TimerHeap::kEmpty);
  EXPECT_EQ(heap.size(), 0u);
  EXPECT_TRUE(pop_all(heap, TimerHeap::kEmpty).empty());
}

TEST(TimerHeap, PopsInDeadlineOrderAndEqualDeadlinesInInsertionOrder) {
  TimerHeap heap;
  heap.add(30, record, nullptr, tag(3));
  heap.add(10, record, nullptr, tag(1));
  heap.add(20, record, nullptr, tag(20));
  heap.add(20, record, nullptr, tag(21));
  heap.add(20, record, nullptr, tag(22));
  EXPECT_EQ(heap.earliest(), 10);
  EXPECT_EQ(heap.size(), 5u);
  EXPECT_EQ(pop_all(heap, 19), (std::vector<std::intptr_t>{1}));
  EXPECT_EQ(heap.earliest(), 20);
  EXPECT_EQ(pop_all(heap, 100), (std::vector<std::intptr_t>{20, 21, 22, 3}));
  EXPECT_EQ(heap.earliest(), TimerHeap::kEmpty);
}

TEST(TimerHeap, AddReportsWhetherTheNewTimerIsTheEarliest) {
  TimerHeap heap;
  EXPECT_TRUE(heap.add(50, record, nullptr, tag(0)).earliest);
  EXPECT_FALSE(heap.add(60, record, nullptr, tag(0)).earliest);
  EXPECT_FALSE(heap.add(50, record, nullptr, tag(0)).earliest) << "ties go after the first";
  EXPECT_TRUE(heap.add(40, record, nullptr, tag(0)).earliest);
  EXPECT_EQ(heap.earliest(), 40);
}

TEST(TimerHeap, CancelHandsBackTheDropCallbackOnce) {
  TimerHeap heap;
  const auto id = heap.add(10, record, record, tag(7)).id;
  TimerHeap::Callback drop;
  ASSERT_TRUE(heap.cancel(id, &drop));
  EXPECT_EQ(drop.arg, tag(7));
  EXPECT_EQ(heap.size(), 0u);
  EXPECT_EQ(heap.earliest(), TimerHeap::kEmpty);
  EXPECT_FALSE(heap.cancel(id, &drop)) << "a timer is cancelled at most once";
  EXPECT_TRUE(pop_all(heap, 100).empty());
}

TEST(TimerHeap, IdsOfFiredTimersCancelNothingEvenWhenTheirSlotIsReused) {
  TimerHeap heap;
  const auto fired_id = heap.add(10, record, nullptr, tag(1)).id;
  EXPECT_EQ(pop_all(heap, 10), (std::vector<std::intptr_t>{1}));
  const auto reused_id = heap.add(20, record, nullptr, tag(2)).id;
  EXPECT_NE(fired_id, reused_id);
  TimerHeap::Callback drop;
  EXPECT_FALSE(heap.cancel(fired_id, &drop)) << "the stale id must not cancel the new timer";
  EXPECT_EQ(heap.size(), 1u);
  EXPECT_TRUE(heap.cancel(reused_id, &drop));
  EXPECT_FALSE(heap.cancel(0, &drop)) << "an id never issued";
}

TEST(TimerHeap, CancellingTheEarliestMovesTheMirrorToTheNext) {
  TimerHeap heap;
  const auto first = heap.add(10, record, nullptr, tag(1)).id;
  heap.add(30, record, nullptr, tag(3));
  heap.add(20, record, nullptr, tag(2));
  TimerHeap::Callback drop;
  ASSERT_TRUE(heap.cancel(first, &drop));
  EXPECT_EQ(heap.earliest(), 20);
  EXPECT_EQ(pop_all(heap, 100), (std::vector<std::intptr_t>{2, 3}));
}

TEST(TimerHeap, TakeAllReturnsEveryDropAndEmptiesTheHeap) {
  TimerHeap heap;
  for (int i = 0; i < 10; ++i) heap.add(100 - i, record, record, tag(i));
  auto drops = heap.take_all();
  ASSERT_EQ(drops.size(), 10u);
  std::vector<std::intptr_t> args;
  for (auto& d : drops) args.push_back(reinterpret_cast<std::intptr_t>(d.arg));
  std::sort(args.begin(), args.end());
  EXPECT_EQ(args, (std::vector<std::intptr_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(heap.size(), 0u);
  EXPECT_EQ(heap.earliest(), TimerHeap::kEmpty);
}

// Random adds, cancels and pops against a model (a map on (deadline, insertion order)):
// the heap must fire exactly the model's timers in the model's order.
TEST(TimerHeap, MatchesASortedModelUnderRandomAddsCancelsAndPops) {
  std::mt19937_64 rng(12345);
  TimerHeap heap;
  std::map<std::pair<std::int64_t, std::intptr_t>, std::uint64_t> model;  // -> heap id
  std::intptr_t next_tag = 0;
  std::int64_t now = 0;
  for (int step = 0; step < 20000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 5) {
      const std::int64_t when = now + static_cast<std::int64_t>(rng() % 1000);
      const std::intptr_t t = next_tag++;
      model.emplace(std::make_pair(when, t), heap.add(when, record, nullptr, tag(t)).id);
    } else if (op < 8 && !model.empty()) {
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng() % model.size()));
      TimerHeap::Callback drop;
      ASSERT_TRUE(heap.cancel(it->second, &drop));
      EXPECT_EQ(drop.arg, tag(it->first.second));
      model.erase(it);
    } else {
      now += static_cast<std::int64_t>(rng() % 300);
      std::vector<std::intptr_t> want;
      while (!model.empty() && model.begin()->first.first <= now) {
        want.push_back(model.begin()->first.second);
        model.erase(model.begin());
      }
      ASSERT_EQ(pop_all(heap, now), want) << "step " << step;
    }
    ASSERT_EQ(heap.size(), model.size());
    ASSERT_EQ(heap.earliest(), model.empty() ? TimerHeap::kEmpty : model.begin()->first.first);
  }
}

// Adders cancel half of their timers while a popper fires the due ones: every timer ends
// exactly once, fired (by the popper) or dropped (by a successful cancel), never both.
TEST(TimerHeap, ConcurrentAddCancelAndPopEndEveryTimerExactlyOnce) {
  constexpr int kAdders = 2;
  constexpr int kPerAdder = 20000;
  TimerHeap heap;
  std::vector<std::atomic<int>> ended(kAdders * kPerAdder);
  std::atomic<bool> adding{true};
  auto end_one = [](void* p) { static_cast<std::atomic<int>*>(p)->fetch_add(1); };
  std::vector<std::thread> adders;
  for (int a = 0; a < kAdders; ++a) {
    adders.emplace_back([&, a] {
      for (int i = 0; i < kPerAdder; ++i) {
        auto* slot = &ended[a * kPerAdder + i];
        // Deadlines in the past and the far future, so both the popper and cancel win some.
        const auto id = heap.add(i % 3 == 0 ? TimerHeap::kEmpty - 1 : i, end_one, end_one, slot).id;
        TimerHeap::Callback drop;
        if (i % 2 == 0 && heap.cancel(id, &drop)) drop.run();
      }
    });
  }
  std::thread popper([&] {
    TimerHeap::Callback due[16];
    while (adding.load() || heap.earliest() < TimerHeap::kEmpty - 1) {
      const std::size_t n = heap.pop_due(kPerAdder, due, 16);
      for (std::size_t i = 0; i < n; ++i) due[i].run();
    }
  });
  for (auto& t : adders) t.join();
  adding.store(false);
  popper.join();
  for (const TimerHeap::Callback& drop : heap.take_all()) drop.run();
  for (std::size_t i = 0; i < ended.size(); ++i)
    ASSERT_EQ(ended[i].load(), 1) << "timer " << i;
  EXPECT_EQ(heap.size(), 0u);
}

}  // namespace
