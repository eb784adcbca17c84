// runtime/src/scheduler.hpp — the M:N scheduler: workers, run queues, idle parking, timers.
//
// Structure (Go's proc.go, simplified):
// - Each Worker is one OS thread with a local run queue (a 256-slot ring: the owner
//   pushes and pops, thieves steal half with a CAS on head) and a `runnext` slot. A task
//   readied or spawned by a running task goes to runnext, so a ping-ponging pair or a
//   spawn tree stays on one worker and runs depth-first.
// - A global queue (moodycamel ConcurrentQueue) takes work from plain threads and the
//   overflow of full local queues; every 61st schedule looks there first (fairness).
// - Stealing keeps talking tasks together: a thief leaves a busy worker's runnext alone
//   for 3 us (Go's runqgrab), and its queue while the owner would drain it within
//   ~100 us anyway (Runtime::worth_stealing); long queues and stalled owners are
//   stolen from at once.
// - An idle worker spins briefly (stealing), then parks on its futex. No lost wake-ups:
//     producer:  push task; seq_cst fence; if idle_count > 0 && spinning == 0: wake one
//                (a push into runnext is a seq_cst exchange, which serves as the fence)
//     idler:     idle_count++ (seq_cst); re-check every queue and the timers; then sleep
//   In the seq_cst order either the idler's re-check sees the task, or the producer sees
//   idle_count > 0 and wakes an idler.
// - Timers: one TimerHeap per runtime (timer_heap.hpp, with its own lock); its earliest
//   deadline is mirrored so workers test it with one load (next_timer_ns()). Idle workers
//   sleep until it; a new earlier timer wakes an idle worker.
//
// - Limits (Config::max_tasks, soft_max_tasks, max_stack_bytes): when one is set, a
//   spawn adds itself to limited_tasks_/limited_stack_bytes_ before it allocates anything
//   and takes itself off again when it fails or the task is freed; a spawn that took a
//   count past a limit takes it off and throws ResourceExhausted. So the counts never
//   exceed a limit for long, and a failed spawn leaves no trace. Without limits nothing
//   is counted (the spawn path checks one bool).
//
// Lock discipline: idle_lock guards idle_workers; the timer heap's lock is its own. Neither
// is held while running tasks or timer callbacks.
#pragma once

#include <atomic>
#include <exception>
#include <concurrentqueue/concurrentqueue.h>
#include <cstdint>
#include <memory>
#include <functional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "goro/detail/futex_lock.hpp"
#include "goro/detail/origin.hpp"
#include "goro/detail/timer.hpp"
#include "blocking_pool.hpp"
#include "goro/runtime.hpp"
#include "netpoll.hpp"
#include "profiling_hooks.hpp"
#include "registry.hpp"
#include "task.hpp"
#include "timer_heap.hpp"

namespace goro::detail {

class Runtime;
class Bubble;
class StackPool;
class RecordPool;

// Go's runq: single producer (the owner), multiple consumers (owner + thieves).
class RunQueue {
 public:
  static constexpr std::uint32_t kSize = 256;
  bool push(TaskRecord* t) noexcept;  // owner only; false when full
  TaskRecord* pop() noexcept;         // owner only
  // Moves about half of this queue into `into` (which must be empty and owned by the
  // caller); returns one of the stolen tasks to run now, or nullptr.
  TaskRecord* steal_into(RunQueue& into) noexcept;
  // Owner only: moves half of the queue plus `extra` into `out` (for the global queue).
  std::uint32_t take_half(TaskRecord** out) noexcept;
  // Racy views for thieves deciding whether to steal: tasks queued, and how many the
  // owner (or a thief) has taken so far.
  std::uint32_t size_hint() const noexcept {
    return tail_.load(std::memory_order_relaxed) - head_.load(std::memory_order_relaxed);
  }
  std::uint32_t taken_hint() const noexcept { return head_.load(std::memory_order_relaxed); }
  bool empty() const noexcept {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }

 private:
  std::atomic<std::uint32_t> head_{0};
  std::atomic<std::uint32_t> tail_{0};
  std::atomic<TaskRecord*> slots_[kSize]{};
};

// What the task that just switched out asks its worker to do, on the worker's stack.
enum class AfterSwitch : std::uint8_t { none, park, yield, finish };

// Adds to a counter that only its owner thread writes and others read: a plain load and
// store (no locked instruction); atomic only so that readers see whole values.
template <class T>
inline void owner_add(std::atomic<T>& counter, T delta,
                      std::memory_order order = std::memory_order_relaxed) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + delta, order);
}

struct Worker {
  Runtime* rt = nullptr;
  unsigned index = 0;
  std::thread thread;

  std::atomic<TaskRecord*> runnext{nullptr};
  RunQueue runq;

  void* sched_ctx = nullptr;       // the worker loop's suspended context while a task runs
  TaskRecord* current = nullptr;   // the running task, or nullptr in the scheduler
  AfterSwitch after = AfterSwitch::none;
  void (*release)(void*) = nullptr;
  void* release_arg = nullptr;

  std::uint32_t tick = 0;
  // Spawning without shared cache lines (owner only): task ids come from a block
  // reserved from the global counter, live tasks are counted per worker, and spawns
  // cycle through the worker's registry shards.
  TaskId next_task_id = 0;
  TaskId task_id_end = 0;
  RegistryShardCycle registry_shards;
  std::atomic<std::int64_t> live_delta{0};  // tasks spawned minus tasks freed here
  std::uint32_t runnext_streak = 0;  // tasks taken from runnext in a row
  std::atomic<std::uint64_t> executed{0};  // task resumptions (owner writes; deadlock detector
                                           // and runtime_stats() read)
  std::atomic<std::uint64_t> spawned{0};   // tasks created on this worker (owner writes;
                                           // runtime_stats() reads)
  bool spinning = false;
  std::atomic<std::uint32_t> wake_word{0};  // idle parking futex: 1 = woken

  // sanitizer state of the worker's own stack
  void* asan_fake_stack = nullptr;
  const void* stack_bottom = nullptr;
  std::size_t stack_size = 0;
  void* tsan_fiber = nullptr;
};

class Runtime {
 public:
  Runtime(const Config& cfg, bool is_default);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  void start();
  TaskRecord* create_task(const SpawnOptions* opts, const std::source_location& where,
                          std::size_t size, std::size_t align, void (*construct)(void*, void*),
                          void* arg, const ClosureOps& ops);
  void ready(TaskRecord* t) noexcept;    // from any thread
  TimerHandle add_timer(std::int64_t when, void (*fire)(void*), void (*drop)(void*), void* arg);
  bool cancel_timer(std::uint64_t timer_id) noexcept;
  // The earliest pending timer's deadline (INT64_MAX: none): one load, no lock.
  std::int64_t next_timer_ns() const noexcept { return timers_.earliest(); }
  std::size_t pending_timers() const noexcept { return timers_.size(); }
  // Deadlock detector: true when no task of this runtime can run now (every worker idle,
  // no queued task, no pending timer); mixes its activity counters into *signature.
  bool quiescent(std::uint64_t* signature) const noexcept;
  std::uint64_t id() const noexcept { return id_; }
  // Adds this runtime's spawns and context switches to *stats (profiling_hooks.hpp).
  // Caller holds the runtimes' registry lock (scheduler.cpp), which start() takes while
  // it fills workers_.
  void add_stats(RuntimeStats* stats) const noexcept;

  // run(): wait for the main task, report leftovers, stop workers, unwind, join.
  void set_main_task(TaskId id) noexcept { main_task_id_ = id; }
  TaskId main_task() const noexcept { return main_task_id_; }
  // PanicPolicy::log_and_continue: the exception that escaped the main task, for run()
  // to rethrow. Written by the main task before it finishes (main_done publishes it).
  std::exception_ptr main_exception;
  // The default runtime once its process exit has begun: a task spawned now never runs.
  bool exited() const noexcept { return is_default_ && stopping_.load(std::memory_order_acquire); }
  int finish_run(TaskRecord* main_task);
  // Process exit for the default runtime: report, stop workers, never unwind.
  void shutdown_at_exit();

  const Config& config() const noexcept { return cfg_; }
  // Exact once the workers have stopped; otherwise a racy sum.
  std::size_t live_tasks() const noexcept;
  bool unwinding() const noexcept { return unwinding_.load(std::memory_order_acquire); }
  LeakPolicy leak_policy() const noexcept { return leak_policy_; }
  // Stops and joins the workers (run(), when its main task cannot be spawned).
  void stop_workers();
  Netpoll& netpoll() noexcept { return netpoll_; }
  BlockingPool& blocking_pool() noexcept { return *blocking_pool_; }

  // The main task signals this when it returns (run()).
  std::atomic<std::uint32_t> main_done{0};

  // Set before start() when this runtime is a bubble (bubble.hpp), which then drives it
  // from its own thread; null otherwise. Immutable once tasks exist.
  Bubble* bubble = nullptr;

 private:
  friend struct WorkerLoop;
  friend class Bubble;
  void worker_main(Worker* w);
  TaskRecord* find_runnable(Worker* w);
  TaskRecord* try_get_work(Worker* w);
  TaskRecord* steal(Worker* w);
  TaskRecord* steal_runnext(Worker* victim) noexcept;
  bool worth_stealing(const Worker* victim) noexcept;
  void push_local(Worker* w, TaskRecord* t) noexcept;
  void wake_idle_if_needed() noexcept;
  void wake_idle_if_needed_after_fence() noexcept;  // the push was a seq_cst RMW
  void wake_one_idle() noexcept;
  void wake_all_idle() noexcept;
  bool any_work_visible() noexcept;
  bool run_due_timers(Worker* w);
  void ready_polled(PollBatch& batch) noexcept;
  void execute(Worker* w, TaskRecord* t);
  void bind_stack(TaskRecord* t);
  void free_task(Worker* w, TaskRecord* t) noexcept;
  StackPool& stack_pool_for_spawn(std::size_t stack_size, const std::source_location& where);
  void abandon_spawn(StackPool* stacks, bool stack_reserved, RecordPool* pool, void* block,
                     TaskRecord* t, std::size_t closure_align) noexcept;
  void admit_task(const std::source_location& where, std::size_t stack_bytes);
  void release_task_limits(std::size_t stack_bytes) noexcept;
  void warn_soft_limit(std::size_t tasks);
  [[noreturn]] void throw_exhausted(const std::source_location& where, std::string what);
  std::string top_spawn_sites(std::size_t n) const;
  void wait_for_main_or_deadlock();
  void unwind_all_tasks();
  std::size_t report_leftovers();

  Config cfg_;
  const std::uint64_t id_;  // unique per process, for TimerHandle
  bool is_default_;
  LeakPolicy leak_policy_;
  StackPool* pool_;  // Config::stack_size's, for tasks without SpawnOptions::stack_size

  // Limits: cfg_.max_tasks, soft_max_tasks, max_stack_bytes resolved (0: none).
  bool limits_on_ = false;  // any of them set; immutable after construction
  std::atomic<std::size_t> limited_tasks_{0};        // live tasks, when limits_on_
  std::atomic<std::size_t> limited_stack_bytes_{0};  // their slots' bytes, when limits_on_
  std::atomic<std::size_t> next_soft_warning_{0};    // live tasks that warn next
  std::atomic<bool> exhaustion_logged_{false};       // the dump went to the log once
  std::vector<std::unique_ptr<Worker>> workers_;
  moodycamel::ConcurrentQueue<TaskRecord*> global_;

  std::atomic<int> idle_count_{0};
  std::atomic<int> spinning_count_{0};
  FutexLock idle_lock_;                // guards idle_workers_
  std::vector<Worker*> idle_workers_;

  TimerHeap timers_;

  // goro::blocking's threads; released (never deleted) if a call outlives the runtime.
  std::unique_ptr<BlockingPool> blocking_pool_;
  Netpoll netpoll_;  // fd readiness (netpoll.hpp): busy workers poll it, one idle worker sleeps in it

  std::atomic<bool> stopping_{false};
  std::atomic<bool> unwinding_{false};
  // Tasks spawned minus tasks freed by threads other than this runtime's workers (whose
  // counts are their live_delta; the unwinder adds its own here when done): live_tasks()
  // is the sum.
  std::atomic<std::int64_t> live_{0};
  std::atomic<std::size_t> exited_workers_{0};
  TaskId main_task_id_ = 0;
  // While unwinding (one thread): records alive, to tell a freed record from a live one.
  std::unordered_map<TaskRecord*, TaskId> unwind_live_;
};

// run()'s main task: calls the user's std::function, which outlives the task.
struct MainClosure {
  std::function<void()>* fn;
  void operator()() const { (*fn)(); }
};

void park_thread(void (*release)(void*), void* arg, const WaitSite& site);  // park.cpp
// Deadlock detection (deadlock.hpp): every runtime quiescent, with the activity signature.
bool all_quiescent(std::uint64_t* signature) noexcept;
std::int64_t deadlock_grace_ns();  // $GORO_DEADLOCK_MS (default 1000; 0: off); invalid: throws
void task_yield();
void task_yield_nothrow() noexcept;  // a yield that never throws the runtime's unwind
void set_this_worker(Worker* w) noexcept;  // a bubble's thread becomes its worker
void ready_task(TaskRecord* t) noexcept;
TaskRecord* current_task_record() noexcept;

// The worker the calling thread runs (nullptr on plain threads). Never inlined: a task
// may resume on another thread, and a cached thread-local address would be stale.
Worker* this_worker() noexcept;

// The runtime of the calling task, else the default runtime (started on first use).
Runtime& current_or_default_runtime();

}  // namespace goro::detail
