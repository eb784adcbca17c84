// goro/metrics.hpp — goro's task counts as Prometheus metrics (text exposition format
// 0.0.4), what the debug server serves at /metrics.
//
//   std::ostringstream out;
//   goro::diag::write_metrics(out);
//   // # HELP goro_tasks Live goro tasks (running, runnable or waiting).
//   // # TYPE goro_tasks gauge
//   // goro_tasks 12
//   // goro_tasks_blocked{reason="chan send"} 3
//   // ...
//
// Metrics (every family has HELP and TYPE lines; label values are Go's wait-reason
// strings, goro::diag::to_string):
//   goro_tasks                                gauge    live tasks
//   goro_tasks_state{state}                   gauge    running / runnable / waiting
//   goro_tasks_blocked{reason}                gauge    waiting tasks by reason (every reason
//                                                      listed, 0 when none waits)
//   goro_tasks_leaked                         gauge    provably leaked (diag::leaked_tasks()),
//                                                      reused until 20x its analysis's
//                                                      duration has passed (see Cost)
//   goro_tasks_leaked_age_seconds             gauge    how old that count is
//   goro_oldest_wait_seconds{reason}          gauge    age of the oldest wait per reason (0: none)
//   goro_spawns_total                         counter  tasks created since start-up
//   goro_context_switches_total               counter  task resumptions by workers
//   goro_workers                              gauge    worker threads of the live runtimes
//   goro_tasks_limit                          gauge    Config::max_tasks summed over the
//                                                      runtimes (absent when one has none)
//   goro_memory_bytes{kind}                   gauge    goro's memory (goro/memory.hpp):
//                                                      kind = stack, task, channel
//   goro_memory_objects{kind}                 gauge    started tasks, tasks, channels
//   process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
//   process_start_time_seconds, process_open_fds, process_max_fds: the Prometheus client
//   libraries' standard process metrics (/proc/self/stat, /proc/self/fd, getrlimit)
//
// Cost: one registry snapshot of the wait records (no channel or stack details), about
// a tenth of diag::tasks()'s, which also collects goro's memory (diag::memory_totals():
// its stacks are measured afterwards, outside the locks, with mincore(2)); no locks are held while formatting. The provably leaked
// count needs the full analysis (hundreds of ms at 100,000 parked tasks): a scrape
// reruns it only once 20 times its last duration has passed, so it takes at most ~5%
// of a core, and otherwise reports the last count (shared with the trend sampler).
#pragma once

#include <ostream>
#include <string_view>

namespace goro::diag {

// The Content-Type to serve write_metrics' output with.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

void write_metrics(std::ostream& out);

}  // namespace goro::diag
