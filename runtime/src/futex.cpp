// runtime/src/futex.cpp — Linux futexes (private to the process), and FutexLock's slow
// path (goro/detail/futex_lock.hpp, whose invariants this follows). Touches only the word
// it is given and FutexLock's sleeper counters.
// Lock discipline: FutexLock's state_ is 0 (free) or 1 (held). A contended locker spins
// briefly, then counts itself in the lock's sleeper slot and the total, issues the
// membarrier that stands in for unlock()'s missing StoreLoad fence, and sleeps until the
// word is 0; unlock() wakes one sleeper whenever the total and the lock's slot are
// non-zero.
#include <linux/futex.h>
#include <linux/membarrier.h>
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

FutexLockSleepers futex_lock_sleepers;

namespace {

// Spins of a contended locker before it sleeps: a critical section is a few dozen
// instructions, so a running holder is done well within them.
constexpr int kLockSpins = 100;
// The sleep slice without membarrier: how late a missed wake-up can be noticed.
constexpr long long kUnfencedSleepSliceNs = 200'000;

bool register_membarrier() noexcept {
  return ::syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

// A full memory barrier on every running thread of the process (futex_lock.hpp's
// invariants). False if the kernel refuses: the caller then sleeps in slices.
bool barrier_on_all_threads() noexcept {
  static const bool registered = register_membarrier();
  return registered && ::syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
}

}  // namespace

void FutexLock::lock_slow() noexcept {
  for (int spin = 0; spin < kLockSpins; ++spin) {
    cpu_relax();
    if (state_.load(std::memory_order_relaxed) == 0 && try_lock()) return;
  }
  std::atomic<std::uint32_t>& slot = sleepers();
  slot.fetch_add(1, std::memory_order_seq_cst);
  futex_lock_sleepers.total.fetch_add(1, std::memory_order_seq_cst);
  const bool fenced = barrier_on_all_threads();
  while (state_.exchange(1, std::memory_order_acquire) != 0) {
    if (fenced)
      futex_wait(&state_, 1);
    else
      futex_wait_for(&state_, 1, kUnfencedSleepSliceNs);
  }
  futex_lock_sleepers.total.fetch_sub(1, std::memory_order_relaxed);
  slot.fetch_sub(1, std::memory_order_relaxed);
}

void FutexLock::wake_sleeper() noexcept {
  if (sleepers().load(std::memory_order_relaxed) != 0) futex_wake(&state_, 1);
}

}  // namespace goro::detail
