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

#include <cstdint>

namespace goro::detail {

std::int64_t now_ns() noexcept;  // CLOCK_MONOTONIC, ns

struct TimerHandle {
  std::uint64_t runtime_id = 0;  // 0: no timer
  std::uint64_t timer_id = 0;
};

// Adds to the calling task's runtime, or to the default runtime from a plain thread.
TimerHandle add_timer(std::int64_t when_ns, void (*fire)(void*), void (*drop)(void*), void* arg);

// Removes a pending timer: true if it had not fired yet (drop(arg) has then run, on this
// thread); false if it already fired, is firing now, or its runtime is gone. Safe to call
// after the timer's runtime has ended. O(pending timers).
bool cancel_timer(const TimerHandle& timer) noexcept;

}  // namespace goro::detail
