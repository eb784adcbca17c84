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
#include <iostream>
#include <source_location>
#include <string>
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
  bool leaked = false;                   // provably can never wake (not computed yet)
  std::vector<ChannelInfo> channels;     // extension: what a channel wait waits on
  std::uint64_t origin = 0;              // extension: see goro/detail/origin.hpp
};

// Every live task, by id.
std::vector<TaskInfo> tasks();
// Provably leaked tasks (the provable-leak analysis is not built yet: always empty).
std::vector<TaskInfo> leaked_tasks();
// Tasks blocked on channel send/recv/select (select with no cases included) for at least
// min_age, oldest first.
std::vector<TaskInfo> blocked_tasks(std::chrono::nanoseconds min_age = {});
// Prints the blocked tasks, grouped by identical (reason, wait site, spawn site); returns
// the number of tasks listed.
std::size_t dump_blocked(std::ostream& out = std::cerr);

struct LeakOptions {
  std::chrono::milliseconds max_wait{500};  // retry with backoff up to this long
  std::vector<TaskId> ignore_ids;           // e.g. from ignore_current()
  std::vector<std::string> ignore_names;    // substrings of task names
  std::vector<std::string> ignore_spawn_sites;  // substrings of "file:line function"
  std::vector<std::string> ignore_wait_sites;   // substrings of "file:line function"
};
// The ids of all tasks alive now (goleak's IgnoreCurrent).
std::vector<TaskId> ignore_current();
// Live tasks after a bounded wait for them to finish, minus the ignored ones, the calling
// task and goro's own tasks.
std::vector<TaskInfo> find_leaks(LeakOptions opts = {});

}  // namespace goro::diag
