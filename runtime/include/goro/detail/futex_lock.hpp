// goro/detail/futex_lock.hpp — the short-held internal lock of channels and sync objects.
//
// A test-and-test-and-set lock that spins briefly and then sleeps on a futex. Critical
// sections under it are a few dozen instructions, so spinning usually wins; sleeping keeps
// a preempted holder from making the others burn a core. Its uncontended cost is one
// locked instruction: lock() is a CAS, unlock() a plain release store.
//
//   goro::detail::FutexLock lock;
//   { std::lock_guard guard(lock); ...touch the protected fields... }
//
// Invariants:
// - state_ is 0 (free) or 1 (held). Only the holder stores 0.
// - Sleepers are counted outside the lock word, in futex_lock_sleepers: a process-wide
//   total, and a table of counters indexed by the lock's address (locks may share one).
//   A locker that gives up spinning increments its slot and then the total before its
//   first look at the word as a sleeper, and decrements both once it holds the lock.
//   unlock() reads the total and, only when it is non-zero, the slot; it wakes one
//   sleeper of the word whenever the slot is non-zero (a shared slot costs a spurious
//   FUTEX_WAKE, nothing more).
// - No lost wake-up, although unlock() stores 0 (S) and then loads the counters (L) with
//   no StoreLoad fence between them (the Dekker pattern): the sleeper supplies the fence
//   for both sides. After its increments, and before it first looks at the word, it calls
//   membarrier(PRIVATE_EXPEDITED), which returns only once every thread of the process
//   has passed a full memory barrier (or a context switch) B. Suppose a sleeper goes to
//   sleep: the kernel read 1 in the word after membarrier returned, the 1 of some hold.
//   That hold's S cannot precede B in its holder's program order (S would then be visible
//   before membarrier returned, and the kernel would have read S's 0 or a later value),
//   so its loads (L) follow B and see the increments, and its FUTEX_WAKE, issued after
//   S, either finds the sleeper queued or makes the kernel's check of the word fail (the
//   kernel checks and queues atomically with respect to FUTEX_WAKE). The signal fence
//   keeps the compiler from moving L above S.
// - Where membarrier is unavailable (an old kernel, a seccomp filter), sleepers sleep in
//   bounded slices and re-check the word, so a missed wake-up costs at most one slice.
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

// The sleeper counters of FutexLock (see the invariants); written only by lock_slow().
struct FutexLockSleepers {
  static constexpr std::uint32_t kSlots = 256;
  // Sleepers on any lock: unlock() reads only this while nobody sleeps.
  alignas(64) std::atomic<std::uint32_t> total{0};
  // Sleepers per slot; a lock's slot is picked by its address.
  alignas(64) std::atomic<std::uint32_t> slots[kSlots] = {};
};
extern FutexLockSleepers futex_lock_sleepers;

class FutexLock {
 public:
  void lock() noexcept {
    if (try_lock()) [[likely]]
      return;
    lock_slow();
  }
  bool try_lock() noexcept {
    std::uint32_t expected = 0;
    return state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }
  void unlock() noexcept {
    state_.store(0, std::memory_order_release);
    std::atomic_signal_fence(std::memory_order_seq_cst);  // keep the loads after the store
    if (futex_lock_sleepers.total.load(std::memory_order_relaxed) != 0) [[unlikely]]
      wake_sleeper();
  }

  // The counter of threads that may be asleep on this lock (or on others sharing it).
  std::atomic<std::uint32_t>& sleepers() const noexcept {
    // Locks live in separate heap objects, mostly a cache line or more apart.
    const auto line = reinterpret_cast<std::uintptr_t>(this) / 64;
    return futex_lock_sleepers.slots[line % FutexLockSleepers::kSlots];
  }

 private:
  void lock_slow() noexcept;
  void wake_sleeper() noexcept;  // after the release store; reads no field of the lock
  std::atomic<std::uint32_t> state_{0};
};

}  // namespace goro::detail
