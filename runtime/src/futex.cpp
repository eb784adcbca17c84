// runtime/src/futex.cpp — Linux futexes (private to the process), and FutexLock's slow
// path (goro/detail/futex_lock.hpp). Touches only the word it is given.
// Lock discipline: FutexLock's state_ is 0 (free), 1 (held) or 2 (held, maybe with
// sleepers); a contended locker spins briefly, then marks it 2 and sleeps, so unlock()
// wakes someone exactly when there may be a sleeper.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "goro/detail/futex_lock.hpp"

namespace goro::detail {

void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected,
            nullptr, nullptr, 0);
}

void futex_wait_for(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                    long long timeout_ns) noexcept {
  if (timeout_ns < 0) return futex_wait(word, expected);
  timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000),
              static_cast<long>(timeout_ns % 1'000'000'000)};
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected,
            &ts, nullptr, 0);
}

void futex_wake(std::atomic<std::uint32_t>* word, int count) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, count,
            nullptr, nullptr, 0);
}

void FutexLock::lock_slow() noexcept {
  for (int spin = 0; spin < 100; ++spin) {
    cpu_relax();
    std::uint32_t expected = 0;
    if (state_.load(std::memory_order_relaxed) == 0 &&
        state_.compare_exchange_weak(expected, 1, std::memory_order_acquire,
                                     std::memory_order_relaxed))
      return;
  }
  // Mark contended (2) and sleep until the holder's unlock wakes us.
  while (state_.exchange(2, std::memory_order_acquire) != 0) futex_wait(&state_, 2);
}

}  // namespace goro::detail
