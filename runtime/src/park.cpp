// runtime/src/park.cpp — futexes, the plain-thread parker, init_waiter/wake, clocks,
// the task registry. See goro/detail/park.hpp for the parking invariants.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>

#include <memory>
#include "env.hpp"
#include "log.hpp"

#include "bubble.hpp"
#include "deadlock.hpp"
#include "goro/detail/futex_lock.hpp"
#include "goro/detail/park.hpp"
#include "registry.hpp"
#include "scheduler.hpp"

namespace goro::detail {

// --------------------------------------------------------------------------- futexes

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

// ---------------------------------------------------------------------------- clocks

std::int64_t now_ns() noexcept {
  if (g_bubbles_live.load(std::memory_order_relaxed) != 0) [[unlikely]]
    if (const std::int64_t virtual_now = bubble_now_ns(); virtual_now >= 0) return virtual_now;
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t coarse_now_ns() noexcept {
  if (g_bubbles_live.load(std::memory_order_relaxed) != 0) [[unlikely]]
    if (const std::int64_t virtual_now = bubble_now_ns(); virtual_now >= 0) return virtual_now;
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// --------------------------------------------------------------------- thread parker

// A plain thread's parking spot. Each wake() pairs with exactly one park(): the waker
// owns the claimed waiter, and the waiter was queued by the park it ends.
struct ThreadParker {
  std::atomic<std::uint32_t> word{0};  // 1: a wake-up is pending
};

namespace {
thread_local ThreadParker t_parker;
}

// ------------------------------------------------------------------ deadlock detection
//
// A plain thread blocked in goro waits through the deadlock detector (deadlock.hpp): it
// returns when woken, or throws DeadlockDetected when a verdict condemns it. The verdict's
// text waits here for throw_deadlock().

namespace {
thread_local std::shared_ptr<const std::string> t_deadlock_verdict;
}  // namespace

// The longest grace period GORO_DEADLOCK_MS takes: a day (86400000); 0 turns detection off.
constexpr std::uint64_t kMaxDeadlockGraceMs = 86'400'000;

std::int64_t deadlock_grace_ns() {
  static const std::int64_t grace = [] {
    const std::uint64_t ms =
        env::read_unsigned("GORO_DEADLOCK_MS", 0, kMaxDeadlockGraceMs).value_or(1000);
    return static_cast<std::int64_t>(ms) * 1'000'000;
  }();
  return grace;
}

namespace {
// A plain thread's wait found GORO_DEADLOCK_MS invalid: the message of the
// std::invalid_argument that throw_deadlock() throws instead of goro::Deadlock.
thread_local std::string t_invalid_setting;
}  // namespace

void park_thread(void (*release)(void*), void* arg, const WaitSite& site) {
  ThreadParker& parker = t_parker;
  try {
    (void)deadlock_grace_ns();
  } catch (const std::invalid_argument& e) {
    // Leave as the detector does (the caller unqueues its waiter under its lock, which
    // release() gives back), and let throw_deadlock() raise this error instead.
    t_invalid_setting = e.what();
    if (release) release(arg);
    throw DeadlockDetected{site};
  }
  if (release) release(arg);
  if (auto verdict = wait_unless_deadlocked(&parker.word, &site, 0)) {
    t_deadlock_verdict = std::move(verdict);
    throw DeadlockDetected{site};
  }
  parker.word.store(0, std::memory_order_relaxed);  // the wake-up, seen with acquire
}

void await_wake() {
  ThreadParker& parker = t_parker;
  while (parker.word.exchange(0, std::memory_order_acquire) == 0) futex_wait(&parker.word, 0);
}

void throw_deadlock(const WaitSite& site) {
  if (!t_invalid_setting.empty()) throw std::invalid_argument(std::exchange(t_invalid_setting, {}));
  // The detector logged the verdict once, for every thread it condemned.
  const std::shared_ptr<const std::string> verdict = std::move(t_deadlock_verdict);
  throw goro::Deadlock("goro: all goro tasks are asleep - deadlock! This thread was blocked in [" +
                       std::string(diag::to_string(site.reason)) + "] at " +
                       site.where.file_name() + ":" + std::to_string(site.where.line()) +
                       " in " + site.where.function_name() + ".\n" +
                       (verdict ? *verdict : std::string()));
}

GORO_HOT_PATH void init_waiter(Waiter& w) noexcept {
  if (TaskRecord* t = current_task_record()) {
    w.task = t;
    w.thread = nullptr;
  } else {
    w.task = nullptr;
    w.thread = &t_parker;
  }
}

GORO_HOT_PATH void wake(const Waiter& w) noexcept {
  // Read everything first: once woken, the sleeper may return and pop w's frame.
  TaskRecord* task = w.task;
  ThreadParker* thread = w.thread;
  if (task != nullptr) {
    task->runtime->ready(task);
  } else {
    thread->word.store(1, std::memory_order_release);
    futex_wake(&thread->word, 1);
  }
}

namespace {
// Zero until first used; a constant initialiser, so reading it needs no guard.
thread_local std::uint32_t t_random_state = 0;

__attribute__((noinline, cold)) std::uint32_t random_seed() noexcept {
  std::uint64_t seed = reinterpret_cast<std::uintptr_t>(&t_parker) ^
                       static_cast<std::uint64_t>(now_ns());
  seed ^= seed >> 33;
  seed *= 0xff51afd7ed558ccdULL;
  seed ^= seed >> 33;
  const auto s = static_cast<std::uint32_t>(seed);
  return s == 0 ? 0x9e3779b9u : s;
}
}  // namespace

std::uint32_t fast_random() noexcept {
  // xorshift32, seeded per thread from its address and the clock.
  std::uint32_t& state = t_random_state;
  if (state == 0) [[unlikely]] state = random_seed();
  std::uint32_t x = state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  state = x;
  return x;
}

// -------------------------------------------------------------------------- registry

RegistryShard* registry_shards() noexcept {
  static RegistryShard shards[kRegistryShards];
  return shards;
}

void registry_add(TaskRecord* t) noexcept {
  RegistryShard& shard = registry_shards()[t->reg_shard];
  std::lock_guard guard(shard.lock);
  t->reg_prev = nullptr;
  t->reg_next = shard.head;
  if (shard.head) shard.head->reg_prev = t;
  shard.head = t;
}

void registry_remove(TaskRecord* t) noexcept {
  RegistryShard& shard = registry_shards()[t->reg_shard];
  std::lock_guard guard(shard.lock);
  if (t->reg_prev) t->reg_prev->reg_next = t->reg_next; else shard.head = t->reg_next;
  if (t->reg_next) t->reg_next->reg_prev = t->reg_prev;
  t->reg_prev = t->reg_next = nullptr;
}

}  // namespace goro::detail
