// detail::FutexLock, the internal lock of channels and sync objects, used from plain
// threads: mutual exclusion, and the spin-then-sleep path whose sleepers unlock()'s plain
// store must still wake.
#include "goro_test.hpp"

#include <goro/detail/futex_lock.hpp>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using goro::detail::FutexLock;

// Runs `threads` plain threads, each doing `body` under `lock` `rounds` times.
template <class Body>
void run_under_lock(FutexLock& lock, int threads, int rounds, Body body) {
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < rounds; ++i) {
        std::lock_guard guard(lock);
        body();
      }
    });
  }
  for (auto& w : workers) w.join();
}

TEST(FutexLock, TryLockFailsWhileHeldAndSucceedsAfterUnlock) {
  FutexLock lock;
  ASSERT_TRUE(lock.try_lock());
  EXPECT_FALSE(lock.try_lock());
  lock.unlock();
  EXPECT_TRUE(lock.try_lock());
  lock.unlock();
}

// Plain (non-atomic) counters: a lost update, or ThreadSanitizer, shows a broken lock.
TEST(FutexLock, PlainThreadsExcludeEachOther) {
  FutexLock lock;
  long counter = 0;
  bool inside = false;
  int overlaps = 0;
  const int threads = 4, rounds = 20000;
  run_under_lock(lock, threads, rounds, [&] {
    if (inside) ++overlaps;
    inside = true;
    ++counter;
    inside = false;
  });
  EXPECT_EQ(counter, long{threads} * rounds);
  EXPECT_EQ(overlaps, 0);
}

// Lockers that find the lock held past their spin go to sleep (they count themselves in
// the lock's sleeper counter first); the holder's unlock must wake them, one after another.
TEST(FutexLock, SleepingLockersAreWokenByUnlock) {
  FutexLock lock;
  long counter = 0;
  const int threads = 3;
  lock.lock();
  std::vector<std::thread> lockers;
  for (int t = 0; t < threads; ++t) {
    lockers.emplace_back([&] {
      std::lock_guard guard(lock);
      ++counter;
    });
  }
  while (lock.sleepers().load() < static_cast<std::uint32_t>(threads)) std::this_thread::yield();
  EXPECT_EQ(counter, 0);
  lock.unlock();
  for (auto& l : lockers) l.join();
  std::lock_guard guard(lock);
  EXPECT_EQ(counter, threads);
}

// More threads than cores, each holding the lock across a yield: holders get preempted,
// lockers sleep and are woken over and over. A lost wake-up hangs (the test's watchdog).
TEST(FutexLock, PreemptedHoldersHandOffToSleepers) {
  FutexLock lock;
  long counter = 0;
  const int threads = 8, rounds = 2000;
  run_under_lock(lock, threads, rounds, [&] {
    ++counter;
    std::this_thread::yield();
  });
  EXPECT_EQ(counter, long{threads} * rounds);
}

}  // namespace
