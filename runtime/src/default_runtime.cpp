// runtime/src/default_runtime.cpp — the default runtime (started by the first spawn or
// timer outside goro::run, stopped at process exit), and the entry points that go to the
// calling task's runtime, else to it: spawn_task, add_timer, cancel_timer, pending_timers.
//
// Touches g_default_runtime and, through Runtime's interface, the runtime it picks.
// Invariants: the default runtime is created and started at most once (double-checked
// under g_default_mutex, published with release), never destroyed (detached workers or
// parked tasks may still use it at exit); spawn_task reads the task's id before readying
// it (a ready task may run and be freed at once).
// Lock discipline: g_default_mutex guards creating the default runtime;
// cancel_timer holds g_runtimes_mutex (runtime_list.hpp) so the runtime it finds cannot
// be destroyed meanwhile.
// spawn_task and add_timer are here, with current_or_default_runtime, because its fast
// path inlines into them.
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>

#include "runtime_list.hpp"
#include "scheduler.hpp"

namespace goro::detail {

namespace {
std::atomic<Runtime*> g_default_runtime{nullptr};
std::mutex g_default_mutex;

void shutdown_default_runtime() {
  if (Runtime* rt = g_default_runtime.load(std::memory_order_acquire)) rt->shutdown_at_exit();
  // The runtime object stays allocated: detached workers or parked tasks may use it.
}
}  // namespace

Runtime& current_or_default_runtime() {
  if (Worker* w = this_worker()) return *w->rt;
  return default_runtime();
}

Runtime& default_runtime() {
  if (Runtime* rt = g_default_runtime.load(std::memory_order_acquire)) return *rt;
  std::lock_guard guard(g_default_mutex);
  if (Runtime* rt = g_default_runtime.load(std::memory_order_acquire)) return *rt;
  auto* rt = new Runtime(Config{}, /*is_default=*/true);
  rt->start();
  g_default_runtime.store(rt, std::memory_order_release);
  std::atexit(shutdown_default_runtime);
  return *rt;
}

TimerHandle add_timer(std::int64_t when_ns, void (*fire)(void*), void (*drop)(void*), void* arg) {
  return current_or_default_runtime().add_timer(when_ns, fire, drop, arg);
}

bool cancel_timer(const TimerHandle& timer) noexcept {
  if (timer.runtime_id == 0) return false;
  // Held while cancelling, so the runtime cannot be destroyed meanwhile.
  std::lock_guard guard(g_runtimes_mutex);
  for (Runtime* rt : *g_runtimes)
    if (rt->id() == timer.runtime_id) return rt->cancel_timer(timer.timer_id);
  return false;
}

std::size_t pending_timers() noexcept {
  if (Worker* w = this_worker()) return w->rt->pending_timers();
  if (Runtime* rt = g_default_runtime.load(std::memory_order_acquire)) return rt->pending_timers();
  return 0;
}

[[noreturn]] __attribute__((noinline, cold)) void throw_spawn_after_exit(const std::source_location& where) {
  throw std::logic_error(
      std::string("goro::go_spawn at ") + where.file_name() + ":" + std::to_string(where.line()) +
      " in " + where.function_name() +
      ": the process is exiting and goro's default runtime has stopped, so the task would "
      "never run (a static destructor or atexit handler spawning?). Spawn before main() "
      "returns, or run the work inside goro::run().");
}

TaskId spawn_task(const SpawnOptions* opts, const std::source_location& where, std::size_t size,
                  std::size_t align, void (*construct)(void*, void*), void* arg,
                  const ClosureOps& ops) {
  Runtime& rt = current_or_default_runtime();
  if (rt.exited()) throw_spawn_after_exit(where);
  TaskRecord* t = rt.create_task(opts, where, size, align, construct, arg, ops);
  const TaskId id = t->id;  // t may run and be freed as soon as it is ready
  rt.ready(t);
  return id;
}

Netpoll& default_runtime_poller() { return default_runtime().netpoll(); }

void wake_default_runtime_for_poller() noexcept { default_runtime().wake_idle_for_poller(); }

}  // namespace goro::detail

