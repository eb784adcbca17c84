// runtime/src/scheduler.hpp — the M:N scheduler: workers, run queues, idle parking, timers.
//
// Structure (Go's proc.go, simplified):
// - Each Worker is one OS thread with a local run queue (run_queue.hpp: a 256-slot ring;
//   the owner pushes and pops, thieves steal half with a CAS on head) and a `runnext`
//   slot. A task readied or spawned by a running task goes to runnext, so a ping-ponging
//   pair or a spawn tree stays on one worker and runs depth-first.
// - A global queue (moodycamel ConcurrentQueue) takes work from plain threads and the
//   overflow of full local queues; every 61st schedule looks there first (fairness).
// - Stealing keeps talking tasks together: a thief leaves a busy worker's runnext alone
//   for 3 us (Go's runqgrab), and its queue while the owner, switching tasks, would
//   drain it within ~100 us anyway (Runtime::worth_stealing); long queues and stalled
//   owners are stolen from at once. While tasks wait on fds a thief does not wait for
//   the owner (steal's wait_for_draining): the CPU it would hold belongs to the
//   processes it talks to.
// - An idle worker spins briefly (stealing), then sleeps on its futex, or in the poller
//   (idle.hpp, which holds the wake-up protocol). No lost wake-ups:
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
// Where it is (Go's runtime split): config.cpp (Config from the environment), proc.cpp
// (construction, ready, the worker loop, execute), spawn.cpp (create_task, limits),
// steal.cpp, idle.{hpp,cpp} (sleep and wake-up, the poller's seat), switch.{hpp,cpp}
// (task <-> worker switches, task entry and unwinding), park.cpp (park, yield, wake),
// shutdown.cpp (run()'s end, process exit), default_runtime.cpp, api.cpp (goro::run,
// sleep_for, ...), runtime_list.{hpp,cpp} (every live runtime).
//
// Lock discipline: IdleWorkers::lock_ guards its list of idle workers; the timer heap's
// lock is its own; g_runtimes_mutex (runtime_list.hpp) guards the list of runtimes and
// workers_ while start() fills it. None is held while running tasks or timer callbacks.
#pragma once

#include <atomic>
#include <chrono>
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
#include "deadlock.hpp"
#include "goro/runtime.hpp"
#include "idle.hpp"
#include "netpoll.hpp"
#include "profiling_hooks.hpp"
#include "registry.hpp"
#include "run_queue.hpp"
#include "task.hpp"
#include "timer_heap.hpp"

namespace goro::detail {

class Runtime;
class Bubble;
class StackPool;
class RecordPool;

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
  // The runtime's only worker (Config::workers == 1), set before it starts: no thief
  // takes from its runnext or runq and no other worker waits to be woken, so its own
  // thread moves tasks in and out of them with plain loads and stores.
  bool alone = false;

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
  // When another worker first saw `executed` at its current value (any worker writes,
  // relaxed: Runtime::steal_from_stalled's heuristic).
  std::atomic<std::uint64_t> stall_seen_executed{0};
  std::atomic<std::int64_t> stall_seen_ns{0};
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
  // The poller gained a waiter from outside any task (Netpoll::watch): wakes an idle
  // worker, if none spins, so that one goes back to sleep inside epoll_wait.
  void wake_idle_for_poller() noexcept { idle_.wake_if_needed(); }
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
  // Caller holds g_runtimes_mutex (runtime_list.hpp), which start() takes while it
  // fills workers_.
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
  Netpoll& netpoll() noexcept { return idle_.poller(); }
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
  TaskRecord* find_runnable_slow(Worker* w);
  TaskRecord* try_get_work(Worker* w);
  TaskRecord* take_runnext(Worker* w) noexcept;
  TaskRecord* try_get_queued_work(Worker* w);
  void ready_queued(Worker* w, TaskRecord* t) noexcept;
  // wait_for_draining: leave a queue its owner is draining alone (worth_stealing); false
  // while tasks wait on fds (steal.cpp says why).
  TaskRecord* steal(Worker* w, bool wait_for_draining = true);
  TaskRecord* steal_runnext(Worker* victim) noexcept;
  bool worth_stealing(const Worker* victim) noexcept;
  // Takes work from a worker that has resumed no task for a while (steal.cpp): a worker
  // out of work calls it before polling fds.
  TaskRecord* steal_from_stalled(Worker* w) noexcept;
  void push_local(Worker* w, TaskRecord* t) noexcept;
  bool any_work_visible() noexcept;
  bool run_due_timers(Worker* w);
  // The tasks a worker's poll readied: it runs the first itself (no idle worker is woken
  // for it, as Go's findRunnable) and readies the rest; nullptr when none.
  TaskRecord* take_polled(PollBatch& batch) noexcept;
  void execute(Worker* w, TaskRecord* t);
  void run_task(Worker* w, TaskRecord* t);
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
  // How long run()'s end waits for goro::blocking calls still running before reporting them.
  static constexpr std::chrono::seconds kBlockingShutdownWait{2};
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

  TimerHeap timers_;

  // goro::blocking's threads; released (never deleted) if a call outlives the runtime.
  std::unique_ptr<BlockingPool> blocking_pool_;
  IdleWorkers idle_;  // idle workers, and the poller they sleep in (idle.hpp)

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

void park_thread(void (*release)(void*), void* arg, const WaitSite& site);
void task_yield();
void task_yield_nothrow() noexcept;  // a yield that never throws the runtime's unwind
void ready_task(TaskRecord* t) noexcept;
TaskRecord* current_task_record() noexcept;

// The worker the calling thread runs (nullptr on plain threads). Never inlined: a task
// may resume on another thread, and a cached thread-local address would be stale.
Worker* this_worker() noexcept;
// Makes the calling thread run `w` (nullptr: none); returns the worker it ran before.
Worker* set_this_worker(Worker* w) noexcept;

// The runtime of the calling task, else the default runtime (started on first use).
Runtime& current_or_default_runtime();
Runtime& default_runtime();  // started on first use; lives until exit

}  // namespace goro::detail
