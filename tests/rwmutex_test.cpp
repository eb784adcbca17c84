// goro::RWMutex (Go's sync.RWMutex): shared and exclusive holding, writer preference and
// the recursive-read-lock deadlock it implies, the wait reasons and sites diag shows,
// plain threads, goro::Deadlock, and randomized stress.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "blocked_waits.hpp"
#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using goro::diag::WaitReason;

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
  gt::expect_parked_at(writer, WaitReason::rwmutex_lock, writer_line);
  go_ahead.send(1);
  gt::expect_parked_at(reader, WaitReason::rwmutex_rlock, reader_line);
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

// A plain thread blocked for good on the lock gets goro::Deadlock.

TEST(SyncDeadlock, RWMutexWriterAndReaderOnAPlainThread) {
  gt::short_deadlock_grace();
  goro::RWMutex mu;
  mu.lock_shared();
  std::string what = gt::deadlock_message([&] { mu.lock(); });  // waits for our own read lock
  EXPECT_NE(what.find("all goro tasks are asleep - deadlock!"), std::string::npos) << what;
  EXPECT_NE(what.find("[rwmutex lock] at"), std::string::npos) << what;
  EXPECT_NE(what.find("rwmutex_test.cpp"), std::string::npos) << what;
  mu.unlock_shared();
  // The abandoned writer left nothing behind.
  ASSERT_TRUE(mu.try_lock());
  what = gt::deadlock_message([&] { mu.lock_shared(); });
  EXPECT_NE(what.find("[rwmutex rlock] at"), std::string::npos) << what;
  what = gt::deadlock_message([&] { mu.lock(); });  // behind our own write lock
  EXPECT_NE(what.find("[rwmutex lock] at"), std::string::npos) << what;
  mu.unlock();
  ASSERT_TRUE(mu.try_lock_shared());
  mu.unlock_shared();
  ASSERT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST(SyncDeadlock, RecursiveReadLockOnAPlainThreadBehindAWriterTask) {
  gt::short_deadlock_grace();
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
  what = gt::deadlock_message([&] { mu->lock_shared(); });
  EXPECT_NE(what.find("[rwmutex rlock] at"), std::string::npos) << what;
  EXPECT_NE(what.find("rwmutex_test.cpp:" + std::to_string(reader_line)), std::string::npos) << what;
  // The dump lists the writer task where it waits.
  EXPECT_NE(what.find("rwmutex lock"), std::string::npos) << what;
  EXPECT_NE(what.find("rwmutex_test.cpp:" + std::to_string(writer_line)), std::string::npos) << what;
  mu->unlock_shared();  // the first read lock goes: the writer gets through
  EXPECT_EQ(gt::drain_n(wrote, 1), 1u);
  ASSERT_TRUE(mu->try_lock());
  mu->unlock();
}

}  // namespace
