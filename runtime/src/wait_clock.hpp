// runtime/src/wait_clock.hpp — the clock that stamps when a task started waiting.
//
// Every park records its start time, so the stamp must cost next to nothing: reading
// CLOCK_MONOTONIC_COARSE through the vDSO costs ~5.5 ns here, about 4% of an unbuffered
// ping-pong round trip. Instead a ticker thread copies that clock into `g_wait_clock_ns`
// every tick (the coarse clock's own resolution, 4 ms here), and a park reads the copy with
// one relaxed load.
//
//   std::int64_t since = wait_clock_ns();   // on the park path
//
// The ticker runs only while some worker is busy: a worker about to sleep on its idle
// futex calls wait_clock_worker_idle(), and one waking up calls wait_clock_worker_busy(),
// which, when it ends an all-idle period, refreshes the copy itself before running any
// task and wakes the ticker. So an idle runtime costs no wake-ups, and a stamp is never
// older than one tick plus the ticker's scheduling delay.
//
// Invariants:
// - g_wait_clock_ns only grows (writers publish with a CAS-max), and is a past reading
//   of CLOCK_MONOTONIC_COARSE: an age computed against a fresh reading is never negative
//   and errs by at most that lag, always towards "older".
// - g_busy_workers counts workers (of every runtime) outside their idle futex wait; the
//   ticker sleeps on it while it is 0, and the 0 -> 1 transition wakes it.
#pragma once

#include <atomic>
#include <cstdint>

namespace goro::detail {

extern std::atomic<std::int64_t> g_wait_clock_ns;  // alignas(64) where defined

inline std::int64_t wait_clock_ns() noexcept {
  return g_wait_clock_ns.load(std::memory_order_relaxed);
}

// A worker starts running tasks (at start-up, or leaving its idle wait).
void wait_clock_worker_busy() noexcept;
// A worker is about to sleep in its idle wait (or to exit).
void wait_clock_worker_idle() noexcept;

}  // namespace goro::detail
