// goro/errgroup.hpp — a group of tasks working on parts of one job, where the first
// failure cancels the rest (Go's golang.org/x/sync/errgroup.WithContext).
//
//   goro::ErrGroup group(ctx);                 // ErrGroup() : a child of background()
//   group.set_limit(4);                        // at most 4 fetches at once (optional)
//   for (const std::string& url : urls)
//     group.go([url](goro::Context ctx) { fetch(ctx, url); });   // or a function of no args
//   group.wait();                              // rethrows the first exception of any task
//
// Semantics are Go's, with exceptions for errors:
// - go(f) runs f as a task (f() or f(Context), the group's context). An exception
//   escaping f is the task's error: it never reaches the runtime's panic policy. The
//   first one is kept, and it cancels context() (a with_cancel child of the parent).
// - wait() waits for every task started by go(), then cancels context() (as Go's Wait)
//   and rethrows the first error, if any (every later wait() rethrows it too).
// - set_limit(n): at most n tasks of the group run at once; go() parks (as `semaphore`,
//   at its call site) until one ends; a negative n means no limit. Changing the limit
//   while tasks of the group run or wait to start throws std::logic_error (Go panics).
//   With a limit of 0 no task can ever start: go() throws std::logic_error rather than
//   parking forever, try_go() returns false.
// - The group's tasks are named "errgroup <group>/<n>" (n counts from 1) in diag::tasks()
//   and the dumps, unless SpawnOptions give a name.
//
// Call wait() before the group goes away, as in Go. If it is destroyed first, its tasks
// still run to their end (they share its state), and their errors are dropped.
//
// Invariants (errgroup.cpp): every go() that started a task made exactly one
// started.add(1), and the task's closure makes exactly one started.done() once the
// task's function (and its captures) are gone and its limit unit is released; `users`
// counts go() calls from their start to that point (parked on the limit included), so
// set_limit() sees 0 only when nobody holds or waits for a unit of the old limit.
// Lock discipline: ErrGroupState::lock guards first_error; `limit` and `limit_zero` are
// written only by set_limit() while users is 0 (like Go, set_limit must not race with go()).
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <source_location>
#include <string>
#include <type_traits>
#include <utility>

#include "goro/context.hpp"
#include "goro/detail/park.hpp"
#include "goro/runtime.hpp"
#include "goro/semaphore.hpp"
#include "goro/wait_group.hpp"

namespace goro {

namespace detail {

// Shared by an ErrGroup and its tasks.
struct ErrGroupState {
  explicit ErrGroupState(const Context& parent);

  // A task of the group threw: keep the first error and cancel the group's context.
  void fail(std::exception_ptr error) noexcept;
  // A task of the group ended (after fail, if it failed).
  void task_done(Semaphore* limit) noexcept;
  // go()'s start: a limit unit (parking for it; or false when !may_park and none is
  // free), then the bookkeeping of a started task. *limit: the semaphore a unit was
  // taken from, or nullptr without a limit.
  bool begin_task(Semaphore** limit, bool may_park, const std::source_location& where);
  std::string next_task_name();

  const std::uint64_t id;           // for task names
  Context context;
  CancelFunc cancel;
  WaitGroup started;                // tasks started and not yet ended
  std::atomic<std::int64_t> users{0};
  std::atomic<std::uint64_t> tasks_named{0};
  std::unique_ptr<Semaphore> limit;  // null: no limit
  bool limit_zero = false;           // set_limit(0): nothing may start
  FutexLock lock;                    // guards first_error
  std::exception_ptr first_error;
};

// The task's closure: runs f, records its error, and ends the task's share of the group
// in its destructor, which runs once the task has ended (or, unrun, when run() discards
// it or the spawn fails). Only the closure that still holds `group` does so: fn is moved
// before group, so a throwing move of fn leaves that duty with the source.
template <class Fn>
struct ErrGroupTask {
  std::optional<Fn> fn;  // destroyed before the share ends, so wait() returns after it
  std::shared_ptr<ErrGroupState> group;
  Semaphore* limit;

  ErrGroupTask(std::shared_ptr<ErrGroupState> g, Semaphore* l, Fn&& f)
      : fn(std::move(f)), group(std::move(g)), limit(l) {}
  ErrGroupTask(ErrGroupTask&& other)
      : fn(std::move(other.fn)), group(std::move(other.group)), limit(other.limit) {}
  ~ErrGroupTask() {
    fn.reset();
    if (group) group->task_done(limit);
  }

  void operator()() {
    try {
      if constexpr (std::is_invocable_v<Fn&, Context>)
        std::invoke(*fn, group->context);
      else
        std::invoke(*fn);
    } catch (const TaskUnwind&) {
      throw;
    } catch (...) {
      group->fail(std::current_exception());
    }
  }
};

}  // namespace detail

class ErrGroup {
 public:
  // A group whose context is a child of Context::background().
  ErrGroup();
  // A group whose context is with_cancel(parent): cancelled with the parent, at the
  // group's first error, and when wait() returns.
  explicit ErrGroup(Context parent);
  ErrGroup(const ErrGroup&) = delete;
  ErrGroup& operator=(const ErrGroup&) = delete;
  ~ErrGroup();

  // Runs fn (fn() or fn(Context)) as a task of the group, spawned at `where`. Parks
  // first while the limit's worth of tasks run.
  template <class F>
  void go(F&& fn, std::source_location where = std::source_location::current()) {
    go(SpawnOptions{}, std::forward<F>(fn), where);
  }
  template <class F>
  void go(SpawnOptions opts, F&& fn, std::source_location where = std::source_location::current()) {
    (void)start(std::move(opts), std::forward<F>(fn), /*may_park=*/true, where);
  }
  // go() that never parks: false (and fn is not run) when the limit is reached.
  template <class F>
  bool try_go(F&& fn, std::source_location where = std::source_location::current()) {
    return start(SpawnOptions{}, std::forward<F>(fn), /*may_park=*/false, where);
  }

  // Waits for every task started by go(); then cancels context() and rethrows the
  // first exception any of them threw.
  void wait(std::source_location where = std::source_location::current());
  // Cancelled at the first failure, when wait() returns, or with the parent.
  Context context() const;
  // At most n tasks at once (negative: no limit). std::logic_error while tasks run.
  void set_limit(int n);

 private:
  template <class F>
  bool start(SpawnOptions opts, F&& fn, bool may_park, const std::source_location& where) {
    using Fn = std::decay_t<F>;
    static_assert(std::is_invocable_v<Fn&, Context> || std::is_invocable_v<Fn&>,
                  "ErrGroup::go takes a function of no arguments or of a goro::Context");
    if constexpr (std::is_invocable_v<Fn&, Context>)
      static_assert(std::is_void_v<std::invoke_result_t<Fn&, Context>>,
                    "ErrGroup tasks report errors by throwing; use goro::async for values");
    else
      static_assert(std::is_void_v<std::invoke_result_t<Fn&>>,
                    "ErrGroup tasks report errors by throwing; use goro::async for values");
    Semaphore* limit = nullptr;
    if (!state_->begin_task(&limit, may_park, where)) return false;
    if (opts.name.empty()) opts.name = state_->next_task_name();
    // If the spawn throws, the closure's destructor ends the task's share (see ErrGroupTask).
    go_spawn(std::move(opts), detail::ErrGroupTask<Fn>(state_, limit, Fn(std::forward<F>(fn))),
             where);
    return true;
  }

  std::shared_ptr<detail::ErrGroupState> state_;
};

}  // namespace goro
