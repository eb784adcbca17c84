// runtime/src/clock.cpp — the runtime's clocks: CLOCK_MONOTONIC in nanoseconds (timers,
// deadlines: now_ns) and its coarse, cheaper variant (coarse_now_ns, for timestamps that
// may be a few milliseconds stale). No state.
#include <time.h>

#include <cstdint>

#include "goro/detail/timer.hpp"
#include "task.hpp"

namespace goro::detail {

std::int64_t now_ns() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t coarse_now_ns() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace goro::detail
