// runtime/src/proc.cpp — the scheduler's core (Go's proc.go): a Runtime's construction
// and workers, readying tasks, the worker loop (find_runnable: local queue, global queue,
// timers, poller, spinning, then idle), running a task (execute) and freeing it.
//
// What it touches: the Runtime's fields and its workers' (scheduler.hpp); the idle and
// wake-up protocol only through IdleWorkers (idle.hpp), the poller only through it too;
// stealing through Runtime::steal (steal.cpp); task switching through switch_context and
// task_entry (switch.hpp).
//
// Invariants (scheduler.hpp has the whole protocol):
// - A task is in at most one place at a time: a worker's runnext or run queue, the global
//   queue, or running on one worker (Worker::current). ready() puts a parked task in
//   exactly one of them; execute() takes it out of all of them.
// - runnext, runq and the counters of a Worker are written by its own thread only
//   (thieves take from runnext and runq by CAS: run_queue.hpp); other threads ready
//   into the global queue.
// - Publishing a task is followed by the producer's half of the idle protocol
//   (IdleWorkers::wake_if_needed*), and a worker goes idle only by IdleWorkers::enter()
//   followed by a re-check of every queue and the timers, so no task is left queued
//   while every worker sleeps.
// - After switching back from a task, execute() does what the task asked (AfterSwitch) on
//   the worker's stack: a parked task is published (ctx, state, park epoch) before its
//   release step runs, and from then on may run elsewhere, so it is not touched again.
//
// Locks: none of its own. IdleWorkers::lock_ (idle.hpp) and the timer heap's lock are
// taken inside their classes; g_runtimes_mutex (runtime_list.hpp) by the constructor,
// destructor and start(). No lock is held while a task or timer callback runs.
// This file is one translation unit on purpose: the worker loop's common case
// (find_runnable, try_get_work, run_task) inlines into it.
#include "scheduler.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "bubble.hpp"
#include "config.hpp"
#include "diag_hooks.hpp"
#include "log.hpp"
#include "park_hooks.hpp"
#include "record_pool.hpp"
#include "runtime_list.hpp"
#include "sanitizers.hpp"
#include "stack_pool.hpp"
#include "switch.hpp"
#include "thread_registry.hpp"
#include "wait_clock.hpp"
#include "wait_record.hpp"

namespace goro::detail {

namespace {

constexpr std::uint32_t kMaxRunnextStreak = 61;

}  // namespace

// ----------------------------------------------------------------------------- Runtime

Runtime::Runtime(const Config& cfg, bool is_default)
    : cfg_(resolve_config(cfg)),
      id_(g_next_runtime_id.fetch_add(1)),
      is_default_(is_default),
      leak_policy_(*cfg_.leak_policy),
      pool_(&StackPool::for_size(resolve_stack_size(cfg.stack_size))),
      blocking_pool_(std::make_unique<BlockingPool>(cfg.blocking_threads)) {
  check_deadlock_config(cfg);
  cfg_.stack_size = pool_->usable_size();
  resolve_limits(cfg_);
  limits_on_ = cfg_.max_tasks != 0 || cfg_.soft_max_tasks != 0 || cfg_.max_stack_bytes != 0;
  next_soft_warning_.store(cfg_.soft_max_tasks, std::memory_order_relaxed);
  if (cfg_.capture_stacks) g_park_hooks.fetch_add(kParkHookCapturingRuntime);
  logger();  // created before any atexit handler of ours, so destroyed after it
  {
    std::lock_guard guard(g_runtimes_mutex);
    g_runtimes->push_back(this);
  }
  if (cfg_.trend_period->count() > 0) start_trend_sampler(*cfg_.trend_period);
}

Runtime::~Runtime() {
  if (cfg_.capture_stacks) g_park_hooks.fetch_sub(kParkHookCapturingRuntime);
  if (unwinding_.load()) g_park_hooks.fetch_sub(kParkHookUnwindingRuntime);
  {
    std::lock_guard guard(g_runtimes_mutex);
    g_runtimes->erase(std::find(g_runtimes->begin(), g_runtimes->end(), this));
    add_stats(&g_retired_stats);
  }
  // A call still running on a pool thread outlives us: its pool must too.
  if (!blocking_pool_->shutdown(kBlockingShutdownWait)) (void)blocking_pool_.release();
  // Timers still pending (possible only when shut down without unwinding).
  for (const TimerHeap::Callback& drop : timers_.take_all()) drop.run();
}

void Runtime::start() {
  init_wait_records();
  {
    std::lock_guard guard(g_runtimes_mutex);  // runtime_stats() reads workers_
    workers_.reserve(cfg_.workers);
    for (unsigned i = 0; i < cfg_.workers; ++i) {
      auto w = std::make_unique<Worker>();
      w->rt = this;
      w->index = i;
      w->registry_shards = RegistryShardCycle(i, cfg_.workers);
      w->alone = cfg_.workers == 1;
      workers_.push_back(std::move(w));
    }
  }
  if (bubble != nullptr) return;  // the bubble's thread is its worker
  for (auto& w : workers_) {
    Worker* raw = w.get();
    raw->thread = std::thread(
        [this, raw, note = note_thread_created("goro worker")] { worker_main(raw); });
  }
}

void Runtime::bind_stack(TaskRecord* t) {
  StackPool& stacks = StackPool::by_index(t->stack_pool_index);
  const StackPool::Slot slot = stacks.acquire();  // reserved at spawn: no mmap, no failure
  t->stack = slot.base;
  t->stack_guarded = slot.guarded;
  t->ctx = make_context(stacks.stack_top(slot.base), stacks.usable_size());
#if defined(GORO_TSAN)
  t->tsan_fiber = sanitizers::tsan_create_fiber();
#endif
}

std::size_t Runtime::live_tasks() const noexcept {
  std::int64_t live = live_.load(std::memory_order_acquire);
  for (const auto& w : workers_) live += w->live_delta.load(std::memory_order_acquire);
  return live > 0 ? static_cast<std::size_t>(live) : 0;
}

void Runtime::free_task(Worker* w, TaskRecord* t) noexcept {
  if (t->stack != nullptr && !StackPool::canary_intact({t->stack, t->stack_guarded}))
    report_stack_overflow(t, OverflowEvidence::canary);
  const bool is_main = t->id == main_task_id_;
  StackPool& stacks = StackPool::by_index(t->stack_pool_index);
  // Before the record leaves the registry: whoever sees it gone may spawn in its place.
  if (limits_on_) release_task_limits(stacks.slot_size());
  registry_remove(t);
  if (unwinding_.load(std::memory_order_acquire)) unwind_live_.erase(t);
  if (t->stack != nullptr) {
#if defined(GORO_TSAN)
    sanitizers::tsan_destroy_fiber(t->tsan_fiber);
#endif
    stacks.release({t->stack, t->stack_guarded});  // its reservation goes with it
  } else {
    stacks.unreserve();
  }
  if (t->closure_on_heap)
    ::operator delete(t->closure, std::align_val_t(std::max<std::size_t>(
                                      t->closure_ops->align, alignof(std::max_align_t))));
  RecordPool* record_pool = t->record_pool;
  t->~TaskRecord();  // frees the captured-stack buffer (wait_stack), if any
  record_pool->deallocate(t);
  if (w->rt == this)
    owner_add(w->live_delta, std::int64_t{-1}, std::memory_order_release);
  else
    live_.fetch_sub(1, std::memory_order_release);
  if (is_main) {
    // Last touch of *this by this path: run() may destroy the runtime after joining.
    main_done.store(1, std::memory_order_release);
    futex_wake(&main_done, 1);
  }
}

// ------------------------------------------------------------------ readying tasks

void Runtime::push_local(Worker* w, TaskRecord* t) noexcept {
  while (!w->runq.push(t)) {
    TaskRecord* batch[RunQueue::kSize / 2 + 1];
    std::uint32_t n = w->runq.take_half(batch);
    if (n == 0) continue;  // a thief made room
    batch[n++] = t;
    global_.enqueue_bulk(batch, n);
    return;
  }
}

GORO_HOT_PATH void Runtime::ready(TaskRecord* t) noexcept {
  if (bubble != nullptr) [[unlikely]] return bubble->ready(t);
  t->state.store(TaskState::runnable, std::memory_order_relaxed);
#if !defined(GORO_NO_WAIT_RECORDING)
  clear_wait(t);
#endif
  if (unwinding_.load(std::memory_order_acquire)) return;  // the unwinder resumes it
  Worker* w = this_worker();
  if (w != nullptr && w->rt == this && w->current != nullptr) {
    // Readied by the running task: run it next, as Go's runnext.
    if (w->alone) {
      // No thief, and no idle worker to wake (the only one is running this).
      TaskRecord* old = w->runnext.load(std::memory_order_relaxed);
      w->runnext.store(t, std::memory_order_relaxed);
      if (old != nullptr) [[unlikely]] push_local(w, old);
      return;
    }
    // The seq_cst exchange doubles as the producer's fence of the idle protocol
    // (idle.hpp).
    TaskRecord* old = w->runnext.exchange(t, std::memory_order_seq_cst);
    if (old == nullptr) {
      idle_.wake_if_needed_after_fence();
      return;
    }
    t = old;
  }
  ready_queued(w, t);
}

// ready()'s other cases: into the worker's queue (on a worker of this runtime), else
// into the global queue; then the producer's half of the idle protocol.
__attribute__((noinline)) void Runtime::ready_queued(Worker* w, TaskRecord* t) noexcept {
  if (w != nullptr && w->rt == this)
    push_local(w, t);
  else
    global_.enqueue(t);
  idle_.wake_if_needed();
}

// ------------------------------------------------------------------------- timers

TimerHandle Runtime::add_timer(std::int64_t when, void (*fire)(void*), void (*drop)(void*),
                               void* arg) {
  const TimerHeap::Added added = timers_.add(when, fire, drop, arg);
  // An idle worker may be sleeping until a later deadline: let it re-arm.
  if (added.earliest && idle_.idle_count() > 0) idle_.wake_one();
  return TimerHandle{id_, added.id};
}

bool Runtime::cancel_timer(std::uint64_t timer_id) noexcept {
  TimerHeap::Callback drop;
  if (!timers_.cancel(timer_id, &drop)) return false;
  drop.run();
  return true;
}

bool Runtime::run_due_timers(Worker* w) {
  (void)w;
  std::int64_t next = next_timer_ns();
  if (next == INT64_MAX) return false;
  std::int64_t now = now_ns();
  if (now < next) return false;
  TimerHeap::Callback due[32];
  const std::size_t count = timers_.pop_due(now, due, 32);
  for (std::size_t i = 0; i < count; ++i) due[i].run();
  return count > 0;
}

// ------------------------------------------------------------------ the worker loop

bool Runtime::quiescent(std::uint64_t* signature) const noexcept {
  if (bubble != nullptr) return false;  // a bubble detects its own deadlocks
  if (stopping_.load(std::memory_order_acquire)) return false;
  if (idle_.idle_count() != static_cast<int>(workers_.size()))
    return false;
  if (next_timer_ns() != INT64_MAX) return false;
  if (global_.size_approx() != 0) return false;
  for (const auto& w : workers_) {
    if (!w->runq.empty() || w->runnext.load(std::memory_order_acquire) != nullptr) return false;
    *signature = mix_signature(*signature, w->executed.load(std::memory_order_relaxed));
  }
  *signature = mix_signature(*signature, live_tasks());
  return true;
}

bool Runtime::any_work_visible() noexcept {
  if (global_.size_approx() > 0) return true;
  for (auto& w : workers_)
    if (!w->runq.empty() || w->runnext.load(std::memory_order_acquire) != nullptr) return true;
  return next_timer_ns() <= now_ns();
}

TaskRecord* Runtime::take_polled(PollBatch& batch) noexcept {
  if (batch.count == 0) return nullptr;
  for (int i = 1; i < batch.count; ++i) ready(batch.tasks[i]);
  TaskRecord* t = batch.tasks[0];
  t->state.store(TaskState::runnable, std::memory_order_relaxed);
#if !defined(GORO_NO_WAIT_RECORDING)
  clear_wait(t);
#endif
  return t;
}

// Takes the worker's runnext (owner only).
[[gnu::always_inline]] inline TaskRecord* Runtime::take_runnext(Worker* w) noexcept {
  if (w->alone) {
    TaskRecord* t = w->runnext.load(std::memory_order_relaxed);
    if (t != nullptr) w->runnext.store(nullptr, std::memory_order_relaxed);
    return t;
  }
  return w->runnext.exchange(nullptr, std::memory_order_acq_rel);
}

[[gnu::always_inline]] inline TaskRecord* Runtime::try_get_work(Worker* w) {
  // Fairness: now and then the global queue goes first, so local work cannot starve it.
  // runnext first otherwise, so a hand-off pair stays hot, but not forever: two tasks
  // that keep readying each other would otherwise starve the local queue (and the
  // timers' wake-ups that land there). Go bounds this with its time slice; we bound the
  // streak.
  if (++w->tick % 61 != 0 && w->runnext_streak < kMaxRunnextStreak) [[likely]] {
    if (TaskRecord* t = take_runnext(w)) {
      ++w->runnext_streak;
      return t;
    }
  }
  return try_get_queued_work(w);
}

// try_get_work's other sources, in order: the global queue (every 61st tick), the local
// queue, runnext (when the streak is used up), the global queue.
__attribute__((noinline)) TaskRecord* Runtime::try_get_queued_work(Worker* w) {
  if (w->tick % 61 == 0) {
    TaskRecord* t = nullptr;
    if (global_.try_dequeue(t)) return t;
    if (w->runnext_streak < kMaxRunnextStreak) {
      if (TaskRecord* next = take_runnext(w)) {
        ++w->runnext_streak;
        return next;
      }
    }
  }
  w->runnext_streak = 0;
  if (TaskRecord* t = w->alone ? w->runq.pop_unshared() : w->runq.pop()) return t;
  if (TaskRecord* t = take_runnext(w)) return t;
  TaskRecord* batch[32];
  std::size_t n = global_.try_dequeue_bulk(batch, 32);
  if (n > 0) {
    for (std::size_t i = 1; i < n; ++i) push_local(w, batch[i]);
    return batch[0];
  }
  return nullptr;
}

// The common case inline (no stop, no timer, no IO wait, work at hand); the rest in
// find_runnable_slow.
[[gnu::always_inline]] inline TaskRecord* Runtime::find_runnable(Worker* w) {
  if (!stopping_.load(std::memory_order_acquire) && next_timer_ns() == INT64_MAX &&
      !idle_.polling()) [[likely]] {
    if (TaskRecord* t = try_get_work(w)) return t;
  }
  return find_runnable_slow(w);
}

__attribute__((noinline)) TaskRecord* Runtime::find_runnable_slow(Worker* w) {
  for (;;) {
    if (stopping_.load(std::memory_order_acquire)) return nullptr;
    // Checked here so the common no-timer case costs a load, not a call.
    if (next_timer_ns() != INT64_MAX) run_due_timers(w);
    // Tasks in IO wait while this runtime is busy: a non-blocking poll now and then. The
    // load below is all a program without IO pays per round.
    const bool io_waiters = idle_.polling();
    if (io_waiters) [[unlikely]] {
      PollBatch batch;
      idle_.poll_if_due(w->tick, batch);
      if (TaskRecord* t = take_polled(batch)) return t;
    }
    if (TaskRecord* t = try_get_work(w)) return t;
    // Out of work with tasks in IO wait: a non-blocking poll before spinning or sleeping
    // (Go's findRunnable), so an fd that is ready already costs no idle round trip. The
    // worker runs what its own poll readied: waking another for it would shuttle the pair.
    if (io_waiters) [[unlikely]] {
      // Tasks queued on a stopped worker first: they are older than what a poll brings,
      // and while polls keep finding work this worker never reaches steal().
      if (TaskRecord* t = steal_from_stalled(w)) return t;
      PollBatch batch;
      idle_.poll_now(batch);
      if (TaskRecord* t = take_polled(batch)) return t;
    }

    // Spin: new work usually arrives within microseconds, and sleeping then waking a
    // thread costs ~20 us on this kind of machine. At most half the busy workers spin,
    // and none while tasks wait on fds (IdleWorkers::may_spin says why).
    if (idle_.may_spin(workers_.size())) {
      w->spinning = true;
      idle_.start_spinning();
      TaskRecord* found = nullptr;
      for (int round = 0; round < 64 && found == nullptr; ++round) {
        if (stopping_.load(std::memory_order_acquire)) break;
        run_due_timers(w);
        // No polling while spinning: no task waited on an fd when the spin began
        // (may_spin), and a watched fd's edge waits for the worker that blocks in epoll_wait.
        found = try_get_work(w);
        if (found == nullptr) found = steal(w);
        if (found == nullptr)
          for (int i = 0; i < 50; ++i) cpu_relax();
      }
      w->spinning = false;
      idle_.stop_spinning();
      if (found != nullptr) {
        // We stopped spinning with work in hand; more may be coming: keep one spinner.
        idle_.wake_if_needed();
        return found;
      }
    } else if (TaskRecord* t = steal(w, /*wait_for_draining=*/!idle_.poller().has_task_waiters())) {
      return t;
    }

    // Go idle. Register first, then re-check (the wake-up protocol: idle.hpp).
    idle_.enter(w);
    if (stopping_.load(std::memory_order_acquire) || any_work_visible()) {
      idle_.leave(w);
      continue;
    }
    wait_clock_worker_idle();
    for (;;) {
      PollBatch batch;
      const IdleWorkers::Wakeup wakeup = idle_.sleep(w, next_timer_ns(), batch);
      if (wakeup == IdleWorkers::Wakeup::polled) {
        idle_.leave(w);
        wait_clock_worker_busy();
        return take_polled(batch);
      }
      if (wakeup == IdleWorkers::Wakeup::woken) break;
      if (stopping_.load(std::memory_order_acquire) || next_timer_ns() <= now_ns()) {
        idle_.leave(w);
        break;
      }
    }
    wait_clock_worker_busy();
  }
}
// execute()'s body, inline in the worker loop: the switch there clobbers every register,
// so the loop's own frame saves the callee-saved ones once, not once per task resumed.
[[gnu::always_inline]] inline void Runtime::run_task(Worker* w, TaskRecord* t) {
  if (t->stack == nullptr) bind_stack(t);
  owner_add(w->executed, std::uint64_t{1});
  w->current = t;
  t->state.store(TaskState::running, std::memory_order_relaxed);
  if (const std::uint32_t epoch = t->park_epoch.load(std::memory_order_relaxed); epoch & 1) {
    // Resuming from a park: readers must see the new epoch before any write the task
    // makes to its stack or closure (the writer's half of a seqlock).
    t->park_epoch.store(epoch + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
  }
#if defined(GORO_ASAN)
  const StackPool& stacks = StackPool::by_index(t->stack_pool_index);
  sanitizers::start_switch(&w->asan_fake_stack, stacks.usable_bottom(t->stack),
                           stacks.usable_size());
#endif
#if defined(GORO_TSAN)
  sanitizers::tsan_switch_to(t->tsan_fiber);
#endif
  switch_context(&w->sched_ctx, t->ctx, w);  // the task saves its own ctx
  sanitizers::finish_switch(w->asan_fake_stack, nullptr, nullptr);
  w->current = nullptr;
  const AfterSwitch after = w->after;
  w->after = AfterSwitch::none;
  switch (after) {
    case AfterSwitch::park: {
      t->state.store(TaskState::parked, std::memory_order_relaxed);
      // Publishes ctx and the frozen stack to diag's readers (odd: parked).
      t->park_epoch.store(t->park_epoch.load(std::memory_order_relaxed) + 1,
                          std::memory_order_release);
      void (*release)(void*) = w->release;
      void* arg = w->release_arg;
      w->release = nullptr;
      // From here on t may be woken and run on another worker: do not touch it.
      if (release) release(arg);
      break;
    }
    case AfterSwitch::yield:
      t->state.store(TaskState::runnable, std::memory_order_relaxed);
      if (unwinding_.load(std::memory_order_acquire)) break;
      if (bubble != nullptr) [[unlikely]] {
        bubble->requeue(t);
        break;
      }
      push_local(w, t);
      break;
    case AfterSwitch::finish:
      t->state.store(TaskState::finished, std::memory_order_relaxed);
      free_task(w, t);
      break;
    case AfterSwitch::none:
      break;
  }
}

void Runtime::execute(Worker* w, TaskRecord* t) { run_task(w, t); }

void Runtime::worker_main(Worker* w) {
  const NeverWakesTasks only_tasks_wake_tasks;  // what a worker runs is counted as tasks
  set_this_worker(w);
  install_overflow_handler_for_this_thread();
  w->tsan_fiber = sanitizers::tsan_current_fiber();
  wait_clock_worker_busy();
  while (TaskRecord* t = find_runnable(w)) run_task(w, t);
  wait_clock_worker_idle();
  set_this_worker(nullptr);
  exited_workers_.fetch_add(1, std::memory_order_release);
}

}  // namespace goro::detail
