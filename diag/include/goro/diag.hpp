// goro/diag.hpp — what every task is doing, and which ones are stuck.
//
//   // Something hangs? Print every task blocked on a channel, oldest first:
//   goro::diag::dump_blocked(std::cerr);
//
//   // In a test: tasks still alive after a bounded wait are leaks.
//   auto leaks = goro::diag::find_leaks();
//   EXPECT_TRUE(leaks.empty());
//
// Readers take a consistent snapshot of the runtime's task records while tasks keep
// running; they never stop the scheduler.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "goro/runtime.hpp"
#include "goro/wait_reason.hpp"

namespace goro::diag {

// A channel a blocked task waits on (extension).
struct ChannelInfo {
  const void* id = nullptr;  // identifies the channel (its shared state) while it lives
  std::string name;          // Channel::set_name, or empty
  std::size_t capacity = 0;  // 0: unbuffered
  std::size_t size = 0;      // buffered values when the snapshot was taken
  bool closed = false;
  bool sending = false;      // the task waits to send on it (else to receive)
};

struct TaskInfo {
  TaskId id = 0;
  std::string name;
  WaitReason reason = WaitReason::none;  // none when not blocked
  std::source_location wait_site;        // the user's line that blocked
  std::source_location spawn_site;       // the user's go_spawn line
  TaskId parent = 0;                     // the spawning task, 0 for a plain thread
  std::chrono::nanoseconds blocked_for{0};
  // Provably can never wake: blocked on a channel operation or select, and no code that
  // can still run can reach any channel it waits on (see "Provable leaks" in docs/diagnostics.md;
  // there can be misses, never false verdicts). Computed by tasks(), blocked_tasks(),
  // leaked_tasks(), dump_blocked() and find_leaks().
  bool leaked = false;
  std::vector<ChannelInfo> channels;     // extension: what a channel wait waits on
  // Extension: what an IO wait waits on: the direction, the fd and, for a socket, both
  // addresses ("read fd 7 127.0.0.1:8080 <- 127.0.0.1:40312", "write fd 9 -> [::1]:80"
  // style, the peer after the arrow); empty for other waits.
  std::string wait_detail;
  std::uint64_t origin = 0;              // extension: see goro/detail/origin.hpp
  // Extension: the blocked task's call stack, innermost first, from the user's frame
  // (goro's park and channel frames are left out) down to the fiber's entry; only with
  // Config::capture_stacks or GORO_TRACEBACK=1, else empty. One frame per string:
  //   "blocked_in_helper(goro::Channel<int>) at /src/app.cpp:42 [/path/to/binary+0x5a21]"
  // with debug info (-g or -g1; calls inlined at one address are frames of their own);
  // "name+0x2d [/path/to/binary+0x5a21]" (function + offset in it) with a symbol table
  // only; "?? [module+offset]" when nothing names it (for addr2line -f -C -e module).
  std::vector<std::string> stack;
};

// Every live task, by id.
std::vector<TaskInfo> tasks();
// How many live tasks wait for each reason now; WaitReason::none counts the running and
// runnable ones, and reasons no task waits for are absent. Much cheaper than tasks():
// one pass over the task records under their shard locks, copying only the reason (no
// strings, no stacks, no leak analysis); O(tasks), nothing added to parking. For the
// total alone, goro::num_tasks() is O(workers).
std::map<WaitReason, std::size_t> count_by_reason();
// Provably leaked tasks (TaskInfo::leaked), by id. Safe to call in a running service: it
// reads the runtime's records without stopping it (cost: two passes over every task, and
// a scan of the stacks of tasks blocked on channels).
std::vector<TaskInfo> leaked_tasks();
// Tasks blocked on channel send/recv/select (select with no cases included) for at least
// min_age, oldest first.
std::vector<TaskInfo> blocked_tasks(std::chrono::nanoseconds min_age = {});
// Prints the blocked tasks, grouped by identical (reason, wait site, spawn site), groups
// oldest first; returns the number of tasks listed (not of groups). Example:
//
//   goro: 10,001 tasks in 2 groups, 1 provably leaked
//
//   task 17 "fetcher" [chan send, 4m12s, leaked]:
//       at /src/worker.cpp:41 in void fetch(goro::Channel<int>)
//       chan: unbuffered "results"
//       created by task 3 at /src/main.cpp:12
//
//   10,000 tasks [chan receive, 1m3s..4m12s]:
//       ids: 20 21 22 23 24 25 26 27 ... (10,000 in all)
//       at /src/pool.cpp:9 in pool()::<lambda()>
//       chan: buffered 0/8 "jobs"
//       created by task 3 at /src/pool.cpp:7
std::size_t dump_blocked(std::ostream& out = std::cerr);

// Extension: dump formats and options.
enum class DumpFormat {
  goro,  // the grouped format above
  go,    // Go's traceback text (runtime/traceback.go), one entry per task, no grouping:
         //   goroutine 17 [chan send, 4 minutes]:   ([chan send (leaked), ...] if leaked)
         //   main.fetch(...)
         //   \t/src/worker.cpp.go:41 +0x0
         //   created by main.main in goroutine 3
         //   \t/src/main.cpp.go:12 +0x0
         // so Go tooling (panicparse, gostackparse, ...) reads it.
};
struct DumpOptions {
  DumpFormat format = DumpFormat::goro;
  std::chrono::nanoseconds min_age{0};  // dump_blocked: only tasks blocked at least this long
  std::size_t max_ids_per_group = 8;    // goro format: ids listed for a group
  // Go format: Go tools only accept sources named *.go, *.c or *.s, so other file names
  // get this suffix ("worker.cpp" -> "worker.cpp.go"). Empty: print names unchanged.
  std::string go_file_suffix = ".go";
};
std::size_t dump_blocked(std::ostream& out, const DumpOptions& opts);
// Dumps the given snapshot (any tasks, blocked or not; e.g. find_leaks' result) in the
// chosen format, oldest wait first; returns the number of tasks listed.
std::size_t dump_tasks(std::ostream& out, std::vector<TaskInfo> tasks, const DumpOptions& opts = {});
// A C++ function name as a Go tool expects one ("void ns::f(int)" -> "ns.f").
std::string go_function_name(std::string_view cxx_function_name);

// goleak's options, for goro. Patterns are substrings (empty ones match nothing).
struct LeakOptions {
  std::chrono::milliseconds max_wait{500};  // retry with backoff up to this long (0: once)
  std::vector<TaskId> ignore_ids;           // e.g. from ignore_current() (IgnoreCurrent)
  std::vector<std::string> ignore_names;    // substrings of task names
  std::vector<std::string> ignore_spawn_sites;  // of "file:line function" of the go_spawn
                                                // (IgnoreCreatedBy)
  std::vector<std::string> ignore_wait_sites;   // of "file:line function" of a blocked
                                                // task's wait site (IgnoreTopFunction)
  // Extension: any other rule; a task for which it returns true is ignored.
  std::function<bool(const TaskInfo&)> ignore_if;
  // Extension: report only provably leaked tasks (TaskInfo::leaked), without waiting
  // (max_wait is ignored: a provable leak cannot finish by itself). Cheap enough to call
  // periodically inside a running service, where other tasks are legitimately blocked.
  bool only_provable = false;
};
// The ids of all tasks alive now (goleak's IgnoreCurrent).
std::vector<TaskId> ignore_current();
// Live tasks after a bounded wait for them to finish, minus the ignored ones, the calling
// task and goro's own tasks. Retries with exponential backoff (from 10 us, doubling, at
// most 50 ms apart) until none is left or max_wait has passed. The provably leaked ones
// among the result have `leaked` set.
std::vector<TaskInfo> find_leaks(LeakOptions opts = {});
// Whether find_leaks' ignore rules (ids, names, sites, ignore_if) drop `t`.
bool is_ignored(const TaskInfo& t, const LeakOptions& opts);

}  // namespace goro::diag
