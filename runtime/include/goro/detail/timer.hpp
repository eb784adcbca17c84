// goro/detail/timer.hpp — one-shot timers run by the scheduler (sleep_for, after()).
//
//   detail::add_timer(detail::now_ns() + 10'000'000, &fire_fn, &drop_fn, payload);
//
// `fire(arg)` runs on a worker thread, outside any task, once the deadline has passed;
// it must not block. If the runtime shuts down first, `drop(arg)` runs instead (may be
// null) so the payload can be released.
#pragma once

#include <cstdint>

namespace goro::detail {

std::int64_t now_ns() noexcept;  // CLOCK_MONOTONIC, ns

// Adds to the calling task's runtime, or to the default runtime from a plain thread.
void add_timer(std::int64_t when_ns, void (*fire)(void*), void (*drop)(void*), void* arg);

}  // namespace goro::detail
