// runtime/src/park_hooks.hpp — one word that tells park() whether anything unusual is on.
//
// A task parks and resumes hundreds of millions of times, and almost always nothing
// special is going on: no block profile, no stack capture, no diag reader, no runtime
// unwinding its tasks. Each of those needs a check on the park path; this word gathers
// them so park() pays one load and one predictable branch before switching out, and one
// after resuming, and sends everything else to a cold path that looks closer.
//
//   if (g_park_hooks.load(relaxed) != 0) [[unlikely]] -> cold path (park.cpp)
//
// Invariants:
// - The word is a sum of 16-bit counters (lanes), each changed only by atomic adds and
//   subtracts of its own unit, never beyond 0xffff:
//     kParkHookBlockProfile     1 while diag's block profile rate is non-zero
//     kParkHookCapturingRuntime per live runtime whose Config::capture_stacks is on
//     kParkHookUnwindingRuntime per runtime that has started unwinding its tasks
//     kParkHookReader           per diag reader active now (wait_record.hpp), plus 1 for
//                               good where membarrier is unavailable
// - The cold path re-reads what it needs (the rate, the runtime's own flags), so a lane
//   that is set for another runtime, or just changing, costs a detour, never a wrong
//   action. The exceptions are the lanes whose setter relies on being seen:
//   - kParkHookReader: a parked task that resumes loads the word after its resumer's
//     store of wait_site = null; wait_record.hpp shows why a reader it misses still
//     sees that store;
//   - kParkHookUnwindingRuntime: set, after Runtime::unwinding_, by the thread that then
//     resumes every task itself, so each of those tasks sees it.
#pragma once

#include <atomic>
#include <cstdint>

namespace goro::detail {

extern std::atomic<std::uint64_t> g_park_hooks;  // alignas(64) where defined

inline constexpr std::uint64_t kParkHookBlockProfile = std::uint64_t{1} << 0;
inline constexpr std::uint64_t kParkHookCapturingRuntime = std::uint64_t{1} << 16;
inline constexpr std::uint64_t kParkHookUnwindingRuntime = std::uint64_t{1} << 32;
inline constexpr std::uint64_t kParkHookReader = std::uint64_t{1} << 48;
inline constexpr std::uint64_t kParkHookReaderLane = std::uint64_t{0xffff} << 48;

inline std::uint64_t park_hooks() noexcept {
  return g_park_hooks.load(std::memory_order_relaxed);
}

}  // namespace goro::detail
