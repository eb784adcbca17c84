// runtime/src/diag_hooks.hpp — what the runtime asks of diag/, through function pointers
// that diag installs: the report on tasks it cannot finish (exit leak report, deadlock
// and exhaustion reports), the trend sampler a Config can switch on, and the
// provable-leak verdict the deadlock detector uses.
//
// The runtime never names a diag symbol, so it links and runs without diag (the build
// proves it: tests/runtime_only_test.cpp links goro_runtime alone). Without hooks it
// falls back to what it can say itself:
//
//   logger().warn("{}", live_task_report(this, main_task_id_));  // diag's dump, or a list
//   start_trend_sampler(period);     // diag starts it now, or when it installs its hooks
//
//   // diag (diag/src/hooks.cpp), from a static initializer kept by the link:
//   install_diag_hooks(DiagHooks{&report, &start_sampler, &provably_leaked});
//
// Invariants and lock discipline:
// - Hooks are installed once per process and never removed: every pointer is loaded with
//   acquire and, once seen non-null, stays callable for the life of the process.
// - g_diag_hooks_lock guards the pending trend period and the install step itself, so a
//   period requested before diag installed its hooks (a Runtime built by another static
//   initializer) is handed over exactly once. The sampler is started outside the lock.
// - A hook may take diag's own locks and read the registry; the runtime calls them with
//   none of its locks held except where the caller's comment says otherwise.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "goro/runtime.hpp"

namespace goro::detail {

// The dump of every live task of `runtime` (an opaque Runtime pointer; nullptr: every
// runtime) except `exclude`: channel waits grouped as goro::diag::dump_blocked() prints
// them, then the other live tasks.
using LiveTaskReport = std::string (*)(const void* runtime, TaskId exclude);
// Starts the process's trend sampler with this period and default options, unless it
// runs already (goro/trend.hpp).
using StartTrendSampler = void (*)(std::chrono::milliseconds period);
// Whether `task` is provably leaked now (it can never wake). A null check is "not proven".
using ProvableLeakCheck = bool (*)(TaskId task);

struct DiagHooks {
  LiveTaskReport live_task_report = nullptr;
  StartTrendSampler start_trend_sampler = nullptr;
  ProvableLeakCheck provable_leak_check = nullptr;
};

// Installs diag's hooks (diag/src/hooks.cpp does, before main()). Starts the trend sampler
// if a runtime asked for one before the hooks were there.
void install_diag_hooks(const DiagHooks& hooks);

// diag's report when installed; else one line per task: id, name, spawn site, and the
// wait reason and site when it is parked.
std::string live_task_report(const void* runtime, TaskId exclude);

// Hands a runtime's trend period (Config::trend_period / GORO_TREND, > 0) to diag's
// sampler. Without diag nothing samples: the period is kept in case diag installs its
// hooks later, and otherwise has no effect.
void start_trend_sampler(std::chrono::milliseconds period);

// The deadlock detector's verdict hook (set by install_diag_hooks; defined in deadlock.cpp).
extern std::atomic<ProvableLeakCheck> g_provable_leak_check;

}  // namespace goro::detail
