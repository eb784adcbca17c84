// runtime/src/profiling_hooks.hpp — what the runtime hands to diag's profiles without
// knowing about them: block events (how long a task stayed parked, and where) and
// activity counters (spawns, context switches).
//
// The runtime must not depend on diag, so diag installs a function pointer here
// (diag/src/contention_profiles.cpp, goro::diag::set_block_profile_rate) and the runtime calls it.
//
//   // diag:                                          // runtime (park):
//   g_block_event_sink.store(&record, release);       if (park_hooks() != 0)  (park_hooks.hpp)
//   g_block_profile_rate_ns.store(rate, release);        -> cold path: reads the rate,
//   g_park_hooks.fetch_or(kParkHookBlockProfile);           times the park, calls the sink
//
// Invariants:
// - Park path cost while the rate is 0 (the default): nothing of its own; the rate sets
//   a lane of g_park_hooks, which park() checks anyway (park_hooks.hpp). A park racing
//   with set_block_profile_rate may be timed or not.
// - The sink is set before the rate becomes non-zero and never reset to null, so a park
//   that saw a non-zero rate finds a sink (it acquires the sink pointer itself).
// - Worker::spawned / Worker::executed are written only by their worker thread (plain
//   load + store, no locked instruction) and read relaxed by runtime_stats().
#pragma once

#include <atomic>
#include <cstdint>

#include "goro/detail/park.hpp"
#include "park_hooks.hpp"

namespace goro::detail {

struct TaskRecord;

// Go's SetBlockProfileRate value: 0 = off, else sample an event of d ns with
// probability min(1, d / rate).
extern std::atomic<std::int64_t> g_block_profile_rate_ns;

// Called on the task's own stack right after it resumed from a park that lasted
// `blocked_ns` (precise clock), with the rate read at park time.
using BlockEventSink = void (*)(const WaitSite& site, const TaskRecord& task,
                                std::int64_t blocked_ns, std::int64_t rate_ns);
extern std::atomic<BlockEventSink> g_block_event_sink;

// Process-wide activity, summed over every runtime that ever ran (counters of
// destroyed runtimes are kept, so totals never go down).
struct RuntimeStats {
  std::uint64_t spawns = 0;            // tasks created
  std::uint64_t context_switches = 0;  // task resumptions by a worker
  unsigned workers = 0;                // worker threads of the runtimes alive now
  unsigned runtimes = 0;               // runtimes alive now
  std::uint64_t max_tasks = 0;         // sum of Config::max_tasks over the runtimes that set one
  unsigned runtimes_without_task_limit = 0;
};
RuntimeStats runtime_stats() noexcept;

}  // namespace goro::detail
