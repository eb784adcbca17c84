// goro::Semaphore (Go's x/sync/semaphore.Weighted): try_acquire, over-release and
// impossible requests, FIFO wake order, a large waiter at the head holding back smaller
// ones, the `semaphore` wait reason at the acquire line, plain threads, and a weighted
// stress on one and two workers that never exceeds the size.
#include <atomic>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using goro::diag::WaitReason;

TEST(Semaphore, TryAcquireTakesOnlyFreeUnits) {
  goro::Semaphore sem(3);
  EXPECT_EQ(sem.size(), 3);
  EXPECT_TRUE(sem.try_acquire(2));
  EXPECT_FALSE(sem.try_acquire(2));
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_FALSE(sem.try_acquire());
  EXPECT_EQ(sem.held(), 3);
  sem.release(3);
  EXPECT_EQ(sem.held(), 0);
  EXPECT_TRUE(sem.try_acquire(0));
  EXPECT_FALSE(sem.try_acquire(4));
}

TEST(Semaphore, ReleasingMoreThanHeldIsALogicError) {
  goro::Semaphore sem(5);
  sem.acquire(2);
  EXPECT_THROW(sem.release(3), std::logic_error);
  EXPECT_EQ(sem.held(), 2);  // unchanged
  sem.release(2);
  EXPECT_THROW(sem.release(), std::logic_error);
  EXPECT_THROW(sem.release(-1), std::invalid_argument);
}

TEST(Semaphore, ImpossibleRequestsThrowAtTheCallersLine) {
  EXPECT_THROW(goro::Semaphore(-1), std::invalid_argument);
  goro::Semaphore sem(4);
  try {
    sem.acquire(5);
    ADD_FAILURE() << "acquire(5) of a semaphore of 4 returned";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("semaphore_test.cpp"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sem.acquire(-1), std::invalid_argument);
  EXPECT_THROW((void)sem.try_acquire(-1), std::invalid_argument);
  EXPECT_EQ(sem.held(), 0);
}

TEST(Semaphore, AcquireParksAsSemaphoreAtItsLine) {
  goro::run([] {
    goro::Semaphore sem(1);
    sem.acquire();
    Channel<int> got(1);
    const unsigned line = __LINE__ + 2;
    const goro::TaskId waiter = goro::go_spawn([&sem, got]() mutable {
      sem.acquire();
      got.send(1);
    });
    ASSERT_TRUE(gt::wait_blocked(waiter, WaitReason::semaphore));
    auto info = gt::task_info(waiter);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->wait_site.line(), line);
    EXPECT_NE(std::string(info->wait_site.file_name()).find("semaphore_test.cpp"),
              std::string::npos);
    EXPECT_EQ(goro::diag::to_string(info->reason), "semaphore");
    EXPECT_FALSE(goro::diag::is_channel_wait(info->reason));
    std::ostringstream dump;
    goro::diag::dump_tasks(dump, goro::diag::tasks());
    EXPECT_NE(dump.str().find("[semaphore"), std::string::npos) << dump.str();
    EXPECT_NE(dump.str().find("semaphore_test.cpp:" + std::to_string(line)), std::string::npos)
        << dump.str();
    sem.release();
    GT_ASSERT_RECV(v, got);
    EXPECT_EQ(v, 1);
    EXPECT_EQ(sem.held(), 1);  // handed to the waiter
    sem.release();
  });
}

TEST(Semaphore, WaitersAreServedInArrivalOrder) {
  goro::run([] {
    goro::Semaphore sem(1);
    sem.acquire();
    Channel<int> order(8);
    for (int i = 0; i < 5; ++i) {
      const goro::TaskId id = goro::go_spawn([&sem, order, i]() mutable {
        sem.acquire();
        order.send(i);
        sem.release();
      });
      ASSERT_TRUE(gt::wait_blocked(id, WaitReason::semaphore));  // queued before the next
    }
    sem.release();
    for (int i = 0; i < 5; ++i) {
      GT_ASSERT_RECV(v, order);
      EXPECT_EQ(v, i);
    }
  });
}

TEST(Semaphore, ALargeWaiterAtTheHeadHoldsBackSmallerOnes) {
  goro::run([] {
    goro::Semaphore sem(10);
    sem.acquire(6);  // 4 free
    Channel<std::string> events(4);
    const goro::TaskId big = goro::go_spawn([&sem, events]() mutable {
      sem.acquire(10);
      events.send("big");
      sem.release(10);
    });
    ASSERT_TRUE(gt::wait_blocked(big, WaitReason::semaphore));
    const goro::TaskId small = goro::go_spawn([&sem, events]() mutable {
      sem.acquire(1);  // fits in the 4 free units, but the big one is first
      events.send("small");
      sem.release(1);
    });
    ASSERT_TRUE(gt::wait_blocked(small, WaitReason::semaphore));
    EXPECT_FALSE(sem.try_acquire(1));  // nobody jumps the queue
    EXPECT_EQ(sem.held(), 6);
    sem.release(6);
    GT_ASSERT_RECV(first, events);
    GT_ASSERT_RECV(second, events);
    EXPECT_EQ(first, "big");
    EXPECT_EQ(second, "small");
  });
}

TEST(Semaphore, PlainThreadsBlockAndAreWoken) {
  goro::Semaphore sem(2);
  sem.acquire(2);
  std::atomic<bool> acquired{false};
  std::thread waiter([&] {
    sem.acquire(2);
    acquired = true;
    sem.release(2);
  });
  gt::settle();
  EXPECT_FALSE(acquired.load());
  Channel<int> done(1);
  goro::go_spawn([&sem, done]() mutable {
    sem.release(2);
    done.send(1);
  });
  GT_ASSERT_RECV(d, done);
  waiter.join();
  EXPECT_TRUE(acquired.load());
  EXPECT_EQ(sem.held(), 0);
}

// Random weights from many tasks: never more than size() units at once, everyone served.
void weighted_stress(unsigned workers) {
  goro::run(
      [] {
        constexpr std::int64_t kSize = 10;
        goro::Semaphore sem(kSize);
        std::atomic<std::int64_t> in_use{0}, peak{0};
        const int tasks = gt::scaled(200, 20);
        const int rounds = gt::scaled(50, 5);
        goro::WaitGroup wg;
        for (int t = 0; t < tasks; ++t) {
          wg.add(1);
          goro::go_spawn([&, t] {
            std::minstd_rand rng(static_cast<unsigned>(t) + 1);
            for (int r = 0; r < rounds; ++r) {
              const std::int64_t n = 1 + static_cast<std::int64_t>(rng() % kSize);
              sem.acquire(n);
              const std::int64_t now = in_use.fetch_add(n) + n;
              std::int64_t seen = peak.load();
              while (now > seen && !peak.compare_exchange_weak(seen, now)) {
              }
              if (r % 3 == 0) goro::yield();
              in_use.fetch_sub(n);
              sem.release(n);
            }
            wg.done();
          });
        }
        wg.wait();
        EXPECT_LE(peak.load(), kSize);
        EXPECT_EQ(in_use.load(), 0);
        EXPECT_EQ(sem.held(), 0);
      },
      {.workers = workers});
}

TEST(Semaphore, WeightedStressOneWorker) { weighted_stress(1); }
TEST(Semaphore, WeightedStressTwoWorkers) { weighted_stress(2); }

TEST(Semaphore, CountByReasonSeesTheWaiters) {
  goro::run([] {
    goro::Semaphore sem(1);
    sem.acquire();
    std::vector<goro::TaskId> ids;
    for (int i = 0; i < 4; ++i)
      ids.push_back(goro::go_spawn([&sem] {
        sem.acquire();
        sem.release();
      }));
    for (goro::TaskId id : ids) ASSERT_TRUE(gt::wait_blocked(id, WaitReason::semaphore));
    const auto counts = goro::diag::count_by_reason();
    ASSERT_TRUE(counts.contains(WaitReason::semaphore));
    EXPECT_EQ(counts.at(WaitReason::semaphore), 4u);
    EXPECT_GE(counts.at(WaitReason::none), 1u);  // this task, running
    sem.release();
    EXPECT_TRUE(gt::eventually(
        [] { return !goro::diag::count_by_reason().contains(WaitReason::semaphore); }));
  });
}

}  // namespace

// ---------------------------------------------------------------------------------
// acquire(ctx, n): Go's Acquire(ctx, n)

namespace {

TEST(SemaphoreContext, ADoneContextTakesNothing) {
  goro::Semaphore sem(2);
  auto [ctx, cancel] = goro::with_cancel(goro::Context::background());
  EXPECT_TRUE(sem.acquire(ctx, 1));
  cancel();
  EXPECT_FALSE(sem.acquire(ctx, 1));  // even though a unit is free
  EXPECT_EQ(sem.held(), 1);
  EXPECT_THROW((void)sem.acquire(ctx, 3), std::invalid_argument);
  sem.release();
}

TEST(SemaphoreContext, GrantedWhileWaiting) {
  goro::run([] {
    goro::Semaphore sem(1);
    sem.acquire();
    Channel<bool> result(1);
    const goro::TaskId waiter = goro::go_spawn([&sem, result]() mutable {
      result.send(sem.acquire(goro::Context::background(), 1));
    });
    ASSERT_TRUE(gt::wait_blocked(waiter, WaitReason::select));
    sem.release();
    GT_ASSERT_RECV(ok, result);
    EXPECT_TRUE(ok);
    EXPECT_EQ(sem.held(), 1);
    sem.release();
  });
}

TEST(SemaphoreContext, CancelledHeadLetsTheWaitersBehindItThrough) {
  goro::run([] {
    goro::Semaphore sem(10);
    sem.acquire(6);
    auto [ctx, cancel] = goro::with_cancel(goro::Context::background());
    Channel<std::string> events(4);
    const goro::TaskId big = goro::go_spawn([&sem, ctx, events]() mutable {
      events.send(sem.acquire(ctx, 10) ? "big acquired" : "big gave up");
    });
    ASSERT_TRUE(gt::wait_blocked(big, WaitReason::select));
    const goro::TaskId small = goro::go_spawn([&sem, events]() mutable {
      sem.acquire(3);  // would fit, but waits behind the big request
      events.send("small acquired");
      sem.release(3);
    });
    ASSERT_TRUE(gt::wait_blocked(small, WaitReason::semaphore));
    cancel();
    // Giving up wakes the small waiter before the big task sends its event, so on two
    // workers the two events may arrive in either order.
    GT_ASSERT_RECV(first, events);
    GT_ASSERT_RECV(second, events);
    std::multiset<std::string> seen{first, second};
    EXPECT_EQ(seen, (std::multiset<std::string>{"big gave up", "small acquired"}));
    EXPECT_TRUE(gt::eventually([&] { return sem.held() == 6; }));
    sem.release(6);
  });
}

TEST(SemaphoreContext, TimesOutOnAPlainThread) {
  goro::Semaphore sem(1);
  sem.acquire();
  auto [ctx, cancel] = goro::with_timeout(goro::Context::background(), 5ms);
  EXPECT_FALSE(sem.acquire(ctx, 1));
  cancel();
  EXPECT_EQ(sem.held(), 1);
  sem.release();
  EXPECT_TRUE(sem.try_acquire());  // the queue is empty again
  sem.release();
}

}  // namespace
