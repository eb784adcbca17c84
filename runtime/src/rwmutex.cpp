// runtime/src/rwmutex.cpp — goro::RWMutex: Go's reader-count algorithm (sync/rwmutex.go)
// over a writer gate and two goro::Semaphores. The invariants are in goro/rwmutex.hpp; the
// gate parks through detail::park_on (goro/detail/park_on.hpp).
//
// Mutex profile (mutex_profile.hpp): a lock() or lock_shared() that had to wait is
// timed from its first wait to holding the lock and charged at its own call site (Go
// charges the unlocker; here the waits end in a gate and two semaphores released by
// different unlockers, so the waiting call is what the profile names).
#include <mutex>
#include <stdexcept>

#include "goro/detail/schedule_point.hpp"
#include "goro/rwmutex.hpp"
#include "goro/runtime.hpp"
#include "mutex_profile.hpp"
#include "goro/detail/park_on.hpp"

namespace goro {

// ------------------------------------------------------------------------ WriterGate

void RWMutex::WriterGate::lock(const detail::WaitSite& site, std::int64_t* wait_start) {
  std::uint32_t state = 0;
  if (state_.compare_exchange_strong(state, kLocked, std::memory_order_acquire,
                                     std::memory_order_relaxed))
    return;
  *wait_start = detail::mutex_wait_start_ns();
  bool woken = false;
  for (;;) {
    state = state_.load(std::memory_order_relaxed);
    if (!(state & kLocked)) {
      if (state_.compare_exchange_weak(state, state | kLocked, std::memory_order_acquire,
                                       std::memory_order_relaxed))
        return;
      continue;
    }
    lock_.lock();
    // Announce a waiter while the gate is still held; if the holder left meanwhile the
    // CAS fails and we try again to take it, so its unlock cannot miss us.
    state = state_.load(std::memory_order_relaxed);
    if (!(state & kLocked) ||
        !state_.compare_exchange_strong(state, state | kWaiters, std::memory_order_relaxed)) {
      lock_.unlock();
      continue;
    }
    detail::park_on(lock_, waiters_, site, /*again=*/woken);  // woken by unlock(): retry
    woken = true;
  }
}

bool RWMutex::WriterGate::try_lock() noexcept {
  std::uint32_t state = state_.load(std::memory_order_relaxed);
  while (!(state & kLocked))
    if (state_.compare_exchange_weak(state, state | kLocked, std::memory_order_acquire,
                                     std::memory_order_relaxed))
      return true;
  return false;
}

void RWMutex::WriterGate::unlock() noexcept {
  const std::uint32_t state = state_.fetch_and(~kLocked, std::memory_order_release);
  if (!(state & kWaiters)) return;
  detail::Waiter* next;
  {
    std::lock_guard guard(lock_);
    next = waiters_.pop_claimable();
    if (waiters_.empty()) state_.fetch_and(~kWaiters, std::memory_order_relaxed);
  }
  if (next) detail::wake(*next);
}

// --------------------------------------------------------------------------- readers

void RWMutex::lock_shared(std::source_location where) {
  detail::schedule_point();
  if (reader_count_.fetch_add(1) >= 0) return;  // no writer: the fast path
  // A writer is pending or holds the lock: its unlock() hands us a permit.
  const std::int64_t wait_start = detail::mutex_wait_start_ns();
  try {
    reader_sem_.acquire(1, detail::WaitSite{diag::WaitReason::rwmutex_rlock, where, this});
  } catch (const Deadlock&) {
    // Leave as if we never came, so the writer's unlock() does not release a permit
    // for us. (Deadlock means nobody could run that unlock() meanwhile.)
    reader_count_.fetch_sub(1);
    throw;
  }
  if (wait_start != 0) [[unlikely]]
    detail::report_mutex_wait("goro::RWMutex::lock_shared", where, wait_start);
}

bool RWMutex::try_lock_shared() noexcept {
  std::int32_t readers = reader_count_.load();
  do {
    if (readers < 0) return false;  // a writer is pending or holds the lock
  } while (!reader_count_.compare_exchange_weak(readers, readers + 1));
  return true;
}

void RWMutex::unlock_shared() {
  detail::schedule_point();
  const std::int32_t readers_after = reader_count_.fetch_sub(1) - 1;
  if (readers_after < 0) unlock_shared_slow(readers_after);
}

void RWMutex::unlock_shared_slow(std::int32_t readers_after) {
  if (readers_after + 1 == 0 || readers_after + 1 == -kMaxReaders) {
    reader_count_.fetch_add(1);
    throw std::logic_error("goro::RWMutex: unlock_shared of a mutex not locked for reading");
  }
  // A writer is pending: the last of the readers it waits for wakes it.
  if (reader_wait_.fetch_sub(1) - 1 == 0) writer_sem_.release();
}

// --------------------------------------------------------------------------- writers

void RWMutex::lock(std::source_location where) {
  detail::schedule_point();
  const detail::WaitSite site{diag::WaitReason::rwmutex_lock, where, this};
  std::int64_t wait_start = 0;  // mutex profile: when this call first had to wait
  writer_gate_.lock(site, &wait_start);  // behind other writers
  // Announce the writer: new readers now wait. `readers` still hold the read lock.
  const std::int32_t readers = reader_count_.fetch_sub(kMaxReaders);
  if (readers != 0 && reader_wait_.fetch_add(readers) + readers != 0) {
    if (wait_start == 0) wait_start = detail::mutex_wait_start_ns();
    try {
      writer_sem_.acquire(1, site);  // the last of them to leave releases us
    } catch (const Deadlock&) {
      abandon_pending_write();
      throw;
    }
  }
  if (wait_start != 0) [[unlikely]]
    detail::report_mutex_wait("goro::RWMutex::lock", where, wait_start);
}

bool RWMutex::try_lock() noexcept {
  if (!writer_gate_.try_lock()) return false;
  std::int32_t expected = 0;
  if (!reader_count_.compare_exchange_strong(expected, -kMaxReaders)) {
    writer_gate_.unlock();
    return false;
  }
  return true;
}

void RWMutex::unlock() {
  detail::schedule_point();
  // Readers that arrived while we held the lock (they wait in reader_sem_).
  const std::int32_t readers = reader_count_.fetch_add(kMaxReaders) + kMaxReaders;
  if (readers >= kMaxReaders) {
    reader_count_.fetch_sub(kMaxReaders);
    throw std::logic_error("goro::RWMutex: unlock of a mutex not locked for writing");
  }
  if (readers > 0) reader_sem_.release(readers);
  writer_gate_.unlock();
}

// A writer given up by the deadlock detector while waiting for readers to leave: undo
// its announcement so the mutex stays usable. The readers it waited for leave through
// the fast path from now on, so reader_wait_ goes back to 0; readers that queued behind
// it get their permits. (Deadlock means nobody was between the two atomics of
// unlock_shared meanwhile.)
void RWMutex::abandon_pending_write() noexcept {
  const std::int32_t readers = reader_count_.fetch_add(kMaxReaders) + kMaxReaders;
  const std::int32_t still_reading = reader_wait_.exchange(0);
  if (readers > still_reading) reader_sem_.release(readers - still_reading);
  writer_gate_.unlock();
}

}  // namespace goro
