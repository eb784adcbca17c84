// runtime/src/runtime_list.hpp — every live Runtime of the process, for what spans them
// all: runtime_stats(), num_tasks(), the deadlock detector, cancelling a TimerHandle
// whose runtime may be gone.
//
//   std::lock_guard guard(g_runtimes_mutex);
//   for (const Runtime* rt : *g_runtimes) n += rt->live_tasks();
//
// Lock discipline: g_runtimes_mutex guards g_runtimes (a runtime is listed from its
// constructor to its destructor, oldest first, so holding the mutex keeps every listed
// runtime alive), g_retired_stats, and each listed runtime's workers_ while Runtime::start()
// fills it. Lock order: the deadlock detector's g_detector_lock before it (deadlock.hpp);
// nothing else is taken while it is held, except a runtime's timer heap lock by
// cancel_timer.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "profiling_hooks.hpp"

namespace goro::detail {

class Runtime;

extern std::mutex g_runtimes_mutex;
extern std::vector<Runtime*>* g_runtimes;  // never freed: outlives static destructors
// Gives each runtime its id (TimerHandle::runtime_id); starts at 1 (0: no runtime).
extern std::atomic<std::uint64_t> g_next_runtime_id;
// The counters of destroyed runtimes, added to runtime_stats().
extern RuntimeStats g_retired_stats;
// Spawns from plain threads (no worker to count them).
extern std::atomic<std::uint64_t> g_plain_thread_spawns;

}  // namespace goro::detail
