// runtime/src/api.cpp — the public API of goro/runtime.hpp over the scheduler: run(),
// sleep_for/sleep_until, current_task(), num_tasks(). (yield() is in park.cpp, spawning
// in default_runtime.cpp, next to what inlines into them.)
//
// Touches a Runtime only through its interface (scheduler.hpp) and the runtimes' list.
// Invariants: run()'s runtime outlives every task that could not be unwound (it is
// leaked then, not destroyed); a sleeping task's timer is added by its park's release
// step, after it is switched out, so the timer cannot ready it before it is parked.
// Lock discipline: num_tasks() holds g_runtimes_mutex (runtime_list.hpp) while it sums.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "goro/detail/park.hpp"
#include "goro/detail/timer.hpp"
#include "runtime_list.hpp"
#include "scheduler.hpp"

namespace goro {

int run(std::function<void()> main_task, Config cfg) {
  if (!main_task) throw std::invalid_argument("goro::run: main_task is empty");
  auto rt = std::make_unique<detail::Runtime>(cfg, /*is_default=*/false);
  rt->start();
  SpawnOptions opts{.name = "main"};
  std::function<void()>* fn = &main_task;
  detail::TaskRecord* t = nullptr;
  try {
    t = rt->create_task(
        &opts, std::source_location::current(), sizeof(detail::MainClosure),
        alignof(detail::MainClosure),
        [](void* storage, void* src) {
          ::new (storage) detail::MainClosure{*static_cast<std::function<void()>**>(src)};
        },
        &fn, detail::closure_ops<detail::MainClosure>);
  } catch (...) {
    rt->stop_workers();  // nothing runs yet: the workers only need to be joined
    throw;
  }
  rt->set_main_task(t->id);
  rt->ready(t);
  int code = rt->finish_run(t);
  std::exception_ptr main_exception = std::move(rt->main_exception);
  if (rt->live_tasks() > 0) {
    (void)rt.release();  // tasks that could not be unwound still point at it
  }
  // PanicPolicy::log_and_continue: an exception escaping the main task is the caller's,
  // as if main_task had been called directly (after the leftovers were dealt with).
  if (main_exception) std::rethrow_exception(main_exception);
  return code;
}

namespace {

// Parks the calling task `w->current` until now_ns() reaches `when` (> now): a timer of
// its runtime readies it. kNeverNs: nothing will wake it (as a timer that never fires);
// only run()'s unwinding ends the wait.
void park_until(detail::Worker* w, std::int64_t when, const std::source_location& where) {
  if (when == detail::kNeverNs) {
    detail::park({diag::WaitReason::sleep, where, nullptr}, nullptr, nullptr);
    return;
  }
  struct SleepArgs {
    detail::Runtime* rt;
    std::int64_t when;
    detail::TaskRecord* task;
  } args{w->rt, when, w->current};
  detail::park(
      {diag::WaitReason::sleep, where, nullptr},
      [](void* p) {
        auto* a = static_cast<SleepArgs*>(p);
        a->rt->add_timer(
            a->when, [](void* t) { detail::ready_task(static_cast<detail::TaskRecord*>(t)); },
            nullptr, a->task);
      },
      &args);
}

}  // namespace

void sleep_for(std::chrono::nanoseconds d, std::source_location where) {
  detail::Worker* w = detail::this_worker();
  if (w == nullptr || w->current == nullptr) {
    if (d.count() > 0) std::this_thread::sleep_for(d);
    return;
  }
  if (d.count() <= 0) {
    detail::task_yield();
    return;
  }
  park_until(w, detail::deadline_after_ns(d), where);
}

void sleep_until(std::chrono::steady_clock::time_point t, std::source_location where) {
  detail::Worker* w = detail::this_worker();
  if (w == nullptr || w->current == nullptr) {
    std::this_thread::sleep_until(t);
    return;
  }
  const std::int64_t when = detail::deadline_ns(t);
  if (when <= detail::now_ns()) {
    detail::task_yield();
    return;
  }
  park_until(w, when, where);
}

TaskId current_task() noexcept {
  detail::Worker* w = detail::this_worker();
  return (w && w->current) ? w->current->id : 0;
}

std::size_t num_tasks() noexcept {
  std::lock_guard guard(detail::g_runtimes_mutex);  // keeps each runtime and its workers_
  std::size_t n = 0;
  for (const detail::Runtime* rt : *detail::g_runtimes) n += rt->live_tasks();
  return n;
}

}  // namespace goro
