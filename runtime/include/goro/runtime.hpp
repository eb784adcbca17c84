// goro/runtime.hpp — tasks and the M:N scheduler that runs them.
//
// A task is a function running on its own small stack; N worker threads run many
// tasks. A task that blocks on a goro primitive parks, and its worker runs another.
//
//   int main() {
//     return goro::run([] {
//       goro::Channel<int> results;
//       goro::go_spawn({.name = "worker"}, [results]() mutable { results.send(42); });
//       std::cout << *results.recv() << "\n";
//     });                                    // like Go's main: returns when this returns
//   }
//
// Without run(), the first go_spawn from a plain thread starts a default runtime that
// lives until process exit.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <new>
#include <optional>
#include <source_location>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "goro/deadlock.hpp"

namespace goro {

using TaskId = std::uint64_t;  // 0 means "not a task"

// Thrown instead of hanging forever to a plain thread blocked in a goro call (and by
// run()) when a deadlock is proven (goro/deadlock.hpp). what() holds "all goro tasks are
// asleep - deadlock!", why, and the blocked-task dump.
struct Deadlock : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Thrown by go_spawn, at its call site, when the task cannot be had: a limit of the
// runtime (Config::max_tasks, Config::max_stack_bytes) is reached, or memory for its
// stack or record is not available. what() names the limit, the live count and the
// spawn sites holding the most live tasks. Nothing was spawned; spawning again after
// tasks finish works.
struct ResourceExhausted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What happens to tasks still alive when run()'s main task returns (or at process exit
// for the default runtime). Env GORO_LEAKCHECK=off|report|fail when Config leaves it unset.
enum class LeakPolicy { off, report, fail };

// What happens when an exception escapes a task. Either way it is logged first.
enum class PanicPolicy {
  terminate,         // Go's panic: std::terminate() after the log line
  log_and_continue,  // the task ends; the runtime keeps going
};

struct Config {
  unsigned workers = 0;        // 0: $GORO_MAXPROCS if set, else hardware_concurrency()
  // Usable stack of each task: 0: $GORO_STACK_SIZE if set, else 64 KiB (256 KiB in
  // sanitizer builds). Rounded up to pages; 16 KiB to 1 GiB, else std::invalid_argument.
  std::size_t stack_size = 0;
  // Live tasks of this runtime, main task included; a spawn beyond throws
  // ResourceExhausted. 0: $GORO_MAX_TASKS if set, else unlimited.
  std::size_t max_tasks = 0;
  // A warning (with the spawn sites holding the most tasks) when live tasks first reach
  // this, then at each doubling. 0: $GORO_SOFT_MAX_TASKS if set, else off.
  std::size_t soft_max_tasks = 0;
  // Address space of the stacks (guard included) that live tasks hold; a spawn beyond
  // throws ResourceExhausted. 0: $GORO_MAX_STACK_BYTES if set, else unlimited.
  std::size_t max_stack_bytes = 0;
  std::optional<LeakPolicy> leak_policy;   // unset: $GORO_LEAKCHECK, else report
  PanicPolicy on_panic = PanicPolicy::terminate;
  // Capture each parked task's call stack (glibc backtrace()) for diag::TaskInfo::stack
  // and the dumps; also on for every runtime with env GORO_TRACEBACK=1. Costs about a
  // microsecond per park: see docs/diagnostics.md.
  bool capture_stacks = false;
  // Leak trends (goro/trend.hpp): sample the tasks this often (zero: off). Unset: env
  // GORO_TREND ("1s", "500ms", "2m"; a bare number is seconds; "on": 1s; "off"/"0": off),
  // else off. The sampler is process-wide; the first runtime that asks starts it.
  // The sampler is diag's: the runtime validates the period and hands it to the hook
  // diag installs (goro::goro always has it; a program linking only goro::runtime or
  // goro::channel samples nothing). It stays here so that one Config configures a run.
  std::optional<std::chrono::milliseconds> trend_period{};
  // Deadlock detection (goro/deadlock.hpp), process-wide: of the live runtimes, the most
  // recently started one that sets a field decides it. Unset everywhere: env GORO_DEADLOCK
  // (proven|all_asleep|off), else proven; env GORO_DEADLOCK_MS, else 1000 ms. A grace of
  // zero turns detection off.
  std::optional<DeadlockPolicy> deadlock_policy{};
  std::optional<std::chrono::milliseconds> deadlock_grace{};
  // The most threads goro::blocking may run calls on at once (goro/blocking.hpp). 0:
  // $GORO_BLOCKING_THREADS if set (a whole number from 1 to 10000), else 64.
  unsigned blocking_threads = 0;
};

struct SpawnOptions {
  std::string name;            // shown by diagnostics
  std::size_t stack_size = 0;  // 0: the runtime's (Config::stack_size); same range
};

// Starts a runtime with cfg, runs main_task as a task and returns when it returns.
// Tasks still alive then are reported per the leak policy and unwound (their destructors
// run), the workers are joined, and the process exit code to use is returned (0, or 1
// when the leak policy is `fail` and tasks were left behind).
int run(std::function<void()> main_task, Config cfg = {});

namespace detail {
struct ClosureOps {
  void (*invoke)(void*);
  void (*destroy)(void*) noexcept;
  std::size_t size;   // sizeof the closure (the provable-leak analysis scans it)
  std::size_t align;  // alignof the closure
};
template <class Fn>
inline constexpr ClosureOps closure_ops{
    [](void* p) { (*static_cast<Fn*>(p))(); },
    [](void* p) noexcept { static_cast<Fn*>(p)->~Fn(); },
    sizeof(Fn),
    alignof(Fn),
};
// Allocates a task with `size` bytes of closure storage (aligned to `align`), calls
// construct(storage, arg) to build the closure in place, and makes the task runnable.
TaskId spawn_task(const SpawnOptions* opts, const std::source_location& where,
                  std::size_t size, std::size_t align, void (*construct)(void*, void*),
                  void* arg, const ClosureOps& ops);
// Both go_spawn overloads: moves or copies `fn` straight into the new task's closure
// storage. `opts` null: the defaults.
template <class F>
TaskId spawn_closure(const SpawnOptions* opts, F&& fn, const std::source_location& where) {
  using Fn = std::decay_t<F>;
  return spawn_task(
      opts, where, sizeof(Fn), alignof(Fn),
      [](void* storage, void* src) { ::new (storage) Fn(std::forward<F>(*static_cast<std::remove_reference_t<F>*>(src))); },
      const_cast<void*>(static_cast<const void*>(std::addressof(fn))), closure_ops<Fn>);
}
}  // namespace detail

template <class F>
TaskId go_spawn(SpawnOptions opts, F&& fn,
                std::source_location where = std::source_location::current()) {
  static_assert(std::is_invocable_v<std::decay_t<F>&>, "go_spawn needs a callable taking no arguments");
  return detail::spawn_closure(&opts, std::forward<F>(fn), where);
}

template <class F>
  requires std::is_invocable_v<std::decay_t<F>&>
TaskId go_spawn(F&& fn, std::source_location where = std::source_location::current()) {
  return detail::spawn_closure(nullptr, std::forward<F>(fn), where);
}

// Lets other runnable tasks run; on a plain thread, std::this_thread::yield().
void yield();

// Parks the calling task for at least d (a plain thread sleeps).
void sleep_for(std::chrono::nanoseconds d,
               std::source_location where = std::source_location::current());

// The calling task's id; 0 on a plain thread.
TaskId current_task() noexcept;

// How many tasks exist now in every runtime of the process, blocked or not (Go's
// runtime.NumGoroutine). A racy sum of per-worker counters: O(workers), no task is
// visited and no leak analysis runs (diag::count_by_reason breaks it down by reason).
std::size_t num_tasks() noexcept;

}  // namespace goro
