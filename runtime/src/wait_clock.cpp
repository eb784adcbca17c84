// runtime/src/wait_clock.cpp — the ticker behind wait_clock_ns() (see wait_clock.hpp).
#include "wait_clock.hpp"

#include <mutex>
#include <thread>

#include "goro/deadlock.hpp"
#include "goro/detail/futex_lock.hpp"
#include "task.hpp"
#include "thread_registry.hpp"

namespace goro::detail {

// Alone on its cache line: every park reads it, and a neighbour written on every worker
// idle/busy transition (g_busy_workers) would make those reads miss.
alignas(64) std::atomic<std::int64_t> g_wait_clock_ns{0};

namespace {

constexpr std::int64_t kTickNs = 4'000'000;  // CLOCK_MONOTONIC_COARSE's resolution here

alignas(64) std::atomic<std::uint32_t> g_busy_workers{0};

void refresh_wait_clock() noexcept {
  const std::int64_t now = coarse_now_ns();
  std::int64_t seen = g_wait_clock_ns.load(std::memory_order_relaxed);
  while (seen < now &&
         !g_wait_clock_ns.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
}

[[noreturn]] void ticker_main() {
  const NeverWakesTasks only_advances_the_clock;
  // An unused word to sleep on for one tick: nothing ever wakes it early.
  std::atomic<std::uint32_t> tick_word{0};
  for (;;) {
    refresh_wait_clock();
    if (g_busy_workers.load(std::memory_order_acquire) == 0) {
      futex_wait(&g_busy_workers, 0);  // until a worker gets busy (it refreshes first)
      continue;
    }
    futex_wait_for(&tick_word, 0, kTickNs);
  }
}

void start_ticker_once() {
  static std::once_flag started;
  std::call_once(started, [] {
    refresh_wait_clock();
    // Detached: it holds nothing, and the process may exit while it sleeps.
    std::thread([note = note_thread_created("goro wait-clock ticker")] { ticker_main(); }).detach();
  });
}

}  // namespace

void wait_clock_worker_busy() noexcept {
  if (g_busy_workers.fetch_add(1, std::memory_order_acq_rel) == 0) {
    refresh_wait_clock();
    try {
      start_ticker_once();
    } catch (...) {
      // No thread for the ticker: stamps then come from the refreshes made here, when
      // workers leave their idle waits. Ages stay conservative (older), just coarser.
    }
    futex_wake(&g_busy_workers, 1);
  }
}

void wait_clock_worker_idle() noexcept {
  g_busy_workers.fetch_sub(1, std::memory_order_acq_rel);
}

}  // namespace goro::detail
