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
#pragma once

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
  void unlock();

 private:
  detail::FutexLock lock_;  // guards locked_, waiters_
  bool locked_ = false;
  detail::WaitQueue waiters_;
};

}  // namespace goro
