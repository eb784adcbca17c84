// goro/mutex.hpp — a mutual-exclusion lock that parks tasks instead of threads
// (Go's sync.Mutex). Satisfies Lockable, so std::lock_guard / std::unique_lock work.
//
//   goro::Mutex mu;
//   int balance = 0;
//   goro::go_spawn([&] { std::lock_guard lock(mu); balance += 10; });
//
// As Go's: the mutex is not owned — any task may unlock it — and a task that locks a
// mutex it already holds waits forever, like any other waiter (diag shows it as `mutex`).
// Unlock hands the mutex directly to the longest waiter (FIFO), so no waiter starves.
//
// Mutex profile (goro::diag::set_mutex_profile_fraction): as Go's, a contended
// unlock() is charged, at its own call site, with how long the waiter it hands the
// mutex to waited during the critical section it ends. (Called from std::lock_guard or
// std::unique_lock, the site is the guard's destructor; the profile's "created by"
// frame then tells which task it was.)
#pragma once

#include <cstdint>
#include <source_location>

#include "goro/detail/futex_lock.hpp"
#include "goro/detail/park.hpp"

namespace goro {

class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock(std::source_location where = std::source_location::current());
  bool try_lock() noexcept;
  // Throws std::logic_error when the mutex is not locked (Go: fatal error).
  void unlock(std::source_location where = std::source_location::current());

 private:
  detail::FutexLock lock_;  // guards locked_, waiters_, contended_since_ns_
  bool locked_ = false;
  detail::WaitQueue waiters_;
  // Mutex profile only: since when the first waiter has waited uncharged (its arrival,
  // or the last hand-off); 0 or stale while the profile is off.
  std::int64_t contended_since_ns_ = 0;
};

}  // namespace goro
