// RWMutex, ConditionVariable and Once (Go's sync.RWMutex, sync.Cond, sync.Once): their
// semantics, writer preference and the recursive-read-lock deadlock it implies, the wait
// reasons and sites diag shows, plain threads, goro::Deadlock, and randomized stress.
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using goro::diag::WaitReason;

// The task's diag record once it is parked with `reason` (bounded by the watchdog).
std::optional<goro::diag::TaskInfo> parked_as(goro::TaskId id, WaitReason reason) {
  if (!gt::wait_blocked(id, reason)) return std::nullopt;
  return gt::task_info(id);
}

// Asserts that task `id` is parked with `reason` at line `line` of this file.
void expect_parked_at(goro::TaskId id, WaitReason reason, unsigned line) {
  auto info = parked_as(id, reason);
  ASSERT_TRUE(info.has_value()) << "task " << id << " never parked as "
                                << goro::diag::to_string(reason);
  EXPECT_EQ(info->wait_site.line(), line) << goro::diag::to_string(reason);
  EXPECT_NE(std::string(info->wait_site.file_name()).find("sync_parity_test.cpp"),
            std::string::npos);
}

// Each test is its own process under ctest, so setting the grace period before the
// first plain-thread wait of the process is enough (see deadlock_test.cpp). Run in one
// process after other tests, a SyncDeadlock test takes longer: the watchdog timers
// (goro::after) those left pending count as progress until they expire.
void short_deadlock_grace() { ::setenv("GORO_DEADLOCK_MS", "200", 1); }

// ---------------------------------------------------------------------------------
// Wait reasons

TEST(SyncWaitReasons, SpellingsAndNotChannelWaits) {
  EXPECT_EQ(goro::diag::to_string(WaitReason::rwmutex_lock), "rwmutex lock");
  EXPECT_EQ(goro::diag::to_string(WaitReason::rwmutex_rlock), "rwmutex rlock");
  EXPECT_EQ(goro::diag::to_string(WaitReason::cond_wait), "cond wait");
  EXPECT_EQ(goro::diag::to_string(WaitReason::once), "once");
  for (auto r : {WaitReason::rwmutex_lock, WaitReason::rwmutex_rlock, WaitReason::cond_wait,
                 WaitReason::once})
    EXPECT_FALSE(goro::diag::is_channel_wait(r)) << goro::diag::to_string(r);
}

// ---------------------------------------------------------------------------------
// RWMutex

TEST(RWMutex, TryLockAndTryLockShared) {
  goro::RWMutex mu;
  ASSERT_TRUE(mu.try_lock());
  EXPECT_FALSE(mu.try_lock());
  EXPECT_FALSE(mu.try_lock_shared());
  mu.unlock();
  ASSERT_TRUE(mu.try_lock_shared());
  ASSERT_TRUE(mu.try_lock_shared());  // readers share
  EXPECT_FALSE(mu.try_lock());
  mu.unlock_shared();
  EXPECT_FALSE(mu.try_lock());
  mu.unlock_shared();
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST(RWMutex, StandardLockWrappers) {
  goro::RWMutex mu;
  {
    std::unique_lock write(mu);
    EXPECT_TRUE(write.owns_lock());
    EXPECT_FALSE(mu.try_lock_shared());
  }
  {
    std::shared_lock read1(mu);
    std::shared_lock read2(mu, std::try_to_lock);
    EXPECT_TRUE(read2.owns_lock());
    std::unique_lock write(mu, std::try_to_lock);
    EXPECT_FALSE(write.owns_lock());
  }
  { std::lock_guard write(mu); }
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST(RWMutex, UnlockOfAnUnlockedMutexThrowsAndLeavesItUsable) {
  goro::RWMutex mu;
  EXPECT_THROW(mu.unlock(), std::logic_error);
  EXPECT_THROW(mu.unlock_shared(), std::logic_error);
  mu.lock_shared();
  EXPECT_THROW(mu.unlock(), std::logic_error);  // read-locked, not write-locked
  mu.unlock_shared();
  mu.lock();
  EXPECT_THROW(mu.unlock_shared(), std::logic_error);  // write-locked, not read-locked
  mu.unlock();
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST(RWMutex, ReadersHoldTheLockTogether) {
  // Every reader waits, holding its read lock, until all of them hold it: with
  // exclusive readers this would never finish (the watchdog would fire).
  const int n = 16;
  auto mu = std::make_shared<goro::RWMutex>();
  auto all_in = std::make_shared<goro::WaitGroup>();
  all_in->add(n);
  Channel<int> done(n);
  for (int i = 0; i < n; ++i)
    goro::go_spawn([mu, all_in, done]() mutable {
      std::shared_lock read(*mu);
      all_in->done();
      all_in->wait();
      done.send(1);
    });
  EXPECT_EQ(gt::drain_n(done, n), static_cast<std::size_t>(n));
  // Free again once the readers have left (they send before unlocking).
  ASSERT_TRUE(gt::eventually([&] { return mu->try_lock(); }));
  mu->unlock();
}

TEST(RWMutex, WriterWaitsForReadersAndNewReadersQueueBehindIt) {
  auto mu = std::make_shared<goro::RWMutex>();
  Channel<char> order(4);
  mu->lock_shared();  // the test thread reads
  auto writer = goro::go_spawn([mu, order]() mutable {
    mu->lock();
    order.send('W');
    mu->unlock();
  });
  ASSERT_TRUE(gt::wait_blocked(writer, WaitReason::rwmutex_lock));
  // Only readers hold the lock, but a writer waits: Go's writer preference.
  EXPECT_FALSE(mu->try_lock_shared());
  auto reader = goro::go_spawn([mu, order]() mutable {
    mu->lock_shared();
    order.send('R');
    mu->unlock_shared();
  });
  ASSERT_TRUE(gt::wait_blocked(reader, WaitReason::rwmutex_rlock));
  EXPECT_EQ(order.size(), 0u);
  mu->unlock_shared();  // the last reader out lets the writer in, then the reader
  GT_ASSERT_RECV(first, order);
  GT_ASSERT_RECV(second, order);
  EXPECT_EQ(first, 'W');
  EXPECT_EQ(second, 'R');
}

TEST(RWMutex, WritersTakeTurnsAndReadersWaitForThem) {
  auto mu = std::make_shared<goro::RWMutex>();
  Channel<char> order(8);
  mu->lock();
  auto w2 = goro::go_spawn([mu, order]() mutable {
    mu->lock();  // behind the test thread's write lock
    order.send('2');
    mu->unlock();
  });
  ASSERT_TRUE(gt::wait_blocked(w2, WaitReason::rwmutex_lock));
  auto r = goro::go_spawn([mu, order]() mutable {
    std::shared_lock read(*mu);
    order.send('r');
  });
  ASSERT_TRUE(gt::wait_blocked(r, WaitReason::rwmutex_rlock));
  mu->unlock();
  // Both get in eventually; nothing is lost, whichever order the handoff picked.
  EXPECT_EQ(gt::drain_n(order, 2), 2u);
  ASSERT_TRUE(gt::eventually([&] { return mu->try_lock(); }));  // both leave
  mu->unlock();
}

// Go's recursive read lock deadlock: a reader takes the read lock again while a writer
// waits. goro reproduces it and diag shows both tasks where they are stuck.
TEST(RWMutex, RecursiveReadLockBehindAWaitingWriterDeadlocksAndDiagShowsIt) {
  auto mu = std::make_shared<goro::RWMutex>();
  Channel<int> first_read_taken(1), second_read_taken(1);
  Channel<int> go_ahead;
  const unsigned reader_line = __LINE__ + 5;
  auto reader = goro::go_spawn([mu, first_read_taken, second_read_taken, go_ahead]() mutable {
    mu->lock_shared();
    first_read_taken.send(1);
    go_ahead.recv();
    mu->lock_shared();  // the recursive read lock
    second_read_taken.send(1);
    mu->unlock_shared();
  });
  GT_ASSERT_RECV(ignored, first_read_taken);
  const unsigned writer_line = __LINE__ + 1;
  auto writer = goro::go_spawn([mu] { mu->lock(); mu->unlock(); });
  expect_parked_at(writer, WaitReason::rwmutex_lock, writer_line);
  go_ahead.send(1);
  expect_parked_at(reader, WaitReason::rwmutex_rlock, reader_line);
  // Stuck for good: neither can move. (Checked again after a while, no timing claim.)
  goro::sleep_for(20ms);
  EXPECT_EQ(second_read_taken.size(), 0u);
  EXPECT_EQ(gt::task_info(writer)->reason, WaitReason::rwmutex_lock);
  // The mutex is not owned (as in Go): release the reader's first read lock for it.
  // The writer gets in and out, then the second read lock is granted.
  mu->unlock_shared();
  GT_ASSERT_RECV(second, second_read_taken);
  EXPECT_TRUE(gt::eventually([&] { return !gt::task_info(writer) && !gt::task_info(reader); }));
}

TEST(RWMutex, PlainThreadsAndTasks) {
  goro::RWMutex mu;
  std::atomic<int> stage{0};
  mu.lock();  // the test thread writes
  std::thread reader([&] {
    mu.lock_shared();  // blocks this plain thread
    stage.store(1);
    mu.unlock_shared();
  });
  gt::settle();
  EXPECT_EQ(stage.load(), 0);
  mu.unlock();
  reader.join();
  EXPECT_EQ(stage.load(), 1);

  // A plain-thread writer waits for a task that reads.
  Channel<int> reading(1), release;
  goro::go_spawn([&mu, reading, release]() mutable {
    mu.lock_shared();
    reading.send(1);
    release.recv();
    mu.unlock_shared();
  });
  GT_ASSERT_RECV(ignored, reading);
  std::thread writer([&] {
    mu.lock();
    stage.store(2);
    mu.unlock();
  });
  gt::settle();
  EXPECT_EQ(stage.load(), 1);
  release.send(1);
  writer.join();
  EXPECT_EQ(stage.load(), 2);
}

// Writers exclusive, readers concurrent with each other only; random mix on 1 and 2
// workers. The protected data is plain (non-atomic): TSan would flag a broken exclusion.
void rwmutex_stress(unsigned workers, std::uint32_t seed, unsigned write_one_in = 8) {
  const int tasks = gt::live_tasks(200);
  const int rounds = gt::scaled(200, 20);
  int rc = goro::run(
      [&] {
        goro::RWMutex mu;
        std::atomic<int> readers_in{0}, writers_in{0}, max_readers{0};
        std::atomic<int> violations{0};
        long data_a = 0, data_b = 0;  // writers keep them equal
        long writes = 0;
        goro::WaitGroup wg;
        wg.add(tasks);
        for (int t = 0; t < tasks; ++t)
          goro::go_spawn([&, t] {
            std::minstd_rand rng(seed + static_cast<std::uint32_t>(t));
            for (int i = 0; i < rounds; ++i) {
              const unsigned dice = rng() % write_one_in;
              if (dice == 0) {  // one in write_one_in is a writer
                std::unique_lock write(mu);
                if (writers_in.fetch_add(1) != 0 || readers_in.load() != 0) violations++;
                ++data_a;
                if (rng() % 2) goro::yield();
                ++data_b;
                ++writes;
                writers_in.fetch_sub(1);
              } else if (dice == 1 && mu.try_lock_shared()) {
                if (writers_in.load() != 0 || data_a != data_b) violations++;
                mu.unlock_shared();
              } else {
                std::shared_lock read(mu);
                const int now_in = readers_in.fetch_add(1) + 1;
                int seen = max_readers.load();
                while (now_in > seen && !max_readers.compare_exchange_weak(seen, now_in)) {}
                if (writers_in.load() != 0 || data_a != data_b) violations++;
                if (rng() % 2) goro::yield();
                if (data_a != data_b) violations++;
                readers_in.fetch_sub(1);
              }
            }
            wg.done();
          });
        wg.wait();
        EXPECT_EQ(violations.load(), 0);
        EXPECT_EQ(data_a, writes);
        EXPECT_EQ(data_b, writes);
        EXPECT_GT(writes, 0);
        // Readers did overlap (they yield inside the read lock, so on any worker count
        // another reader gets in meanwhile).
        if (write_one_in > 1) {
          EXPECT_GT(max_readers.load(), 1);
        }
      },
      goro::Config{.workers = workers});
  EXPECT_EQ(rc, 0);
}

TEST(RWMutex, StressMutualExclusionOneWorker) { rwmutex_stress(1, 11); }
TEST(RWMutex, StressMutualExclusionTwoWorkers) { rwmutex_stress(2, 23); }
// Writers only: the writer gate under contention (barging, woken writers retrying).
TEST(RWMutex, StressWritersOnlyTwoWorkers) { rwmutex_stress(2, 37, 1); }

// ---------------------------------------------------------------------------------
// ConditionVariable

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
  expect_parked_at(waiter, WaitReason::cond_wait, wait_line);
  mu->lock();
  cv->notify_one();  // woken, but the mutex is ours: it parks again, on the mutex
  expect_parked_at(waiter, WaitReason::mutex, wait_line);
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
    std::unique_lock l(mu);
    cv.wait(l, [&] { return flag; });
    done.send(1);
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

// ---------------------------------------------------------------------------------
// Once

TEST(Once, RunsExactlyOnceUnderContention) {
  const int n = gt::live_tasks(200);
  int rc = goro::run(
      [&] {
        goro::Once once;
        std::atomic<int> calls{0};
        int value = 0;  // written by f, read by every caller after call() returned
        std::atomic<int> wrong{0};
        goro::WaitGroup wg;
        wg.add(n);
        for (int i = 0; i < n; ++i)
          goro::go_spawn([&, i] {
            auto f = [&] {
              calls++;
              goro::yield();  // let the others pile up behind
              value = 42;
            };
            if (i % 2) once.call(f); else goro::call_once(once, f);
            if (value != 42 || !once.done()) wrong++;
            wg.done();
          });
        wg.wait();
        EXPECT_EQ(calls.load(), 1);
        EXPECT_EQ(wrong.load(), 0);
      },
      goro::Config{.workers = 2});
  EXPECT_EQ(rc, 0);
}

TEST(Once, CallersParkAsOnceAtTheirLineUntilItFinished) {
  auto once = std::make_shared<goro::Once>();
  Channel<int> entered(1), release, done(2);
  goro::go_spawn([once, entered, release, done]() mutable {
    once->call([&] {
      entered.send(1);
      release.recv();
    });
    done.send(1);
  });
  GT_ASSERT_RECV(ignored, entered);
  const unsigned line = __LINE__ + 2;
  auto waiter = goro::go_spawn([once, done]() mutable {
    once->call([] { ADD_FAILURE() << "ran twice"; });
    done.send(2);
  });
  expect_parked_at(waiter, WaitReason::once, line);
  EXPECT_FALSE(once->done());
  release.send(1);
  EXPECT_EQ(gt::drain_n(done, 2), 2u);
  EXPECT_TRUE(once->done());
}

TEST(Once, AnExceptionLeavesItUncalledAndAWaiterTakesOver) {
  auto once = std::make_shared<goro::Once>();
  auto calls = std::make_shared<std::atomic<int>>(0);
  Channel<int> entered(1), release, outcome(2);
  goro::go_spawn([once, calls, entered, release, outcome]() mutable {
    try {
      once->call([&] {
        (*calls)++;
        entered.send(1);
        release.recv();
        throw std::runtime_error("first try fails");
      });
      outcome.send(0);
    } catch (const std::runtime_error&) {
      outcome.send(-1);  // the exception reached its caller
    }
  });
  GT_ASSERT_RECV(ignored, entered);
  auto waiter = goro::go_spawn([once, calls, outcome]() mutable {
    once->call([&] { (*calls)++; });  // parks, then runs f itself after the failure
    outcome.send(1);
  });
  ASSERT_TRUE(gt::wait_blocked(waiter, WaitReason::once));
  release.send(1);
  GT_ASSERT_RECV(a, outcome);
  GT_ASSERT_RECV(b, outcome);
  EXPECT_EQ(a + b, 0);  // -1 and 1, in either order
  EXPECT_EQ(calls->load(), 2);
  EXPECT_TRUE(once->done());
  once->call([&] { (*calls)++; });
  EXPECT_EQ(calls->load(), 2);
}

TEST(Once, ThrowingCallOnAPlainThreadThenASuccessfulOne) {
  goro::Once once;
  EXPECT_THROW(once.call([] { throw std::runtime_error("no"); }), std::runtime_error);
  EXPECT_FALSE(once.done());
  int calls = 0;
  goro::call_once(once, [&] { ++calls; });
  goro::call_once(once, [&] { ++calls; });
  EXPECT_EQ(calls, 1);
}

TEST(Once, PlainThreadWaitsForATaskRunningIt) {
  goro::Once once;
  Channel<int> entered(1), release;
  std::atomic<int> calls{0};
  goro::go_spawn([&, entered, release]() mutable {
    once.call([&] {
      calls++;
      entered.send(1);
      release.recv();
    });
  });
  GT_ASSERT_RECV(ignored, entered);
  std::atomic<bool> returned{false};
  std::thread plain([&] {
    once.call([&] { calls++; });
    returned.store(true);
  });
  gt::settle();
  EXPECT_FALSE(returned.load());
  release.send(1);
  plain.join();
  EXPECT_TRUE(returned.load());
  EXPECT_EQ(calls.load(), 1);
  EXPECT_TRUE(gt::eventually([] { return goro::diag::tasks().empty(); }));
}

// ---------------------------------------------------------------------------------
// Shutdown: run() unwinds tasks blocked on each primitive; none stays queued

TEST(SyncShutdown, TasksBlockedOnEachPrimitiveAreUnwoundAndLeaveNoWaiterBehind) {
  std::atomic<int> unwound{0}, resumed{0};
  goro::Mutex mu;
  goro::ConditionVariable cv;
  goro::RWMutex rw;
  goro::Once once;
  int expected = 0;
  bool all_blocked = true;
  int rc = goro::run(
      [&] {
        auto spawn_blocked = [&](WaitReason why, auto body) {
          ++expected;
          auto id = goro::go_spawn([&unwound, &resumed, body]() mutable {
            gt::DtorCounter guard(unwound);
            body();
            resumed.fetch_add(1);
          });
          if (!gt::wait_blocked(id, why)) all_blocked = false;
        };
        spawn_blocked(WaitReason::cond_wait, [&] {
          std::unique_lock lock(mu);
          cv.wait(lock);
        });
        spawn_blocked(WaitReason::cond_wait, [&] {
          std::unique_lock lock(mu);
          (void)cv.wait_for(lock, 1h);  // its timer must be cancelled, not fire later
        });
        rw.lock_shared();  // never released
        spawn_blocked(WaitReason::rwmutex_lock, [&] { rw.lock(); });
        spawn_blocked(WaitReason::rwmutex_rlock, [&] { rw.lock_shared(); });
        Channel<int> never;
        spawn_blocked(WaitReason::chan_recv, [&, never]() mutable {
          once.call([&] { never.recv(); });
        });
        spawn_blocked(WaitReason::once, [&] { once.call([] {}); });
      },
      goro::Config{.leak_policy = goro::LeakPolicy::off});
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(all_blocked) << "some task never reached its wait";
  EXPECT_EQ(resumed.load(), 0) << "a blocked task resumed normally at shutdown";
  EXPECT_EQ(unwound.load(), expected);
  // No stale waiter: a notify touches nothing of the unwound tasks (ASan would see it).
  cv.notify_all();
  EXPECT_TRUE(mu.try_lock());  // the unwound waiters did not relock it
  mu.unlock();
  // f was unwound, not finished: the Once is still uncalled and this thread runs it.
  EXPECT_FALSE(once.done());
  int calls = 0;
  once.call([&] { ++calls; });
  EXPECT_EQ(calls, 1);
}

// ---------------------------------------------------------------------------------
// Deadlock: a plain thread blocked for good on each primitive gets goro::Deadlock

std::string deadlock_message(const std::function<void()>& blocked_call) {
  try {
    blocked_call();
  } catch (const goro::Deadlock& e) {
    return e.what();
  }
  ADD_FAILURE() << "no goro::Deadlock";
  return {};
}

TEST(SyncDeadlock, RWMutexWriterAndReaderOnAPlainThread) {
  short_deadlock_grace();
  goro::RWMutex mu;
  mu.lock_shared();
  std::string what = deadlock_message([&] { mu.lock(); });  // waits for our own read lock
  EXPECT_NE(what.find("all goro tasks are asleep - deadlock!"), std::string::npos) << what;
  EXPECT_NE(what.find("[rwmutex lock] at"), std::string::npos) << what;
  EXPECT_NE(what.find("sync_parity_test.cpp"), std::string::npos) << what;
  mu.unlock_shared();
  // The abandoned writer left nothing behind.
  ASSERT_TRUE(mu.try_lock());
  what = deadlock_message([&] { mu.lock_shared(); });
  EXPECT_NE(what.find("[rwmutex rlock] at"), std::string::npos) << what;
  what = deadlock_message([&] { mu.lock(); });  // behind our own write lock
  EXPECT_NE(what.find("[rwmutex lock] at"), std::string::npos) << what;
  mu.unlock();
  ASSERT_TRUE(mu.try_lock_shared());
  mu.unlock_shared();
  ASSERT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST(SyncDeadlock, RecursiveReadLockOnAPlainThreadBehindAWriterTask) {
  short_deadlock_grace();
  auto mu = std::make_shared<goro::RWMutex>();
  Channel<int> wrote(1);
  mu->lock_shared();
  const unsigned writer_line = __LINE__ + 2;
  goro::go_spawn([mu, wrote]() mutable {
    mu->lock();
    mu->unlock();
    wrote.send(1);
  });
  std::string what;
  // Until the writer has queued, the second read lock would simply succeed.
  ASSERT_TRUE(gt::eventually([&] {
    if (!mu->try_lock_shared()) return true;
    mu->unlock_shared();
    return false;
  }));
  const unsigned reader_line = __LINE__ + 1;
  what = deadlock_message([&] { mu->lock_shared(); });
  EXPECT_NE(what.find("[rwmutex rlock] at"), std::string::npos) << what;
  EXPECT_NE(what.find("sync_parity_test.cpp:" + std::to_string(reader_line)), std::string::npos) << what;
  // The dump lists the writer task where it waits.
  EXPECT_NE(what.find("rwmutex lock"), std::string::npos) << what;
  EXPECT_NE(what.find("sync_parity_test.cpp:" + std::to_string(writer_line)), std::string::npos) << what;
  mu->unlock_shared();  // the first read lock goes: the writer gets through
  EXPECT_EQ(gt::drain_n(wrote, 1), 1u);
  ASSERT_TRUE(mu->try_lock());
  mu->unlock();
}

TEST(SyncDeadlock, ConditionVariableWaitNobodyNotifies) {
  short_deadlock_grace();
  goro::Mutex mu;
  goro::ConditionVariable cv;
  std::unique_lock lock(mu);
  std::string what = deadlock_message([&] { cv.wait(lock); });
  EXPECT_NE(what.find("[cond wait] at"), std::string::npos) << what;
  EXPECT_NE(what.find("sync_parity_test.cpp"), std::string::npos) << what;
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

TEST(SyncDeadlock, OnceCalledFromItsOwnFunction) {
  short_deadlock_grace();
  goro::Once once;
  std::string what = deadlock_message([&] { once.call([&] { once.call([] {}); }); });
  EXPECT_NE(what.find("[once] at"), std::string::npos) << what;
  EXPECT_FALSE(once.done());  // the exception left f uncalled
  int calls = 0;
  once.call([&] { ++calls; });
  EXPECT_EQ(calls, 1);
}

}  // namespace
