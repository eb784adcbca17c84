// goro/detail/schedule_point.hpp — where schedule exploration (goro/explore.hpp) may
// switch tasks: the start of each channel and sync operation calls schedule_point().
//
//   void Mutex::lock(std::source_location where) { detail::schedule_point(); ... }
//
// Outside exploration it costs one relaxed load of a process-wide counter and a branch
// that is never taken. A schedule point must be called with no goro-internal lock held;
// it never throws (a yield resumed by an unwinding bubble just returns, and the next park
// throws the unwind).
#pragma once

#include <atomic>
#include <cstdint>

#include "goro/detail/park.hpp"

namespace goro::detail {

// Exploring bubbles alive in the process (bubble.cpp).
extern std::atomic<int> g_exploring_bubbles;

// The calling task may yield, if it runs in an exploring bubble.
void schedule_point_slow() noexcept;

inline void schedule_point() noexcept {
  if (g_exploring_bubbles.load(std::memory_order_relaxed) != 0) [[unlikely]] schedule_point_slow();
}

// A select's poll-order draw: the exploring bubble's generator in an exploring bubble
// task, fast_random() (park.hpp) otherwise.
std::uint32_t select_random() noexcept;

inline std::uint32_t schedule_random() noexcept {
  if (g_exploring_bubbles.load(std::memory_order_relaxed) != 0) [[unlikely]] return select_random();
  return fast_random();
}

}  // namespace goro::detail
