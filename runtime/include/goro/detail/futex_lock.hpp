// goro/detail/futex_lock.hpp — the short-held internal lock of channels and sync objects.
//
// A three-state futex mutex (Drepper, "Futexes Are Tricky", mutex #3) with a short spin
// first: critical sections under it are a few dozen instructions, so spinning usually
// wins; the futex keeps a preempted holder from burning the other core.
//
//   goro::detail::FutexLock lock;
//   { std::lock_guard guard(lock); ...touch the protected fields... }
//
// Invariants: state_ is 0 (free), 1 (held, no sleeper) or 2 (held, maybe sleepers).
// Only unlock() of a state-2 lock issues FUTEX_WAKE.
#pragma once

#include <atomic>
#include <cstdint>

namespace goro::detail {

void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected) noexcept;
// Waits at most timeout_ns (< 0: forever).
void futex_wait_for(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                    long long timeout_ns) noexcept;
void futex_wake(std::atomic<std::uint32_t>* word, int count) noexcept;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class FutexLock {
 public:
  void lock() noexcept {
    std::uint32_t expected = 0;
    if (state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                       std::memory_order_relaxed))
      return;
    lock_slow();
  }
  bool try_lock() noexcept {
    std::uint32_t expected = 0;
    return state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }
  void unlock() noexcept {
    if (state_.exchange(0, std::memory_order_release) == 2) futex_wake(&state_, 1);
  }

 private:
  void lock_slow() noexcept;
  std::atomic<std::uint32_t> state_{0};
};

}  // namespace goro::detail
