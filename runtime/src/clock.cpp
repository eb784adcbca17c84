// runtime/src/clock.cpp — the runtime's clocks: CLOCK_MONOTONIC in nanoseconds (timers,
// deadlines: now_ns) and its coarse, cheaper variant (coarse_now_ns, for timestamps that
// may be a few milliseconds stale). Inside a bubble (bubble.hpp) both read the bubble's
// virtual clock instead; other runtimes pay one relaxed load of the live-bubble count.
#include <time.h>

#include <cstdint>

#include "bubble.hpp"
#include "goro/detail/timer.hpp"
#include "task.hpp"

namespace goro::detail {

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

}  // namespace goro::detail
