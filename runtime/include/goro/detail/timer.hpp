// goro/detail/timer.hpp — one-shot timers run by the scheduler (sleep_for, after()).
//
//   auto timer = detail::add_timer(detail::now_ns() + 10'000'000, &fire_fn, &drop_fn, payload);
//   if (detail::cancel_timer(timer)) { /* it will not fire; drop_fn(payload) has run */ }
//
// `fire(arg)` runs on a worker thread, outside any task, once the deadline has passed;
// it must not block. If the timer is cancelled, or the runtime shuts down first,
// `drop(arg)` runs instead (may be null) so the payload can be released. Exactly one of
// fire and drop runs.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace goro::detail {

std::int64_t now_ns() noexcept;  // CLOCK_MONOTONIC, ns

inline constexpr std::int64_t kNeverNs = std::numeric_limits<std::int64_t>::max();

// The deadline `d` from `now`, saturated: a negative d is now, and a d that would pass
// the end of the clock is kNeverNs (a timer that never fires), never a wrapped value.
constexpr std::int64_t deadline_after_ns(std::int64_t now, std::chrono::nanoseconds d) noexcept {
  if (d.count() <= 0) return now;
  if (d.count() >= kNeverNs - now) return kNeverNs;
  return now + d.count();
}
inline std::int64_t deadline_after_ns(std::chrono::nanoseconds d) noexcept {
  return deadline_after_ns(now_ns(), d);
}

// A steady_clock time point as a deadline in now_ns()'s clock (both are CLOCK_MONOTONIC
// on Linux), saturated the same way: time_point::max() is kNeverNs.
constexpr std::int64_t deadline_ns(std::chrono::steady_clock::time_point t) noexcept {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return ns < 0 ? 0 : ns;
}

struct TimerHandle {
  std::uint64_t runtime_id = 0;  // 0: no timer
  std::uint64_t timer_id = 0;
};

// Adds to the calling task's runtime, or to the default runtime from a plain thread.
TimerHandle add_timer(std::int64_t when_ns, void (*fire)(void*), void (*drop)(void*), void* arg);

// Removes a pending timer: true if it had not fired yet (drop(arg) has then run, on this
// thread); false if it already fired, is firing now, or its runtime is gone. Safe to call
// after the timer's runtime has ended. O(log pending timers).
bool cancel_timer(const TimerHandle& timer) noexcept;

// Timers pending in the calling task's runtime, or in the default runtime from a plain
// thread (0 if it has not started): for tests and diagnostics.
std::size_t pending_timers() noexcept;

}  // namespace goro::detail
