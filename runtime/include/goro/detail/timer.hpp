// goro/detail/timer.hpp — one-shot timers run by the scheduler (sleep_for, after()), and
// the saturating arithmetic that turns a user's duration or time point into a deadline.
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
#include <type_traits>

namespace goro::detail {

std::int64_t now_ns() noexcept;  // CLOCK_MONOTONIC, ns

// now_ns() as a steady_clock time point (the same clock; inside a bubble, its virtual
// clock: goro/bubble.hpp). What goro stamps and compares deadlines against.
inline std::chrono::steady_clock::time_point steady_now() noexcept {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(now_ns()));
}

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

// Any duration as nanoseconds, saturated at nanoseconds::min() / max() instead of
// overflowing (std::chrono::hours::max() converted plainly wraps). NaN is zero.
template <class Rep, class Period>
constexpr std::chrono::nanoseconds saturating_ns(const std::chrono::duration<Rep, Period>& d) noexcept {
  using Wide = std::chrono::duration<long double, std::nano>;  // exact for every int64
  const Wide wide = d;
  if (!(wide == wide)) return std::chrono::nanoseconds(0);
  if (wide >= Wide(static_cast<long double>(kNeverNs))) return std::chrono::nanoseconds::max();
  if (wide <= Wide(static_cast<long double>(std::numeric_limits<std::int64_t>::min())))
    return std::chrono::nanoseconds::min();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d);
}

// A time point of any clock as a now_ns() deadline, saturated: a time already past is
// now, time_point::max() (or anything past the end of the clock) is kNeverNs.
template <class Clock, class Duration>
std::int64_t deadline_of(const std::chrono::time_point<Clock, Duration>& t) noexcept {
  if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
    const std::int64_t ns = saturating_ns(t.time_since_epoch()).count();
    return ns < 0 ? 0 : ns;
  } else {
    const std::int64_t now = now_ns();
    const auto clock_now = Clock::now();
    if (t <= clock_now) return now;  // compared, not subtracted: t may be time_point::min()
    return deadline_after_ns(now, saturating_ns(t - clock_now));
  }
}

// steady_clock::now() + d for any duration d, saturated at time_point::min() / max().
template <class Rep, class Period>
std::chrono::steady_clock::time_point steady_after(const std::chrono::duration<Rep, Period>& d) noexcept {
  using TimePoint = std::chrono::steady_clock::time_point;
  const auto now = std::chrono::steady_clock::now();
  const std::int64_t ns = saturating_ns(d).count();
  const std::int64_t base = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  if (ns > 0 && ns > kNeverNs - base) return TimePoint::max();
  if (ns < 0 && base < 0 && ns < std::numeric_limits<std::int64_t>::min() - base) return TimePoint::min();
  return now + std::chrono::nanoseconds(ns);
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
