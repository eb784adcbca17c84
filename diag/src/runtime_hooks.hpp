// diag/src/runtime_hooks.hpp — what diag hands the runtime through its hooks
// (goro/internal/inspect.hpp: diag_hooks.hpp), and the sampler start diag's own pages use.
//
//   // diag/src/hooks.cpp, before main():
//   detail::install_diag_hooks({&live_task_report, &start_trend_sampler, &task_provably_leaked});
//
// The runtime calls these only through the installed pointers; diag calls them directly.
#pragma once

#include <chrono>
#include <string>

#include "goro/runtime.hpp"

namespace goro::diag::internal {

// The runtime's reports (exit leak report, deadlock report, exhaustion) in the words of
// goro::diag: the grouped dump of dump_blocked() for the live tasks of `runtime` (an
// opaque Runtime pointer; nullptr: every runtime) except `exclude`.
std::string live_task_report(const void* runtime, TaskId exclude);

// Starts the process's trend sampler with this period and default options, unless it runs
// already (goro/trend.hpp).
void start_trend_sampler(std::chrono::milliseconds period);

// Whether `task` is provably leaked now (the deadlock detector's verdict).
bool task_provably_leaked(TaskId task);

}  // namespace goro::diag::internal
