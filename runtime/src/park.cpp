// runtime/src/park.cpp — parking and waking: a task's park() (switch out until ready()),
// a plain thread's (its futex, watched by the deadlock detector), the Waiter both use
// (init_waiter/wake), task_yield, the calling thread's worker (this_worker) and the
// globals park() reads (park_hooks.hpp).
// See goro/detail/park.hpp for the parking invariants every primitive relies on.
//
// What it touches: the running task's record (its wait record) and its worker's release
// step (Worker::release/release_arg, run by Runtime::execute after the switch); a plain
// thread's ThreadParker; the thread-locals t_worker and t_spawn_origin.
// Invariants:
// - A parking task's release step runs on the worker's stack after the task is switched
//   out and published as parked (Runtime::execute), so a waker that the release step
//   lets in can ready the task at once: it never resumes a task still on its stack.
// - Each wake() pairs with exactly one park(): the waker owns the claimed Waiter, and the
//   waiter was queued by the park it ends. wake() reads the Waiter before waking anything:
//   once woken, the sleeper may return and pop the Waiter's frame.
// - The hot path (no hook on) is one load of g_park_hooks before switching and one after;
//   everything else (block profile, stack capture, diag readers, unwinding) is behind it.
// No locks.
#include <execinfo.h>

#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "bubble.hpp"
#include "deadlock.hpp"
#include "goro/detail/futex_lock.hpp"
#include "goro/detail/park.hpp"
#include "goro/detail/schedule_point.hpp"
#include "log.hpp"
#include "park_hooks.hpp"
#include "scheduler.hpp"
#include "stack_pool.hpp"
#include "switch.hpp"
#include "wait_record.hpp"

namespace goro::detail {

std::atomic<std::int64_t> g_block_profile_rate_ns{0};
// Alone on its cache line: every park reads it twice (park_hooks.hpp).
alignas(64) std::atomic<std::uint64_t> g_park_hooks{0};
std::atomic<BlockEventSink> g_block_event_sink{nullptr};

// ---------------------------------------------------------------------- thread state
//
// Here, with park(), its hottest caller: a call within one translation unit lets the
// compiler see which registers this_worker() leaves alone.

namespace {
thread_local Worker* t_worker = nullptr;
thread_local std::uint64_t t_spawn_origin = 0;
}  // namespace

__attribute__((noinline)) Worker* this_worker() noexcept {
  Worker* w = t_worker;
  asm volatile("" ::: "memory");
  return w;
}

Worker* set_this_worker(Worker* w) noexcept { return std::exchange(t_worker, w); }
std::uint64_t thread_spawn_origin() noexcept { return t_spawn_origin; }
void set_thread_spawn_origin(std::uint64_t origin) noexcept { t_spawn_origin = origin; }

std::uint64_t current_origin() noexcept {
  Worker* w = this_worker();
  return (w && w->current) ? w->current->origin : t_spawn_origin;
}

const TaskRecord* current_task_record_for_signal() noexcept {
  Worker* w = t_worker;
  return w ? w->current : nullptr;
}

// --------------------------------------------------------------------- thread parker

// A plain thread's parking spot. Each wake() pairs with exactly one park(): the waker
// owns the claimed waiter, and the waiter was queued by the park it ends.
struct ThreadParker {
  std::atomic<std::uint32_t> word{0};  // 1: a wake-up is pending
};

namespace {
thread_local ThreadParker t_parker;
}

// A plain thread blocked in goro waits through the deadlock detector (deadlock.hpp): it
// returns when woken, or throws DeadlockDetected when a verdict condemns it. The verdict's
// text waits here for throw_deadlock().

namespace {
thread_local std::shared_ptr<const std::string> t_deadlock_verdict;
}  // namespace

namespace {
// A plain thread's wait found GORO_DEADLOCK_MS invalid: the message of the
// std::invalid_argument that throw_deadlock() throws instead of goro::Deadlock.
thread_local std::string t_invalid_setting;
}  // namespace

// Never inlined into park(): its frame would make every task's park push more registers.
__attribute__((noinline)) void park_thread(void (*release)(void*), void* arg, const WaitSite& site) {
  ThreadParker& parker = t_parker;
  try {
    (void)deadlock_grace_ns();
  } catch (const std::invalid_argument& e) {
    // Leave as the detector does (the caller unqueues its waiter under its lock, which
    // release() gives back), and let throw_deadlock() raise this error instead.
    t_invalid_setting = e.what();
    if (release) release(arg);
    throw DeadlockDetected{site};
  }
  if (release) release(arg);
  if (auto verdict = wait_unless_deadlocked(&parker.word, &site, 0)) {
    t_deadlock_verdict = std::move(verdict);
    throw DeadlockDetected{site};
  }
  parker.word.store(0, std::memory_order_relaxed);  // the wake-up, seen with acquire
}

void await_wake() {
  ThreadParker& parker = t_parker;
  while (parker.word.exchange(0, std::memory_order_acquire) == 0) futex_wait(&parker.word, 0);
}

void throw_deadlock(const WaitSite& site) {
  if (!t_invalid_setting.empty()) throw std::invalid_argument(std::exchange(t_invalid_setting, {}));
  // The detector logged the verdict once, for every thread it condemned.
  const std::shared_ptr<const std::string> verdict = std::move(t_deadlock_verdict);
  throw goro::Deadlock("goro: all goro tasks are asleep - deadlock! This thread was blocked in [" +
                       std::string(diag::to_string(site.reason)) + "] at " +
                       site.where.file_name() + ":" + std::to_string(site.where.line()) +
                       " in " + site.where.function_name() + ".\n" +
                       (verdict ? *verdict : std::string()));
}

GORO_HOT_PATH void init_waiter(Waiter& w) noexcept {
  if (TaskRecord* t = current_task_record()) {
    w.task = t;
    w.thread = nullptr;
  } else {
    w.task = nullptr;
    w.thread = &t_parker;
  }
}

GORO_HOT_PATH void wake(const Waiter& w) noexcept {
  // Read everything first: once woken, the sleeper may return and pop w's frame.
  TaskRecord* task = w.task;
  ThreadParker* thread = w.thread;
  if (task != nullptr) {
    task->runtime->ready(task);
  } else {
    thread->word.store(1, std::memory_order_release);
    futex_wake(&thread->word, 1);
  }
}

// ------------------------------------------------------------------------- tasks

namespace {

// A parking task whose stack has no guard: reports an overflow if the canary below the
// stack is broken or the stack pointer is below the stack (a frame still live that
// reaches into the slot below).
// (This function's own frame stands for the stack pointer: it lies below the parker's.)
__attribute__((noinline, cold)) void check_unguarded_stack(TaskRecord* t) noexcept {
  if (!StackPool::canary_intact({t->stack, t->stack_guarded}))
    report_stack_overflow(t, OverflowEvidence::canary);
  if (static_cast<const std::byte*>(__builtin_frame_address(0)) < t->stack + StackPool::guard_size())
    report_stack_overflow(t, OverflowEvidence::stack_pointer);
}

// Fills t's stack buffer (allocated on first use) with the return addresses of the
// parking task; returns the depth to publish (0 when out of memory). No diag reader
// looks at pcs now: t is running, so its wait site is null (wait_record.hpp).
__attribute__((noinline, cold)) std::uint32_t capture_wait_stack(TaskRecord* t) noexcept {
  if (!t->wait_stack) t->wait_stack.reset(new (std::nothrow) WaitStack);
  if (!t->wait_stack) return 0;
  int n = ::backtrace(t->wait_stack->pcs, WaitStack::kMaxFrames);
  return n > 0 ? static_cast<std::uint32_t>(n) : 0;
}

}  // namespace

namespace {

// The body of park() for a task while a hook is on (park_hooks.hpp): checks for
// unwinding, and
// - `timed` (the block profile is on) adds a precise clock read before and after and
//   hands the event to diag's sink (profiling_hooks.hpp);
// - `capture` (Config::capture_stacks) calls backtrace() before publishing.
template <bool timed, bool capture>
__attribute__((always_inline)) inline void park_task_hooked(Worker* w, const WaitSite& site,
                                                            void (*release)(void*),
                                                            void* release_arg,
                                                            std::int64_t block_rate_ns) {
  TaskRecord* t = w->current;
  Runtime* rt = t->runtime;
  if (rt->unwinding() && std::uncaught_exceptions() == 0) {
    if (release) release(release_arg);
    throw_task_unwind(w, t);
  }
  if (!t->stack_guarded) check_unguarded_stack(t);
#if !defined(GORO_NO_WAIT_RECORDING)  // compiled out only to measure its cost
  if constexpr (capture)
    t->wait_stack_depth.store(static_cast<std::uint8_t>(capture_wait_stack(t)),
                              std::memory_order_relaxed);
  publish_wait(t, site);
#endif
  w->release = release;
  w->release_arg = release_arg;
  std::int64_t parked_at = 0;
  if constexpr (timed) parked_at = now_ns();
  switch_out(w, AfterSwitch::park);
  if constexpr (timed) {
    const std::int64_t blocked_ns = now_ns() - parked_at;
    // Pinned-free: the site is our caller's, t is ourselves; both alive.
    if (BlockEventSink sink = g_block_event_sink.load(std::memory_order_acquire))
      sink(site, *t, blocked_ns, block_rate_ns);
  }
#if !defined(GORO_NO_WAIT_RECORDING)
  end_wait(t);
#endif
  if (rt->unwinding() && std::uncaught_exceptions() == 0) throw_task_unwind(this_worker(), t);
}

__attribute__((noinline, cold)) void park_task_hooked(Worker* w, const WaitSite& site,
                                                      void (*release)(void*), void* release_arg) {
  const std::int64_t block_rate_ns = g_block_profile_rate_ns.load(std::memory_order_relaxed);
  const bool capture = w->current->runtime->config().capture_stacks;
  if (block_rate_ns != 0) {
    if (capture)
      park_task_hooked<true, true>(w, site, release, release_arg, block_rate_ns);
    else
      park_task_hooked<true, false>(w, site, release, release_arg, block_rate_ns);
  } else if (capture) {
    park_task_hooked<false, true>(w, site, release, release_arg, 0);
  } else {
    park_task_hooked<false, false>(w, site, release, release_arg, 0);
  }
}

// A hook came on while the task was parked (park_hooks.hpp): the rest of end_wait and
// of the unwinding check.
__attribute__((noinline, cold)) void resume_hooked(TaskRecord* t, std::uint64_t hooks) {
#if !defined(GORO_NO_WAIT_RECORDING)
  end_wait_hooked(t, hooks);
#else
  (void)hooks;
#endif
  if (t->runtime->unwinding() && std::uncaught_exceptions() == 0) throw_task_unwind(this_worker(), t);
}

}  // namespace

GORO_HOT_PATH void park(const WaitSite& site, void (*release)(void*), void* release_arg) {
  Worker* w = this_worker();
  if (w == nullptr || w->current == nullptr) {
    park_thread(release, release_arg, site);
    return;
  }
  // No hook on (the default): no profile, no stack capture, no diag reader, no runtime
  // unwinding (so this task cannot be asked to unwind: the unwinder sets its lane before
  // it resumes anything). One load and branch here and one after resuming.
  if (park_hooks() != 0) [[unlikely]] {
    park_task_hooked(w, site, release, release_arg);
    return;
  }
  TaskRecord* t = w->current;
#if !defined(GORO_NO_WAIT_RECORDING)  // compiled out only to measure its cost
  publish_wait(t, site);
#endif
  if (!t->stack_guarded) [[unlikely]] check_unguarded_stack(t);
  w->release = release;
  w->release_arg = release_arg;
  switch_out(w, AfterSwitch::park);
  // end_wait(t), with its check merged into the unwinding one.
  std::atomic_signal_fence(std::memory_order_seq_cst);  // wait_record.hpp: membarrier
  if (const std::uint64_t hooks = park_hooks(); hooks != 0) [[unlikely]] resume_hooked(t, hooks);
}

void task_yield() {
  Worker* w = this_worker();
  if (w == nullptr || w->current == nullptr) {
    std::this_thread::yield();
    return;
  }
  TaskRecord* t = w->current;
  Runtime* rt = t->runtime;
  if (rt->unwinding() && std::uncaught_exceptions() == 0) throw_task_unwind(w, t);
  switch_out(w, AfterSwitch::yield);
  if (rt->unwinding() && std::uncaught_exceptions() == 0) throw_task_unwind(this_worker(), t);
}

void task_yield_nothrow() noexcept {
  Worker* w = this_worker();
  if (w != nullptr && w->current != nullptr) switch_out(w, AfterSwitch::yield);
}

TaskRecord* current_task_record() noexcept {
  Worker* w = this_worker();
  return w ? w->current : nullptr;
}

void ready_task(TaskRecord* t) noexcept { t->runtime->ready(t); }

}  // namespace goro::detail

namespace goro {

// Here, not with the rest of the API (api.cpp): task_yield inlines into it.
void yield() {
  detail::schedule_point();  // exploring: a step (PCT may drop this task's priority here)
  detail::task_yield();
}

}  // namespace goro
