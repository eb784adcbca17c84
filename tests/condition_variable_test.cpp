// goro::ConditionVariable (Go's sync.Cond, with std::condition_variable_any's interface):
// wait, wait_for and notify, no lost or remembered notifies, the wait reasons and sites
// diag shows, plain threads, goro::Deadlock, and a bounded-queue stress.
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "blocked_waits.hpp"
#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using goro::diag::WaitReason;

TEST(ConditionVariable, WaitReleasesTheLockAndNotifyOneWakesOneWaiter) {
  auto mu = std::make_shared<goro::Mutex>();
  auto cv = std::make_shared<goro::ConditionVariable>();
  auto tickets = std::make_shared<int>(0);  // guarded by *mu
  Channel<int> woken(4);
  std::vector<goro::TaskId> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(goro::go_spawn([mu, cv, tickets, woken]() mutable {
      std::unique_lock lock(*mu);
      cv->wait(lock, [&] { return *tickets > 0; });
      EXPECT_TRUE(lock.owns_lock());
      --*tickets;
      woken.send(1);
    }));
  for (auto id : ids) ASSERT_TRUE(gt::wait_blocked(id, WaitReason::cond_wait));
  // Waiting released the mutex.
  ASSERT_TRUE(mu->try_lock());
  *tickets = 1;
  mu->unlock();
  cv->notify_one();
  EXPECT_EQ(gt::drain_n(woken, 1), 1u);
  goro::sleep_for(10ms);  // the other two must still wait (no timing claim: they never wake)
  EXPECT_EQ(woken.size(), 0u);
  {
    std::lock_guard lock(*mu);
    *tickets = 2;
  }
  cv->notify_all();
  EXPECT_EQ(gt::drain_n(woken, 2), 2u);
}

TEST(ConditionVariable, NotifyWithNoWaitersIsNotRemembered) {
  goro::Mutex mu;
  goro::ConditionVariable cv;
  cv.notify_one();
  cv.notify_all();
  std::unique_lock lock(mu);
  EXPECT_EQ(cv.wait_for(lock, 1ms), std::cv_status::timeout);
  EXPECT_TRUE(lock.owns_lock());
}

TEST(ConditionVariable, WaitForTimesOutWithTheLockHeld) {
  auto mu = std::make_shared<goro::Mutex>();
  auto cv = std::make_shared<goro::ConditionVariable>();
  Channel<int> result(4);
  goro::go_spawn([mu, cv, result]() mutable {
    std::unique_lock lock(*mu);
    const auto start = std::chrono::steady_clock::now();
    const std::cv_status status = cv->wait_for(lock, 5ms);
    const bool never_early = std::chrono::steady_clock::now() - start >= 5ms;
    const bool held = lock.owns_lock() && !mu->try_lock();
    result.send(status == std::cv_status::timeout ? 1 : 0);
    result.send(never_early && held ? 1 : 0);
    // The predicate overload returns the predicate: false when it timed out...
    result.send(cv->wait_for(lock, 1ms, [] { return false; }) ? 0 : 1);
    // ...true at once when it already holds.
    result.send(cv->wait_for(lock, 1h, [] { return true; }) ? 1 : 0);
  });
  for (int i = 0; i < 4; ++i) {
    GT_ASSERT_RECV(ok, result);
    EXPECT_EQ(ok, 1) << "check " << i;
  }
}

TEST(ConditionVariable, WaitForNotifiedInTime) {
  auto mu = std::make_shared<goro::Mutex>();
  auto cv = std::make_shared<goro::ConditionVariable>();
  auto ready = std::make_shared<bool>(false);
  Channel<int> result(2);
  auto waiter = goro::go_spawn([mu, cv, ready, result]() mutable {
    std::unique_lock lock(*mu);
    result.send(cv->wait_for(lock, 1h) == std::cv_status::no_timeout ? 1 : 0);
    result.send(cv->wait_for(lock, 1h, [&] { return *ready; }) ? 1 : 0);
  });
  ASSERT_TRUE(gt::wait_blocked(waiter, WaitReason::cond_wait));
  cv->notify_one();
  GT_ASSERT_RECV(first, result);
  EXPECT_EQ(first, 1);
  ASSERT_TRUE(gt::wait_blocked(waiter, WaitReason::cond_wait));
  {
    std::lock_guard lock(*mu);
    *ready = true;
  }
  cv->notify_all();
  GT_ASSERT_RECV(second, result);
  EXPECT_EQ(second, 1);
}

TEST(ConditionVariable, ATimedOutWaiterDoesNotSwallowANotify) {
  auto mu = std::make_shared<goro::Mutex>();
  auto cv = std::make_shared<goro::ConditionVariable>();
  Channel<int> timed_out(1), notified(1);
  // Queued first, times out first; then the untimed waiter queues behind it.
  goro::go_spawn([mu, cv, timed_out]() mutable {
    std::unique_lock lock(*mu);
    timed_out.send(cv->wait_for(lock, 1ms) == std::cv_status::timeout ? 1 : 0);
  });
  GT_ASSERT_RECV(first, timed_out);
  EXPECT_EQ(first, 1);
  auto waiter = goro::go_spawn([mu, cv, notified]() mutable {
    std::unique_lock lock(*mu);
    cv->wait(lock);
    notified.send(1);
  });
  ASSERT_TRUE(gt::wait_blocked(waiter, WaitReason::cond_wait));
  cv->notify_one();
  GT_ASSERT_RECV(second, notified);
  EXPECT_EQ(second, 1);
}

TEST(ConditionVariable, RelockAfterNotifyParksAsMutexAtTheWaitLine) {
  auto mu = std::make_shared<goro::Mutex>();
  auto cv = std::make_shared<goro::ConditionVariable>();
  Channel<int> done(1);
  const unsigned wait_line = __LINE__ + 3;
  auto waiter = goro::go_spawn([mu, cv, done]() mutable {
    std::unique_lock lock(*mu);
    cv->wait(lock);
    done.send(lock.owns_lock() ? 1 : 0);
  });
  gt::expect_parked_at(waiter, WaitReason::cond_wait, wait_line);
  mu->lock();
  cv->notify_one();  // woken, but the mutex is ours: it parks again, on the mutex
  gt::expect_parked_at(waiter, WaitReason::mutex, wait_line);
  mu->unlock();
  GT_ASSERT_RECV(owned, done);
  EXPECT_EQ(owned, 1);
}

TEST(ConditionVariable, PlainThreadWaitsAndTaskNotifies) {
  goro::Mutex mu;
  goro::ConditionVariable cv;
  bool ready = false;  // guarded by mu
  goro::go_spawn([&] {
    goro::sleep_for(1ms);
    {
      std::lock_guard lock(mu);
      ready = true;
    }
    cv.notify_one();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return ready; });
  EXPECT_TRUE(ready);
  EXPECT_TRUE(lock.owns_lock());
  // A plain thread's wait_for times out too (its timer runs in the default runtime).
  // On a CV of its own: the task's notify_one above may still be on its way.
  goro::ConditionVariable nobody_notifies;
  EXPECT_EQ(nobody_notifies.wait_for(lock, 1ms), std::cv_status::timeout);
  EXPECT_TRUE(lock.owns_lock());
  lock.unlock();

  // And a task waits while a plain thread notifies.
  bool flag = false;
  Channel<int> done(1);
  goro::go_spawn([&, done]() mutable {
    {
      std::unique_lock l(mu);
      cv.wait(l, [&] { return flag; });
    }
    done.send(1);  // after the unlock: `mu` goes with this frame once main has the value
  });
  std::thread notifier([&] {
    {
      std::lock_guard l(mu);
      flag = true;
    }
    cv.notify_all();
  });
  notifier.join();
  EXPECT_EQ(gt::drain_n(done, 1), 1u);
}

TEST(ConditionVariable, WorksWithOtherLockables) {
  // condition_variable_any style: a std::mutex, and a goro::Mutex used directly.
  std::mutex std_mu;
  goro::Mutex goro_mu;
  goro::ConditionVariable cv;
  {
    std::unique_lock lock(std_mu);
    EXPECT_EQ(cv.wait_for(lock, 1ms), std::cv_status::timeout);
    EXPECT_TRUE(lock.owns_lock());
  }
  goro_mu.lock();
  EXPECT_EQ(cv.wait_for(goro_mu, 1ms), std::cv_status::timeout);
  EXPECT_FALSE(goro_mu.try_lock());  // relocked
  goro_mu.unlock();
  // Both sides of an RWMutex: each relocks the way it was locked.
  goro::RWMutex rw;
  {
    std::shared_lock read(rw);
    EXPECT_EQ(cv.wait_for(read, 1ms), std::cv_status::timeout);
    EXPECT_TRUE(read.owns_lock());
    EXPECT_TRUE(rw.try_lock_shared());  // still only read-locked
    rw.unlock_shared();
    EXPECT_FALSE(rw.try_lock());
  }
  {
    std::unique_lock write(rw);
    EXPECT_EQ(cv.wait_for(write, 1ms), std::cv_status::timeout);
    EXPECT_TRUE(write.owns_lock());
    EXPECT_FALSE(rw.try_lock_shared());
  }
  EXPECT_TRUE(rw.try_lock());
  rw.unlock();
}

// A bounded queue (capacity 4) between producers and consumers, all on a Mutex and two
// condition variables, tasks and plain threads mixed: every item arrives exactly once,
// so no notify was lost (a lost one would leave a consumer or producer parked for good
// and the WaitGroup would never finish: the hang watchdog would fire).
void bounded_queue_stress(unsigned workers, bool timed_waits) {
  const int producers = 6, consumers = 5;
  const int per_producer = gt::scaled(3000, 200);
  const long total = static_cast<long>(producers) * per_producer;
  int rc = goro::run(
      [&] {
        goro::Mutex mu;
        goro::ConditionVariable not_empty, not_full;
        std::deque<long> queue;        // guarded by mu
        long consumed = 0, sum = 0;    // guarded by mu
        const std::size_t capacity = 4;
        std::atomic<long> timeouts{0};
        auto wait = [&](goro::ConditionVariable& cv, std::unique_lock<goro::Mutex>& lock,
                        auto pred) {
          if (!timed_waits) return cv.wait(lock, pred);
          while (!cv.wait_for(lock, 50us, pred)) timeouts++;
        };
        auto consume = [&] {
          for (;;) {
            std::unique_lock lock(mu);
            wait(not_empty, lock, [&] { return !queue.empty() || consumed == total; });
            if (queue.empty()) return;  // all produced and taken
            sum += queue.front();
            queue.pop_front();
            ++consumed;
            const bool last = consumed == total;
            lock.unlock();
            not_full.notify_one();
            if (last) not_empty.notify_all();  // the others see the end
          }
        };
        auto produce = [&](int p) {
          for (int i = 1; i <= per_producer; ++i) {
            std::unique_lock lock(mu);
            wait(not_full, lock, [&] { return queue.size() < capacity; });
            queue.push_back(static_cast<long>(p) * per_producer + i);
            lock.unlock();
            not_empty.notify_one();
          }
        };
        goro::WaitGroup wg;
        wg.add(producers + consumers - 2);  // one of each is a plain thread
        for (int c = 0; c < consumers - 1; ++c)
          goro::go_spawn([&] { consume(); wg.done(); });
        for (int p = 0; p < producers - 1; ++p)
          goro::go_spawn([&, p] { produce(p); wg.done(); });
        // One producer and one consumer are plain threads.
        std::thread plain_consumer(consume);
        std::thread plain_producer([&] { produce(producers - 1); });
        wg.wait();
        plain_consumer.join();
        plain_producer.join();
        long expected_sum = 0;
        for (int p = 0; p < producers; ++p)
          for (int i = 1; i <= per_producer; ++i) expected_sum += static_cast<long>(p) * per_producer + i;
        std::lock_guard lock(mu);
        EXPECT_EQ(consumed, total);
        EXPECT_EQ(sum, expected_sum);
        EXPECT_TRUE(queue.empty());
      },
      goro::Config{.workers = workers});
  EXPECT_EQ(rc, 0);
}

TEST(ConditionVariable, BoundedQueueNoLostNotifyOneWorker) { bounded_queue_stress(1, false); }
TEST(ConditionVariable, BoundedQueueNoLostNotifyTwoWorkers) { bounded_queue_stress(2, false); }
// wait_for with a tiny timeout: timers and notifies race for the same waiters.
TEST(ConditionVariable, BoundedQueueTimedWaitsTwoWorkers) { bounded_queue_stress(2, true); }

// A plain thread waiting for good gets goro::Deadlock.

TEST(SyncDeadlock, ConditionVariableWaitNobodyNotifies) {
  gt::short_deadlock_grace();
  goro::Mutex mu;
  goro::ConditionVariable cv;
  std::unique_lock lock(mu);
  std::string what = gt::deadlock_message([&] { cv.wait(lock); });
  EXPECT_NE(what.find("[cond wait] at"), std::string::npos) << what;
  EXPECT_NE(what.find("condition_variable_test.cpp"), std::string::npos) << what;
  EXPECT_TRUE(lock.owns_lock());  // relocked, as on any return from wait
  EXPECT_FALSE(mu.try_lock());
  lock.unlock();
  // No stale waiter: a later wait/notify pair works.
  bool ready = false;
  goro::go_spawn([&] {
    { std::lock_guard l(mu); ready = true; }
    cv.notify_one();
  });
  lock.lock();
  cv.wait(lock, [&] { return ready; });
}

}  // namespace
