// goro/detail/report.hpp — what the runtime asks of diag/: the text it logs about tasks
// it cannot finish, the trend sampler a Config can switch on, and the provable-leak
// verdict the deadlock detector uses.
//
// Declared here, defined by diag/ (diag/src/report.cpp, diag/src/trend.cpp): the exit
// leak report and the deadlock report print the same dump that goro::diag::dump_blocked()
// gives users.
//
//   logger().warn("{}", detail::leftover_report(runtime_tag, main_task_id));
#pragma once

#include <atomic>
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

// Whether `task` is provably leaked now (diag's provable-leak analysis: it can never wake).
// diag installs it when it starts (diag/src/report.cpp); the deadlock detector reaches the
// analysis only through this pointer and takes a null one as "not proven".
using ProvableLeakCheck = bool (*)(TaskId task);
extern std::atomic<ProvableLeakCheck> g_provable_leak_check;

}  // namespace goro::detail
