// runtime/src/config.hpp — a Runtime's Config, resolved: the caller's fields, else the
// GORO_* environment variables, else the defaults; every value checked.
//
//   Config cfg = resolve_config(requested);  // throws std::invalid_argument on a bad value
//   StackPool& pool = StackPool::for_size(resolve_stack_size(requested.stack_size));
//   check_deadlock_config(requested);
//   resolve_limits(cfg);
//
// Everything a runtime reads from the environment is read here, before the runtime does
// anything, so that an invalid setting fails run() or the first go_spawn with an
// exception naming the variable, its value and the valid forms (env.hpp), never later on
// a worker. Pure functions of their arguments and the environment; no shared state.
#pragma once

#include <cstddef>
#include <string_view>

#include "goro/runtime.hpp"

namespace goro::detail {

// Every GORO_* variable a runtime depends on, read: workers (GORO_MAXPROCS), leak policy
// (GORO_LEAKCHECK), capture_stacks (GORO_TRACEBACK), trend_period (GORO_TREND), and a
// check of GORO_DEADLOCK_MS and GORO_STACK_GUARDS.
Config resolve_config(const Config& requested);

// Config::stack_size, else $GORO_STACK_SIZE, else the default (0 in either: the next); checked.
std::size_t resolve_stack_size(std::size_t configured);

// A task stack size from `source` (a Config or SpawnOptions field, or the environment),
// checked against the range a StackPool takes; returns it.
std::size_t checked_stack_size(std::size_t bytes, std::string_view source);

// Rejects what the deadlock detector cannot use (a negative grace, an invalid
// GORO_DEADLOCK), before the runtime starts.
void check_deadlock_config(const Config& cfg);

// max_tasks, soft_max_tasks, max_stack_bytes: each left at 0 takes GORO_MAX_TASKS,
// GORO_SOFT_MAX_TASKS, GORO_MAX_STACK_BYTES (unset: 0, no limit).
void resolve_limits(Config& cfg);

}  // namespace goro::detail
