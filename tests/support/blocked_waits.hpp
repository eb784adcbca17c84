// blocked_waits.hpp — checks shared by the tests of blocking primitives: where diag shows
// a task parked, and what goro::Deadlock says to a plain thread blocked for good.
//
//   gt::expect_parked_at(id, WaitReason::once, line);   // parked at `line` of this file
//   std::string what = gt::deadlock_message([&] { mu.lock(); });
#pragma once

#include <cstdlib>
#include <functional>
#include <optional>
#include <source_location>
#include <string>

#include "goro_test.hpp"

namespace gt {

// The task's diag record once it is parked with `reason` (bounded by the watchdog).
inline std::optional<goro::diag::TaskInfo> parked_as(goro::TaskId id, goro::diag::WaitReason reason) {
  if (!wait_blocked(id, reason)) return std::nullopt;
  return task_info(id);
}

// Asserts that task `id` is parked with `reason` at line `line` of the calling file.
inline void expect_parked_at(goro::TaskId id, goro::diag::WaitReason reason, unsigned line,
                             std::source_location caller = std::source_location::current()) {
  auto info = parked_as(id, reason);
  ASSERT_TRUE(info.has_value()) << "task " << id << " never parked as "
                                << goro::diag::to_string(reason);
  EXPECT_EQ(info->wait_site.line(), line) << goro::diag::to_string(reason);
  EXPECT_STREQ(info->wait_site.file_name(), caller.file_name());
}

// Each test is its own process under ctest, so setting the grace period before the
// first plain-thread wait of the process is enough (see deadlock_test.cpp). Run in one
// process after other tests, a deadlock test takes longer: the watchdog timers
// (goro::after) those left pending count as progress until they expire.
inline void short_deadlock_grace() { ::setenv("GORO_DEADLOCK_MS", "200", 1); }

// The message of the goro::Deadlock that `blocked_call` throws (a test failure if none).
inline std::string deadlock_message(const std::function<void()>& blocked_call) {
  try {
    blocked_call();
  } catch (const goro::Deadlock& e) {
    return e.what();
  }
  ADD_FAILURE() << "no goro::Deadlock";
  return {};
}

}  // namespace gt
