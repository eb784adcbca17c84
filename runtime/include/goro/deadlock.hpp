// goro/deadlock.hpp — what goro does when every task is asleep, and how a thread tells it
// that it can never end such a state.
//
// When every task has been asleep for the grace period while some thread waits in a goro
// call (a plain thread in a channel or sync call, or run() waiting for its main task), goro
// decides whether the deadlock is proven: then each such waiter gets goro::Deadlock;
// otherwise it logs one warning with the dump and the waits go on.
//
//   goro::run(main_task, {.deadlock_policy = goro::DeadlockPolicy::all_asleep});  // as Go
//
//   std::thread([] {
//     goro::NeverWakesTasks bystander;  // a watchdog: never ends anyone's wait
//     watch();
//   }).detach();
//
// See "Deadlock: when every task is asleep" in docs/failure-modes.md.
#pragma once

namespace goro {

// Config::deadlock_policy; env GORO_DEADLOCK=proven|all_asleep|off when the Config leaves it
// unset.
enum class DeadlockPolicy {
  // goro::Deadlock only for a proven deadlock: nothing outside goro's tasks can still wake
  // one (no other thread alive outside goro calls, no timer, no I/O or blocking call in
  // flight), or run()'s main task is provably leaked. Otherwise one warning is logged.
  proven,
  // goro::Deadlock whenever every task stays asleep for the grace period, as Go's "all
  // goroutines are asleep": a thread outside goro that would have woken a task is ignored.
  all_asleep,
  // No detection: a wait that nothing ends blocks forever, silently.
  off,
};

// While it lives, the deadlock detector does not count the thread that constructed it as
// one that could still wake a task or a thread blocked in a goro call. For threads that
// never do (watchdogs, log flushers): without it, such a thread keeps any deadlock from
// being proven (DeadlockPolicy::proven then only warns). Nested objects on one thread
// count once. Construct and destroy it on the same thread.
class NeverWakesTasks {
 public:
  NeverWakesTasks() noexcept;
  ~NeverWakesTasks();
  NeverWakesTasks(const NeverWakesTasks&) = delete;
  NeverWakesTasks& operator=(const NeverWakesTasks&) = delete;
};

}  // namespace goro
