// runtime/src/shutdown.cpp — how a runtime ends: run()'s end (wait for the main task or
// a deadlock verdict, report leftovers, stop the workers, unwind every task left) and the
// default runtime's process exit (report, stop the workers within a bound, never unwind).
//
// Touches the Runtime's stopping_/unwinding_ flags, its queues and timers (emptied when
// unwinding), the registry (read), and the calling thread's worker slot (the unwinder).
// Invariants:
// - stopping_ is set (seq_cst) before every idle worker is woken, and a worker checks it
//   before it sleeps, so stop_workers() never waits for a sleeper.
// - Unwinding happens on one thread after the workers have stopped: that thread becomes
//   a worker (the unwinder) and resumes each task it finds in the registry at most once
//   per park, so TaskUnwind runs through its stack; unwind_live_ is touched only by it
//   (and by create_task/free_task on that same thread while it runs the tasks).
// - unwinding_ is set before g_park_hooks' unwinding lane (park_hooks.hpp), and both
//   before any task is resumed, so every resumed task sees it.
// Locks: none of its own; the registry's shard locks while walking it.
#include "scheduler.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "deadlock.hpp"
#include "diag_hooks.hpp"
#include "log.hpp"
#include "park_hooks.hpp"
#include "sanitizers.hpp"
#include "wait_record.hpp"

namespace goro::detail {

std::size_t Runtime::report_leftovers() {
  std::size_t count = 0;
  registry_for_each([&](const TaskRecord& t) {
    if (t.runtime == this && t.id != main_task_id_) ++count;
  });
  if (count > 0 && leak_policy_ != LeakPolicy::off) {
    logger().warn("{} goro task{} still alive when the {} ended (leaked){}:\n{}", count,
                  count == 1 ? " was" : "s were",
                  is_default_ ? "process" : "main task of goro::run",
                  leak_policy_ == LeakPolicy::fail ? "; GORO_LEAKCHECK=fail: exit code 1" : "",
                  live_task_report(this, main_task_id_));
    logger().flush();
  }
  return count;
}

void Runtime::stop_workers() {
  stopping_.store(true, std::memory_order_seq_cst);
  idle_.wake_all();
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
}

void Runtime::unwind_all_tasks() {
  if (!unwinding_.exchange(true, std::memory_order_seq_cst))
    g_park_hooks.fetch_add(kParkHookUnwindingRuntime, std::memory_order_seq_cst);
  // Queued entries are stale now: the registry is the list of what is left.
  TaskRecord* ignored = nullptr;
  while (global_.try_dequeue(ignored)) {
  }
  for (auto& w : workers_) {
    w->runnext.store(nullptr, std::memory_order_relaxed);
    while (w->runq.pop() != nullptr) {
    }
  }
  for (const TimerHeap::Callback& drop : timers_.take_all()) drop.run();

  // This thread becomes a worker that resumes each task once so it unwinds.
  Worker unwinder;
  unwinder.rt = this;
  unwinder.index = static_cast<unsigned>(workers_.size());
  unwinder.tsan_fiber = sanitizers::tsan_current_fiber();
  Worker* saved = set_this_worker(&unwinder);
  registry_for_each([&](const TaskRecord& t) {
    if (t.runtime == this) unwind_live_[const_cast<TaskRecord*>(&t)] = t.id;
  });
  std::vector<std::pair<TaskRecord*, TaskId>> pending;
  std::unordered_map<TaskId, bool> resumed_once;
  for (;;) {
    pending.clear();
    for (auto [t, id] : unwind_live_) {
      TaskState s = t->state.load(std::memory_order_relaxed);
      if (s == TaskState::runnable || (s == TaskState::parked && !resumed_once.count(id)))
        pending.emplace_back(t, id);
    }
    if (pending.empty()) break;
    for (auto [t, id] : pending) {
      // A record freed earlier in this pass may hold another task by now.
      auto it = unwind_live_.find(t);
      if (it == unwind_live_.end() || it->second != id) continue;
      resumed_once[id] = true;
      // Resumed without ready(): end the wait record here (wait_record.hpp).
      clear_wait(t);
      execute(&unwinder, t);
    }
  }
  set_this_worker(saved);
  live_.fetch_add(unwinder.live_delta.load(std::memory_order_relaxed), std::memory_order_acq_rel);
  std::size_t stuck = live_tasks();
  if (stuck > 0)
    logger().error(
        "goro::run: {} task(s) could not be unwound: they blocked again inside a destructor "
        "while unwinding, or swallowed the unwind (reported above). Their stacks are kept "
        "(leaked).",
        stuck);
}

void Runtime::wait_for_main_or_deadlock() {
  // Like a plain thread blocked in a goro call: if the detector condemns this wait, the
  // main task can never finish: unwind the tasks, throw.
  const std::shared_ptr<const std::string> verdict =
      wait_unless_deadlocked(&main_done, nullptr, main_task_id_);
  if (!verdict) return;
  std::string message =
      "goro: all goro tasks are asleep - deadlock! The main task of goro::run (task " +
      std::to_string(main_task_id_) + ") can never finish.\n" + *verdict;
  stop_workers();
  unwind_all_tasks();
  throw Deadlock(message);
}

int Runtime::finish_run(TaskRecord* main_task) {
  (void)main_task;
  wait_for_main_or_deadlock();
  // Tasks that are running or runnable may be just finishing (e.g. right after the
  // wg.done() that let main return): give them up to 500 ms, as goleak does.
  // Parked tasks are not waited for: only the others could finish by themselves.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  for (auto pause = std::chrono::microseconds(50); std::chrono::steady_clock::now() < give_up;
       pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(20))) {
    bool any_active = false;
    registry_for_each([&](const TaskRecord& t) {
      if (t.runtime != this || t.id == main_task_id_) return;
      TaskState s = t.state.load(std::memory_order_relaxed);
      if (s == TaskState::running || s == TaskState::runnable) any_active = true;
    });
    if (!any_active) break;
    std::this_thread::sleep_for(pause);
  }
  std::size_t leftovers = report_leftovers();
  stop_workers();
  unwind_all_tasks();
  (void)blocking_pool_->shutdown(kBlockingShutdownWait);  // joins its threads
  return (leak_policy_ == LeakPolicy::fail && leftovers > 0) ? 1 : 0;
}

void Runtime::shutdown_at_exit() {
  std::size_t leftovers = report_leftovers();
  // Workers blocked in a task that never yields would hang a join: wait a bounded time
  // for each, then let the process exit around them.
  stopping_.store(true, std::memory_order_seq_cst);
  idle_.wake_all();
  const std::int64_t give_up = now_ns() + 1'000'000'000;
  for (auto& w : workers_) {
    while (w->thread.joinable()) {
      if (exited_workers_.load(std::memory_order_acquire) == workers_.size() ||
          now_ns() > give_up)
        break;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      idle_.wake_all();
    }
  }
  for (auto& w : workers_) {
    if (!w->thread.joinable()) continue;
    if (exited_workers_.load(std::memory_order_acquire) == workers_.size())
      w->thread.join();
    else
      w->thread.detach();
  }
  (void)blocking_pool_->shutdown(kBlockingShutdownWait, "the process's exit");  // joins its threads
  if (leak_policy_ == LeakPolicy::fail && leftovers > 0) {
    std::fflush(nullptr);
    std::_Exit(1);
  }
}

}  // namespace goro::detail
