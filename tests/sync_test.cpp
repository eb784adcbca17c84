// WaitGroup and Mutex (Go's sync.WaitGroup and sync.Mutex).
#include "goro_test.hpp"

#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using goro::diag::WaitReason;

// ---------------------------------------------------------------------------
// WaitGroup

TEST(WaitGroup, WaitWithZeroCounterReturnsAtOnce) {
  goro::WaitGroup wg;
  wg.wait();
  Channel<int> done(1);
  goro::go_spawn([done]() mutable {
    goro::WaitGroup local;
    local.wait();
    done.send(1);
  });
  EXPECT_EQ(gt::drain_n(done, 1), 1u);
}

TEST(WaitGroup, PlainThreadWaitsForTasks) {
  const int n = 100;
  goro::WaitGroup wg;
  std::atomic<int> work{0};
  for (int i = 0; i < n; ++i) {
    wg.add(1);
    goro::go_spawn([&] {
      goro::yield();
      work.fetch_add(1);
      wg.done();
    });
  }
  wg.wait();
  EXPECT_EQ(work.load(), n);
}

TEST(WaitGroup, AddManyAtOnce) {
  goro::WaitGroup wg;
  std::atomic<int> work{0};
  wg.add(10);
  for (int i = 0; i < 10; ++i)
    goro::go_spawn([&] {
      work.fetch_add(1);
      wg.done();
    });
  wg.wait();
  EXPECT_EQ(work.load(), 10);
}

TEST(WaitGroup, TaskWaitsForThreads) {
  goro::WaitGroup wg;
  std::atomic<int> work{0};
  Channel<int> result(1);
  wg.add(3);
  goro::go_spawn([&wg, &work, result]() mutable {
    wg.wait();
    result.send(work.load());
  });
  std::vector<std::thread> ts;
  for (int i = 0; i < 3; ++i)
    ts.emplace_back([&] {
      work.fetch_add(1);
      wg.done();
    });
  for (auto& t : ts) t.join();
  GT_ASSERT_RECV(seen, result);
  EXPECT_EQ(seen, 3);
}

TEST(WaitGroup, WaitBlocksUntilTheCounterIsZero) {
  goro::WaitGroup wg;
  wg.add(2);
  Channel<int> released(1);
  auto id = goro::go_spawn([&wg, released]() mutable {
    wg.wait();
    released.send(1);
  });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::wait_group));
  wg.done();
  // Still one to go: the waiter must stay parked.
  goro::sleep_for(5ms);
  EXPECT_EQ(released.size(), 0u);
  auto info = gt::task_info(id);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason, WaitReason::wait_group);
  wg.done();
  EXPECT_EQ(gt::drain_n(released, 1), 1u);
}

TEST(WaitGroup, ManyWaitersTasksAndThreads) {
  auto wg = std::make_shared<goro::WaitGroup>();
  wg->add(1);
  Channel<int> released(16);
  std::vector<goro::TaskId> ids;
  for (int i = 0; i < 8; ++i)
    ids.push_back(goro::go_spawn([wg, released]() mutable {
      wg->wait();
      released.send(1);
    }));
  std::vector<std::thread> ts;
  for (int i = 0; i < 2; ++i)
    ts.emplace_back([wg, released]() mutable {
      wg->wait();
      released.send(1);
    });
  for (auto id : ids) ASSERT_TRUE(gt::wait_blocked(id, WaitReason::wait_group));
  EXPECT_EQ(released.size(), 0u);
  wg->done();
  EXPECT_EQ(gt::drain_n(released, 10), 10u);
  for (auto& t : ts) t.join();
}

TEST(WaitGroup, ReusableAfterWaitReturns) {
  goro::WaitGroup wg;
  for (int round = 0; round < 20; ++round) {
    std::atomic<int> work{0};
    wg.add(4);
    for (int i = 0; i < 4; ++i)
      goro::go_spawn([&] {
        work.fetch_add(1);
        wg.done();
      });
    wg.wait();
    EXPECT_EQ(work.load(), 4) << "round " << round;
  }
}

// As in Go, a WaitGroup may be destroyed as soon as wait() returns, even while
// the last done() call is still on its way out. Heap-allocated so that ASan
// catches any touch after the delete.
TEST(WaitGroup, DestroyedAsSoonAsWaitReturnsPlainThreadWaiter) {
  const int rounds = gt::scaled(3000, 200);
  for (int r = 0; r < rounds; ++r) {
    auto* wg = new goro::WaitGroup;
    wg->add(2);
    goro::go_spawn([wg] { wg->done(); });
    goro::go_spawn([wg] { wg->done(); });
    wg->wait();
    delete wg;
  }
  SUCCEED();
}

TEST(WaitGroup, DestroyedAsSoonAsWaitReturnsTaskWaiter) {
  const int rounds = gt::scaled(3000, 200);
  Channel<int> done(1);
  goro::go_spawn([done, rounds]() mutable {
    for (int r = 0; r < rounds; ++r) {
      auto wg = std::make_unique<goro::WaitGroup>();
      wg->add(2);
      goro::WaitGroup* p = wg.get();
      goro::go_spawn([p] { p->done(); });
      std::thread([p] { p->done(); }).detach();
      wg->wait();
      wg.reset();
    }
    done.send(1);
  });
  EXPECT_EQ(gt::drain_n(done, 1), 1u);
}

TEST(WaitGroup, OnTheWaitersStack) {
  // The common shape: the WaitGroup lives in the waiting task's frame.
  const int rounds = gt::scaled(2000, 100);
  Channel<long> out(1);
  goro::go_spawn([out, rounds]() mutable {
    long total = 0;
    for (int r = 0; r < rounds; ++r) {
      goro::WaitGroup wg;
      std::atomic<int> sum{0};
      for (int i = 1; i <= 3; ++i) {
        wg.add(1);
        goro::go_spawn([&wg, &sum, i] {
          sum.fetch_add(i);
          wg.done();
        });
      }
      wg.wait();
      total += sum.load();
    }
    out.send(total);
  });
  GT_ASSERT_RECV(total, out);
  EXPECT_EQ(total, 6L * rounds);
}

// ---------------------------------------------------------------------------
// Mutex

TEST(Mutex, TryLock) {
  goro::Mutex mu;
  EXPECT_TRUE(mu.try_lock());
  EXPECT_FALSE(mu.try_lock());
  mu.unlock();
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

void mutual_exclusion(unsigned workers) {
  const int tasks = 8;
  const int iters = gt::scaled(5000, 200);
  long counter = 0;  // deliberately not atomic: the mutex must protect it
  int inside = 0;
  int overlap = 0;
  int rc = goro::run(
      [&] {
        goro::Mutex mu;
        goro::WaitGroup wg;
        for (int t = 0; t < tasks; ++t) {
          wg.add(1);
          goro::go_spawn([&, t] {
            for (int i = 0; i < iters; ++i) {
              mu.lock();
              if (++inside != 1) ++overlap;
              long c = counter;
              if ((i + t) % 64 == 0) goro::yield();  // park other lockers while held
              counter = c + 1;
              --inside;
              mu.unlock();
            }
            wg.done();
          });
        }
        wg.wait();
      },
      goro::Config{.workers = workers});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(overlap, 0);
  EXPECT_EQ(counter, static_cast<long>(tasks) * iters);
}

TEST(Mutex, MutualExclusionOneWorker) { mutual_exclusion(1); }
TEST(Mutex, MutualExclusionTwoWorkers) { mutual_exclusion(2); }

TEST(Mutex, MutualExclusionTasksAndPlainThreads) {
  const int iters = gt::scaled(5000, 200);
  goro::Mutex mu;
  long counter = 0;
  goro::WaitGroup wg;
  for (int t = 0; t < 4; ++t) {
    wg.add(1);
    goro::go_spawn([&] {
      for (int i = 0; i < iters; ++i) {
        std::lock_guard<goro::Mutex> lk(mu);
        ++counter;
      }
      wg.done();
    });
  }
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < iters; ++i) {
        std::lock_guard<goro::Mutex> lk(mu);
        ++counter;
      }
    });
  for (auto& t : ts) t.join();
  wg.wait();
  std::lock_guard<goro::Mutex> lk(mu);
  EXPECT_EQ(counter, 6L * iters);
}

TEST(Mutex, AWaitingTaskParksWithReasonMutex) {
  goro::Mutex mu;
  mu.lock();
  Channel<int> got(1);
  auto id = goro::go_spawn([&mu, got]() mutable {
    mu.lock();
    got.send(1);
    mu.unlock();
  });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::mutex));
  EXPECT_EQ(got.size(), 0u);
  mu.unlock();
  EXPECT_EQ(gt::drain_n(got, 1), 1u);
  EXPECT_TRUE(gt::eventually([&] { return !gt::task_info(id).has_value(); }));
}

TEST(Mutex, AnyTaskMayUnlock) {
  auto mu = std::make_shared<goro::Mutex>();
  Channel<int> locked, unlocked(1);
  goro::go_spawn([mu, locked]() mutable {
    mu->lock();
    locked.send(1);  // returns holding the lock
  });
  goro::go_spawn([mu, locked, unlocked]() mutable {
    locked.recv();
    mu->unlock();  // a different task unlocks
    unlocked.send(1);
  });
  ASSERT_EQ(gt::drain_n(unlocked, 1), 1u);
  EXPECT_TRUE(mu->try_lock());
  // ... and a plain thread may unlock what a task locked.
  Channel<int> relocked(1);
  mu->unlock();
  goro::go_spawn([mu, relocked]() mutable {
    mu->lock();
    relocked.send(1);
  });
  ASSERT_EQ(gt::drain_n(relocked, 1), 1u);
  std::thread([mu] { mu->unlock(); }).join();
  EXPECT_TRUE(mu->try_lock());
  mu->unlock();
}

TEST(Mutex, PlainThreadBlocksUntilATaskUnlocks) {
  goro::Mutex mu;
  Channel<int> holding(1);
  Channel<int> release;
  goro::go_spawn([&mu, holding, release]() mutable {
    mu.lock();
    holding.send(1);
    release.recv();
    mu.unlock();
  });
  ASSERT_EQ(gt::drain_n(holding, 1), 1u);
  std::atomic<bool> acquired{false};
  std::thread t([&] {
    mu.lock();
    acquired = true;
    mu.unlock();
  });
  gt::settle();
  EXPECT_FALSE(acquired.load()) << "a plain thread got a Mutex a task holds";
  release.send(1);
  t.join();
  EXPECT_TRUE(acquired.load());
}

TEST(Mutex, StandardLockWrappers) {
  goro::Mutex mu;
  {
    std::lock_guard<goro::Mutex> g(mu);
    EXPECT_FALSE(mu.try_lock());
  }
  {
    std::unique_lock<goro::Mutex> l(mu);
    EXPECT_TRUE(l.owns_lock());
    l.unlock();
    EXPECT_FALSE(l.owns_lock());
    EXPECT_TRUE(l.try_lock());
  }
  {
    std::unique_lock<goro::Mutex> l(mu, std::defer_lock);
    EXPECT_FALSE(l.owns_lock());
    l.lock();
    std::unique_lock<goro::Mutex> other(mu, std::try_to_lock);
    EXPECT_FALSE(other.owns_lock());
  }
  {
    goro::Mutex mu2;
    std::scoped_lock both(mu, mu2);
    EXPECT_FALSE(mu2.try_lock());
  }
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();

  // Inside a task too.
  Channel<bool> ok(1);
  goro::go_spawn([&mu, ok]() mutable {
    std::unique_lock<goro::Mutex> l(mu);
    bool held = !mu.try_lock();
    l.unlock();
    ok.send(held);
  });
  GT_ASSERT_RECV(held, ok);
  EXPECT_TRUE(held);
}

TEST(Mutex, HandOffBetweenManyTasksOnOneWorker) {
  // Tasks that block on the Mutex must park (not spin): one worker, the holder
  // yields while holding it, and everything still finishes.
  long counter = 0;
  const int tasks = 50;
  int rc = goro::run(
      [&] {
        goro::Mutex mu;
        goro::WaitGroup wg;
        for (int t = 0; t < tasks; ++t) {
          wg.add(1);
          goro::go_spawn([&] {
            for (int i = 0; i < 20; ++i) {
              std::lock_guard<goro::Mutex> lk(mu);
              goro::yield();
              ++counter;
            }
            wg.done();
          });
        }
        wg.wait();
      },
      goro::Config{.workers = 1});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(counter, tasks * 20L);
}

}  // namespace
