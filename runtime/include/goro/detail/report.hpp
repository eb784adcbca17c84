// goro/detail/report.hpp — what the runtime asks of diag/: the text it logs about tasks
// it cannot finish, and the trend sampler a Config can switch on.
//
// Declared here, defined by diag/ (diag/src/report.cpp, diag/src/trend.cpp): the exit
// leak report and the deadlock report print the same dump that goro::diag::dump_blocked()
// gives users.
//
//   logger().warn("{}", detail::leftover_report(runtime_tag, main_task_id));
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "goro/runtime.hpp"

namespace goro::detail {

// The dump of every live task that satisfies `include(runtime_tag_of_task)`: channel waits
// grouped as dump_blocked() prints them, then the other live tasks (sleep, mutex, ...).
// `runtime` is an opaque runtime pointer (nullptr: every runtime); `exclude` a task id.
std::string live_task_report(const void* runtime, TaskId exclude);

// Starts the process's trend sampler with this period and default options, unless it
// runs already (goro/trend.hpp).
void start_trend_sampler(std::chrono::milliseconds period);

}  // namespace goro::detail
