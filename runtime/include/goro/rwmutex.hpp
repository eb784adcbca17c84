// goro/rwmutex.hpp — a reader/writer lock that parks tasks instead of threads
// (Go's sync.RWMutex). Satisfies Lockable and SharedLockable, so std::unique_lock,
// std::lock_guard and std::shared_lock work.
//
//   goro::RWMutex mu;
//   std::map<std::string, int> table;
//   goro::go_spawn([&] { std::shared_lock read(mu); use(table.at("x")); });   // many at once
//   goro::go_spawn([&] { std::unique_lock write(mu); table["x"] = 1; });       // alone
//
// As Go's, it prefers writers: once a writer waits in lock(), new lock_shared() calls
// wait behind it, so a steady stream of readers cannot starve writers. The price is
// Go's too: a task that takes the read lock again while it already holds it deadlocks
// as soon as a writer queues between the two (the writer waits for the first read lock
// to go, the second read lock waits for the writer). goro does not hide this: the
// tasks show in diag as `rwmutex rlock` and `rwmutex lock` at their wait sites. Like
// goro::Mutex the lock is not owned: any task may unlock what another one locked.
// In the mutex profile (goro::diag::set_mutex_profile_fraction) a lock() or
// lock_shared() that had to wait is charged at its own call site with how long it
// waited (goro::Mutex, as Go, charges the unlock() that ended the wait instead).
//
// Algorithm (Go's sync/rwmutex.go):
// - reader_count_ counts readers holding or waiting for the read lock. A writer
//   announces itself by subtracting kMaxReaders, so it is negative while a writer is
//   pending or holding the lock: lock_shared() is one fetch_add when it is >= 0.
// - reader_wait_ is how many of the readers that held the lock when the writer
//   announced itself have still to leave; the last one to leave wakes the writer.
// - writer_gate_ lets one writer at a time announce itself; readers that arrive while it
//   is announced wait in reader_sem_; the writer waits in writer_sem_. unlock() hands
//   one reader_sem_ permit to each reader that arrived meanwhile.
// - The gate is a lock word (one CAS to enter, one RMW to leave when nobody waits). Its
//   unlock wakes a waiter but does not hand the gate over: a running writer may take it
//   first (barging, as in Go's sync.Mutex), which avoids parking and resuming a task on
//   every contended unlock (a lock convoy); a woken writer that loses queues again at
//   the front. Unlike goro::Mutex it is therefore not strictly FIFO among writers, and
//   a woken writer can in theory lose to newcomers again and again (Go's Mutex turns
//   FIFO after 1 ms of that; this gate does not).
// - A plain thread that gets goro::Deadlock in lock() or lock_shared() undoes its
//   bookkeeping (abandon_pending_write, or its reader_count_ increment), so the mutex
//   stays usable. A task unwound by run() does not: run() is tearing everything down.
// Each semaphore (a goro::Semaphore) guards its units and wait queue with its own lock;
// the gate's FutexLock guards its queue and the setting/clearing of its kWaiters bit; the
// two counters are atomics (sequentially consistent) and are guarded by no lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <source_location>

#include "goro/detail/futex_lock.hpp"
#include "goro/detail/park.hpp"
#include "goro/semaphore.hpp"

namespace goro {

class RWMutex {
 public:
  RWMutex() = default;
  RWMutex(const RWMutex&) = delete;
  RWMutex& operator=(const RWMutex&) = delete;

  // Exclusive (writer) side.
  void lock(std::source_location where = std::source_location::current());
  bool try_lock() noexcept;
  // Throws std::logic_error when the write lock is not held (Go: fatal error).
  void unlock();

  // Shared (reader) side.
  void lock_shared(std::source_location where = std::source_location::current());
  bool try_lock_shared() noexcept;
  // Throws std::logic_error when no read lock is held (Go: fatal error).
  void unlock_shared();

 private:
  // Serializes writers (Go's rw.w); see the invariants above.
  class WriterGate {
   public:
    // *wait_start: set (mutex profile) when the gate is taken, so the caller must wait.
    void lock(const detail::WaitSite& site, std::int64_t* wait_start);
    bool try_lock() noexcept;
    void unlock() noexcept;

   private:
    static constexpr std::uint32_t kLocked = 1;   // a writer holds the gate
    static constexpr std::uint32_t kWaiters = 2;  // waiters_ may be non-empty
    std::atomic<std::uint32_t> state_{0};
    detail::FutexLock lock_;  // guards waiters_ and every change of kWaiters
    detail::WaitQueue waiters_;
  };

  static constexpr std::int32_t kMaxReaders = 1 << 30;

  void unlock_shared_slow(std::int32_t readers_after);
  void abandon_pending_write() noexcept;

  WriterGate writer_gate_;    // one writer at a time (Go's rw.w)
  // Go's runtime semaphores: no unit free at first; release() hands units directly to
  // the longest waiters, FIFO. The announced writer waits in writer_sem_ for the readers
  // to leave; readers wait in reader_sem_ for the writer to unlock.
  Semaphore writer_sem_{Semaphore::NoneFree{}};
  Semaphore reader_sem_{Semaphore::NoneFree{}};
  std::atomic<std::int32_t> reader_count_{0};  // see the invariants above
  std::atomic<std::int32_t> reader_wait_{0};
};

}  // namespace goro
