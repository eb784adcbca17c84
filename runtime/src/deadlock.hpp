// runtime/src/deadlock.hpp — the deadlock detector: when every task is asleep, can a
// thread blocked in a goro call (a plain thread in a channel or sync call, run() waiting
// for its main task) still be woken? Go's checkdead, for a runtime that cannot see every
// thread of its process.
//
//   // park_thread (park.cpp): block until woken, or until a deadlock is declared
//   if (auto verdict = wait_unless_deadlocked(&parker.word, &site, 0)) throw ...;
//
// The verdict, one for the whole process, made by whichever blocked thread polls first:
// 1. All asleep: every runtime quiescent (every worker idle, nothing queued, no pending
//    timer), no external wait in flight (external_waits.hpp: I/O, the blocking pool), no
//    blocked thread woken and not yet gone, and nothing moved (no task ran, was spawned or
//    ended; no thread entered or left a goro wait; no NeverWakesTasks came or went) for
//    the grace period.
// 2. Then, by policy (goro/deadlock.hpp):
//    - all_asleep: every blocked thread is condemned (gets goro::Deadlock).
//    - proven: every blocked thread is condemned when nothing outside the tasks can wake
//      anything: each thread of the process (/proc/self/stat) is a blocked thread, a
//      NeverWakesTasks thread (workers, the wait-clock ticker, the trend sampler, users'
//      watchdogs) or the sanitizer's; the timers and external waits are covered by 1.
//      Else run()'s callers whose main task diag proves leaked (g_provable_leak_check,
//      diag_hooks.hpp) are condemned: that task can never finish, whoever is
//      alive. Else one warning with the dump (again only for another situation, or for
//      the same one after 1, 2, 4, ... minutes).
//    - off: nothing.
// Which threads get goro::Deadlock is therefore a function of the program's state, never
// of which thread polled first: every thread blocked at the verdict (or, for a leaked
// main task, exactly that run() caller).
//
// Invariants and locks:
// - g_blocked_lock (deadlock.cpp) guards the list of blocked threads (BlockedThread nodes
//   on their own stacks), its count and join/leave sequence, and each node's verdict. A
//   node is listed from before its thread first looks at its wake word until it leaves;
//   the wake word is consumed only after it left. So a listed node whose word is 0 has not
//   acted on any wake-up, and one whose word is 1 is about to run (not asleep).
// - Condemning happens under g_blocked_lock, only if the join/leave sequence is the one
//   the verdict was made on; a node's outcome is decided under the same lock when it
//   leaves: a wake-up (word != 0) wins over a verdict.
// - g_detector_lock (try_lock: one poller at a time) guards the episode and warning state.
//   Lock order: g_detector_lock, then either g_blocked_lock or the runtimes' lock
//   (runtime_list.hpp), never both of those at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "goro/deadlock.hpp"
#include "goro/detail/park.hpp"
#include "goro/runtime.hpp"

namespace goro::detail {

// The detector's settings: of the live runtimes, the last started that sets each field in
// its Config, else the environment (deadlock.cpp).
struct DeadlockSettings {
  DeadlockPolicy policy = DeadlockPolicy::proven;
  std::int64_t grace_ns = 0;  // zero: off
};
DeadlockSettings deadlock_settings() noexcept;

// GORO_DEADLOCK: proven (also when unset), all_asleep or off. Throws std::invalid_argument
// naming the variable, its value and the valid forms.
DeadlockPolicy deadlock_policy_from_env();

// Blocks the calling plain thread until *word != 0, or until the detector condemns it.
// `site`: the goro call it is blocked in; for run()'s caller, nullptr and `main_task` set.
// Returns nullptr when woken (the caller consumes the wake-up), else the verdict's text:
// why the deadlock was declared, the blocked threads and the dump of live tasks.
std::shared_ptr<const std::string> wait_unless_deadlocked(std::atomic<std::uint32_t>* word,
                                                          const WaitSite* site, TaskId main_task);

// Every runtime quiescent (Runtime::quiescent), with their activity mixed into *signature.
bool all_quiescent(std::uint64_t* signature) noexcept;

// $GORO_DEADLOCK_MS, read once (default 1000; 0: off); invalid: throws std::invalid_argument.
std::int64_t deadlock_grace_ns();

// Folds one activity counter into a signature (Runtime::quiescent).
constexpr std::uint64_t mix_signature(std::uint64_t signature, std::uint64_t value) noexcept {
  return (signature ^ value) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
}

}  // namespace goro::detail
