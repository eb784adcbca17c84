// runtime/src/scheduler.cpp — see scheduler.hpp for the structure and invariants.
#include "scheduler.hpp"

#include <boost/context/detail/fcontext.hpp>
#include <execinfo.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "goro/detail/report.hpp"
#include "log.hpp"
#include "record_pool.hpp"
#include "sanitizers.hpp"
#include "stack_pool.hpp"
#include "thread_registry.hpp"
#include "wait_clock.hpp"
#include "wait_record.hpp"

namespace ctx = boost::context::detail;

namespace goro::detail {

namespace {

thread_local Worker* t_worker = nullptr;
thread_local std::uint64_t t_spawn_origin = 0;
std::atomic<TaskId> g_next_task_id{1};
constexpr std::uint32_t kMaxRunnextStreak = 61;
// Task ids a worker reserves at a time (Go's goidcache does the same).
constexpr TaskId kTaskIdBlock = 1024;
// How long a thief leaves a busy victim's runnext alone (steal_runnext).
constexpr std::int64_t kRunnextStealDelayNs = 3000;
// Below this estimated drain time a busy worker's queue is left to it (worth_stealing):
// at most this much parallelism is given up, against a CPU's worth of cache misses and
// lock contention for tasks that talk to each other. (Measured, buffered 4p/4c at
// procs=2: 60 us gives 22 ns per item, 120 us 17, stealing at once 66.)
constexpr std::int64_t kDrainNs = 100'000;

std::size_t default_stack_size() {
#if defined(GORO_ASAN) || defined(GORO_TSAN)
  return 256 * 1024;  // instrumented frames are several times larger
#else
  return 64 * 1024;
#endif
}

unsigned resolve_workers(unsigned requested) {
  if (requested != 0) return requested;
  if (const char* env = std::getenv("GORO_MAXPROCS")) {
    char* end = nullptr;
    long v = std::strtol(env, &end, 10);
    if (end != env && v > 0 && v <= 1024) return static_cast<unsigned>(v);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

LeakPolicy resolve_leak_policy(const std::optional<LeakPolicy>& configured) {
  if (configured) return *configured;
  if (const char* env = std::getenv("GORO_LEAKCHECK")) {
    if (std::strcmp(env, "off") == 0) return LeakPolicy::off;
    if (std::strcmp(env, "fail") == 0) return LeakPolicy::fail;
  }
  return LeakPolicy::report;
}

// Config::trend_period, else GORO_TREND: "1s", "500ms", "2m", "3" (seconds), "on", "off".
std::chrono::milliseconds resolve_trend_period(const std::optional<std::chrono::milliseconds>& configured) {
  using namespace std::chrono;
  if (configured) return *configured;
  const char* env = std::getenv("GORO_TREND");
  if (env == nullptr || *env == '\0' || std::strcmp(env, "off") == 0) return milliseconds(0);
  if (std::strcmp(env, "on") == 0) return seconds(1);
  char* unit = nullptr;
  const double value = std::strtod(env, &unit);
  if (!(value > 0)) return milliseconds(0);
  const std::string_view u(unit);
  const double ms = u == "ms" ? value : u == "m" || u == "min" ? value * 60000 : value * 1000;
  if (!(u.empty() || u == "s" || u == "ms" || u == "m" || u == "min")) {
    logger().warn("GORO_TREND={}: not a duration (\"1s\", \"500ms\", \"2m\"): trends are off", env);
    return milliseconds(0);
  }
  return milliseconds(std::max<long long>(1, static_cast<long long>(ms)));
}

bool timer_later(const Timer& a, const Timer& b) {
  return a.when != b.when ? a.when > b.when : a.seq > b.seq;
}

static_assert(sizeof(TaskRecord) + 64 <= RecordPool::kSmall,
              "a small block must hold a record and a 64-byte closure");
#if !defined(GORO_TSAN)  // TSan's fiber handle makes the record 8 bytes bigger
static_assert(sizeof(TaskRecord) + 48 <= RecordPool::kCompact,
              "a compact block must hold a record and a 48-byte closure (a handle or two "
              "and a reference: the common task)");
#endif

std::byte* align_down(std::byte* p, std::size_t a) {
  return reinterpret_cast<std::byte*>(reinterpret_cast<std::uintptr_t>(p) & ~(a - 1));
}

void task_entry(ctx::transfer_t from);

}  // namespace

// ------------------------------------------------------------------------ thread state

__attribute__((noinline)) Worker* this_worker() noexcept {
  Worker* w = t_worker;
  asm volatile("" ::: "memory");
  return w;
}

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

// ---------------------------------------------------------------------------- RunQueue

bool RunQueue::push(TaskRecord* t) noexcept {
  std::uint32_t h = head_.load(std::memory_order_acquire);
  std::uint32_t tl = tail_.load(std::memory_order_relaxed);
  if (tl - h >= kSize) return false;
  slots_[tl % kSize].store(t, std::memory_order_relaxed);
  tail_.store(tl + 1, std::memory_order_release);
  return true;
}

TaskRecord* RunQueue::pop() noexcept {
  std::uint32_t h = head_.load(std::memory_order_acquire);
  for (;;) {
    std::uint32_t tl = tail_.load(std::memory_order_relaxed);
    if (h == tl) return nullptr;
    TaskRecord* t = slots_[h % kSize].load(std::memory_order_relaxed);
    if (head_.compare_exchange_weak(h, h + 1, std::memory_order_acq_rel,
                                    std::memory_order_acquire))
      return t;
  }
}

TaskRecord* RunQueue::steal_into(RunQueue& into) noexcept {
  const std::uint32_t into_tail = into.tail_.load(std::memory_order_relaxed);
  std::uint32_t n;
  for (;;) {
    std::uint32_t h = head_.load(std::memory_order_acquire);
    std::uint32_t tl = tail_.load(std::memory_order_acquire);
    n = tl - h;
    n -= n / 2;
    if (n == 0) return nullptr;
    if (n > kSize / 2) continue;  // torn read of head/tail: retry
    for (std::uint32_t i = 0; i < n; ++i)
      into.slots_[(into_tail + i) % kSize].store(
          slots_[(h + i) % kSize].load(std::memory_order_relaxed), std::memory_order_relaxed);
    // The copies are only valid if nobody consumed them meanwhile: commit with a CAS.
    if (head_.compare_exchange_strong(h, h + n, std::memory_order_acq_rel,
                                      std::memory_order_acquire))
      break;
  }
  --n;
  TaskRecord* run_now = into.slots_[(into_tail + n) % kSize].load(std::memory_order_relaxed);
  if (n > 0) into.tail_.store(into_tail + n, std::memory_order_release);
  return run_now;
}

std::uint32_t RunQueue::take_half(TaskRecord** out) noexcept {
  std::uint32_t h = head_.load(std::memory_order_acquire);
  std::uint32_t tl = tail_.load(std::memory_order_relaxed);
  std::uint32_t n = (tl - h) / 2;
  if (n != kSize / 2) return 0;  // not full any more: a thief took some
  for (std::uint32_t i = 0; i < n; ++i)
    out[i] = slots_[(h + i) % kSize].load(std::memory_order_relaxed);
  if (!head_.compare_exchange_strong(h, h + n, std::memory_order_acq_rel,
                                     std::memory_order_acquire))
    return 0;
  return n;
}

// ----------------------------------------------------------------------------- Runtime

namespace {
// Live runtimes by id, so a TimerHandle can outlive its runtime safely.
std::mutex g_runtimes_mutex;
std::vector<Runtime*>* g_runtimes = new std::vector<Runtime*>();  // guarded by the mutex
std::atomic<std::uint64_t> g_next_runtime_id{1};
// Counters of destroyed runtimes, and spawns from plain threads (no worker to count
// them): guarded by g_runtimes_mutex / atomic.
RuntimeStats g_retired_stats;  // guarded by g_runtimes_mutex
std::atomic<std::uint64_t> g_plain_thread_spawns{0};
}  // namespace

std::atomic<std::int64_t> g_block_profile_rate_ns{0};
// Alone on its cache line: every park reads it twice (park_hooks.hpp).
alignas(64) std::atomic<std::uint64_t> g_park_hooks{0};
std::atomic<BlockEventSink> g_block_event_sink{nullptr};

void Runtime::add_stats(RuntimeStats* stats) const noexcept {
  for (const auto& w : workers_) {
    stats->spawns += w->spawned.load(std::memory_order_relaxed);
    stats->context_switches += w->executed.load(std::memory_order_relaxed);
  }
}

RuntimeStats runtime_stats() noexcept {
  std::lock_guard guard(g_runtimes_mutex);
  RuntimeStats stats = g_retired_stats;
  stats.spawns += g_plain_thread_spawns.load(std::memory_order_relaxed);
  for (const Runtime* rt : *g_runtimes) {
    rt->add_stats(&stats);
    stats.workers += rt->config().workers;
    ++stats.runtimes;
  }
  return stats;
}

namespace {
// GORO_TRACEBACK=1 (read once): capture parked tasks' stacks in every runtime.
bool traceback_env() noexcept {
  static const bool on = [] {
    const char* env = std::getenv("GORO_TRACEBACK");
    return env != nullptr && *env != '\0' && std::strcmp(env, "0") != 0 &&
           std::strcmp(env, "off") != 0;
  }();
  return on;
}

}  // namespace

Runtime::Runtime(const Config& cfg, bool is_default)
    : cfg_(cfg),
      id_(g_next_runtime_id.fetch_add(1)),
      is_default_(is_default),
      leak_policy_(resolve_leak_policy(cfg.leak_policy)),
      pool_(&StackPool::for_size(cfg.stack_size ? cfg.stack_size : default_stack_size())) {
  cfg_.workers = resolve_workers(cfg.workers);
  cfg_.stack_size = pool_->usable_size();
  cfg_.capture_stacks = cfg.capture_stacks || traceback_env();
  if (cfg_.capture_stacks) g_park_hooks.fetch_add(kParkHookCapturingRuntime);
  cfg_.trend_period = resolve_trend_period(cfg.trend_period);
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
  // Timers still pending (possible only when shut down without unwinding).
  for (Timer& timer : timers_)
    if (timer.drop) timer.drop(timer.arg);
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
      workers_.push_back(std::move(w));
    }
  }
  for (auto& w : workers_) {
    Worker* raw = w.get();
    raw->thread = std::thread(
        [this, raw, note = note_thread_created("goro worker")] { worker_main(raw); });
  }
}

TaskRecord* Runtime::create_task(const SpawnOptions* opts, const std::source_location& where,
                                 std::size_t size, std::size_t align,
                                 void (*construct)(void*, void*), void* arg,
                                 const ClosureOps& ops) {
  // The closure goes right after the record when a pooled block can hold both.
  const std::size_t closure_align = std::max<std::size_t>(align, alignof(std::max_align_t));
  const std::size_t closure_offset =
      (sizeof(TaskRecord) + closure_align - 1) / closure_align * closure_align;
  RecordPool* pool = closure_align <= 64 ? RecordPool::for_bytes(closure_offset + size) : nullptr;
  if (pool == nullptr) pool = RecordPool::for_bytes(sizeof(TaskRecord));
  void* block = pool->allocate();
  auto* t = ::new (block) TaskRecord();
  t->record_pool = pool;
  t->runtime = this;
  Worker* w = this_worker();
  if (w != nullptr) {
    if (w->next_task_id == w->task_id_end) {
      w->next_task_id = g_next_task_id.fetch_add(kTaskIdBlock, std::memory_order_relaxed);
      w->task_id_end = w->next_task_id + kTaskIdBlock;
    }
    t->id = w->next_task_id++;
    t->reg_shard = w->registry_shards.take();
    owner_add(w->spawned, std::uint64_t{1});
  } else {
    t->id = g_next_task_id.fetch_add(1, std::memory_order_relaxed);
    t->reg_shard = static_cast<std::uint8_t>(t->id % kRegistryShards);
    g_plain_thread_spawns.fetch_add(1, std::memory_order_relaxed);
  }
  t->parent = (w && w->current) ? w->current->id : 0;
  t->origin = (w && w->current) ? w->current->origin : thread_spawn_origin();
  t->spawn_site = where;
  if (opts && !opts->name.empty()) {
    t->name.reset(new char[opts->name.size() + 1]);
    std::memcpy(t->name.get(), opts->name.c_str(), opts->name.size() + 1);
  }
  if (closure_offset + size <= pool->block_size()) {
    t->closure = static_cast<std::byte*>(block) + closure_offset;
  } else {
    t->closure = ::operator new(size, std::align_val_t(closure_align));
    t->closure_on_heap = true;
  }
  try {
    construct(t->closure, arg);
  } catch (...) {
    if (t->closure_on_heap) ::operator delete(t->closure, std::align_val_t(closure_align));
    t->~TaskRecord();
    pool->deallocate(block);
    throw;
  }
  t->closure_ops = &ops;
  t->state.store(TaskState::runnable, std::memory_order_relaxed);
  if (w != nullptr && w->rt == this)
    owner_add(w->live_delta, std::int64_t{1});
  else
    live_.fetch_add(1, std::memory_order_relaxed);
  registry_add(t);
  if (unwinding_.load(std::memory_order_acquire)) unwind_live_[t] = t->id;
  return t;
}

void Runtime::bind_stack(TaskRecord* t) {
  StackPool::Slot slot = pool_->acquire();
  t->stack = slot.base;
  t->stack_guarded = slot.guarded;
  t->ctx = ctx::make_fcontext(pool_->stack_top(slot.base), pool_->usable_size(), &task_entry);
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
    report_stack_overflow(t, true);
  const bool is_main = t->id == main_task_id_;
  registry_remove(t);
  if (unwinding_.load(std::memory_order_acquire)) unwind_live_.erase(t);
  if (t->stack != nullptr) {
#if defined(GORO_TSAN)
    sanitizers::tsan_destroy_fiber(t->tsan_fiber);
#endif
    pool_->release({t->stack, t->stack_guarded});
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
  t->state.store(TaskState::runnable, std::memory_order_relaxed);
#if !defined(GORO_NO_WAIT_RECORDING)
  clear_wait(t);
#endif
  if (unwinding_.load(std::memory_order_acquire)) return;  // the unwinder resumes it
  Worker* w = this_worker();
  if (w != nullptr && w->rt == this) {
    if (w->current != nullptr) {
      // Readied by the running task: run it next, as Go's runnext. The seq_cst exchange
      // doubles as the producer's fence of the idle protocol (scheduler.hpp).
      TaskRecord* old = w->runnext.exchange(t, std::memory_order_seq_cst);
      if (old == nullptr) {
        wake_idle_if_needed_after_fence();
        return;
      }
      push_local(w, old);
    } else {
      push_local(w, t);
    }
  } else {
    global_.enqueue(t);
  }
  wake_idle_if_needed();
}

void Runtime::wake_idle_if_needed() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  wake_idle_if_needed_after_fence();
}

void Runtime::wake_idle_if_needed_after_fence() noexcept {
  if (idle_count_.load(std::memory_order_seq_cst) > 0 &&
      spinning_count_.load(std::memory_order_seq_cst) == 0)
    wake_one_idle();
}

void Runtime::wake_one_idle() noexcept {
  Worker* w = nullptr;
  {
    std::lock_guard guard(idle_lock_);
    if (idle_workers_.empty()) return;
    w = idle_workers_.back();
    idle_workers_.pop_back();
    idle_count_.fetch_sub(1, std::memory_order_seq_cst);
  }
  w->wake_word.store(1, std::memory_order_release);
  futex_wake(&w->wake_word, 1);
}

void Runtime::wake_all_idle() noexcept {
  std::vector<Worker*> woken;
  {
    std::lock_guard guard(idle_lock_);
    woken.swap(idle_workers_);
    idle_count_.fetch_sub(static_cast<int>(woken.size()), std::memory_order_seq_cst);
  }
  for (Worker* w : woken) {
    w->wake_word.store(1, std::memory_order_release);
    futex_wake(&w->wake_word, 1);
  }
}

bool Runtime::any_work_visible() noexcept {
  if (global_.size_approx() > 0) return true;
  for (auto& w : workers_)
    if (!w->runq.empty() || w->runnext.load(std::memory_order_acquire) != nullptr) return true;
  return next_timer_ns_.load(std::memory_order_acquire) <= now_ns();
}

TimerHandle Runtime::add_timer(std::int64_t when, void (*fire)(void*), void (*drop)(void*),
                               void* arg) {
  bool earliest;
  std::uint64_t seq;
  {
    std::lock_guard guard(timer_lock_);
    seq = ++timer_seq_;
    timers_.push_back(Timer{when, seq, fire, drop, arg});
    std::push_heap(timers_.begin(), timers_.end(), timer_later);
    earliest = timers_.front().seq == seq;
    if (earliest) next_timer_ns_.store(when, std::memory_order_release);
  }
  // An idle worker may be sleeping until a later deadline: let it re-arm.
  if (earliest && idle_count_.load(std::memory_order_seq_cst) > 0) wake_one_idle();
  return TimerHandle{id_, seq};
}

bool Runtime::cancel_timer(std::uint64_t timer_id) noexcept {
  Timer removed{};
  {
    std::lock_guard guard(timer_lock_);
    auto it = std::find_if(timers_.begin(), timers_.end(),
                           [&](const Timer& t) { return t.seq == timer_id; });
    if (it == timers_.end()) return false;
    removed = *it;
    *it = timers_.back();
    timers_.pop_back();
    std::make_heap(timers_.begin(), timers_.end(), timer_later);
    next_timer_ns_.store(timers_.empty() ? INT64_MAX : timers_.front().when,
                         std::memory_order_release);
  }
  if (removed.drop) removed.drop(removed.arg);
  return true;
}

bool Runtime::quiescent(std::uint64_t* signature) const noexcept {
  if (stopping_.load(std::memory_order_acquire)) return false;
  if (idle_count_.load(std::memory_order_seq_cst) != static_cast<int>(workers_.size()))
    return false;
  if (next_timer_ns_.load(std::memory_order_acquire) != INT64_MAX) return false;
  if (global_.size_approx() != 0) return false;
  for (const auto& w : workers_) {
    if (!w->runq.empty() || w->runnext.load(std::memory_order_acquire) != nullptr) return false;
    *signature += w->executed.load(std::memory_order_relaxed);
  }
  *signature += live_tasks();
  return true;
}

bool all_quiescent(std::uint64_t* signature) noexcept {
  std::lock_guard guard(g_runtimes_mutex);
  for (const Runtime* rt : *g_runtimes)
    if (!rt->quiescent(signature)) return false;
  return true;
}

bool Runtime::run_due_timers(Worker* w) {
  (void)w;
  std::int64_t next = next_timer_ns_.load(std::memory_order_acquire);
  if (next == INT64_MAX) return false;
  std::int64_t now = now_ns();
  if (now < next) return false;
  Timer due[32];
  int count = 0;
  {
    std::lock_guard guard(timer_lock_);
    while (!timers_.empty() && timers_.front().when <= now && count < 32) {
      std::pop_heap(timers_.begin(), timers_.end(), timer_later);
      due[count++] = timers_.back();
      timers_.pop_back();
    }
    next_timer_ns_.store(timers_.empty() ? INT64_MAX : timers_.front().when,
                         std::memory_order_release);
  }
  for (int i = 0; i < count; ++i) due[i].fire(due[i].arg);
  return count > 0;
}

GORO_HOT_PATH TaskRecord* Runtime::try_get_work(Worker* w) {
  // Fairness: now and then the global queue goes first, so local work cannot starve it.
  if (++w->tick % 61 == 0) {
    TaskRecord* t = nullptr;
    if (global_.try_dequeue(t)) return t;
  }
  // runnext first, so a hand-off pair stays hot, but not forever: two tasks that keep
  // readying each other would otherwise starve the local queue (and the timers' wake-ups
  // that land there). Go bounds this with its time slice; we bound the streak.
  if (w->runnext_streak < kMaxRunnextStreak) {
    if (TaskRecord* t = w->runnext.exchange(nullptr, std::memory_order_acq_rel)) {
      ++w->runnext_streak;
      return t;
    }
  }
  w->runnext_streak = 0;
  if (TaskRecord* t = w->runq.pop()) return t;
  if (TaskRecord* t = w->runnext.exchange(nullptr, std::memory_order_acq_rel)) return t;
  TaskRecord* batch[32];
  std::size_t n = global_.try_dequeue_bulk(batch, 32);
  if (n > 0) {
    for (std::size_t i = 1; i < n; ++i) push_local(w, batch[i]);
    return batch[0];
  }
  return nullptr;
}

// Spins (politely) until read() returns something other than `seen`, or `ns` have
// passed; true when it kept returning `seen`.
template <class Read, class T>
bool stays_for(Read read, T seen, std::int64_t ns) noexcept {
  const std::int64_t give_up = now_ns() + ns;
  do {
    for (int i = 0; i < 20; ++i) cpu_relax();
    if (read() != seen) return false;
  } while (now_ns() < give_up);
  return true;
}

// A task sits in runnext because the victim's running task readied it, and that task
// usually parks moments later (a hand-off: a channel send to a waiting receiver, a
// producer about to fill its buffer), after which the victim runs it on a warm cache.
// Stealing it at once splits the pair across CPUs, where every later channel operation
// bounces the channel's cache lines. So, as Go's runqgrab does, give the victim a few
// microseconds to take it first; a task that is still there after that is stolen.
TaskRecord* Runtime::steal_runnext(Worker* victim) noexcept {
  TaskRecord* seen = victim->runnext.load(std::memory_order_relaxed);
  if (seen == nullptr) return nullptr;
  const auto runnext = [victim] { return victim->runnext.load(std::memory_order_relaxed); };
  if (!stays_for(runnext, seen, kRunnextStealDelayNs)) return nullptr;
  if (victim->runnext.compare_exchange_strong(seen, nullptr, std::memory_order_acq_rel))
    return seen;
  return nullptr;
}

// Whether a thief should take from `victim`'s queue now. Tasks in a queue that its owner
// drains quickly will run within microseconds on a CPU whose cache has them (typically
// tasks a channel operation just readied, which will talk to the same channel); moving
// them gains little and makes both CPUs fight over that channel's cache lines. So the
// thief estimates the drain time: it waits up to kDrainNs / queued for the owner to take
// a task; if the owner does, draining takes about queued x that wait < kDrainNs, and the
// queue is left alone. A long queue (a short wait) or a stalled owner is stolen from.
bool Runtime::worth_stealing(const Worker* victim) noexcept {
  const std::uint32_t queued = victim->runq.size_hint();
  if (queued == 0) return false;
  const std::int64_t wait_ns = kDrainNs / queued;
  if (wait_ns < 1000) return true;
  const std::uint32_t taken = victim->runq.taken_hint();
  return stays_for([victim] { return victim->runq.taken_hint(); }, taken, wait_ns);
}

TaskRecord* Runtime::steal(Worker* w) {
  const std::size_t n = workers_.size();
  if (n < 2) return nullptr;
  constexpr int kAttempts = 4;
  std::uint64_t draining = 0;  // victims (by index, first 64) whose short queue is moving
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const std::size_t start = fast_random() % n;
    for (std::size_t k = 0; k < n; ++k) {
      Worker* victim = workers_[(start + k) % n].get();
      if (victim == w) continue;
      const std::uint64_t bit = victim->index < 64 ? std::uint64_t{1} << victim->index : 0;
      if (attempt == 0 && !worth_stealing(victim)) draining |= bit;
      if (!(draining & bit))
        if (TaskRecord* t = victim->runq.steal_into(w->runq)) return t;
      // Last attempt: take the victim's runnext too, or a task readied by a worker that
      // then stays busy for long would wait for it.
      if (attempt == kAttempts - 1)
        if (TaskRecord* t = steal_runnext(victim)) return t;
    }
  }
  return nullptr;
}

GORO_HOT_PATH TaskRecord* Runtime::find_runnable(Worker* w) {
  for (;;) {
    if (stopping_.load(std::memory_order_acquire)) return nullptr;
    // Checked here so the common no-timer case costs a load, not a call.
    if (next_timer_ns_.load(std::memory_order_acquire) != INT64_MAX) run_due_timers(w);
    if (TaskRecord* t = try_get_work(w)) return t;

    // Spin: new work usually arrives within microseconds, and sleeping then waking a
    // thread costs ~20 us on this kind of machine. At most half the busy workers spin.
    const int busy = static_cast<int>(workers_.size()) - idle_count_.load(std::memory_order_relaxed);
    if (workers_.size() > 1 &&
        2 * spinning_count_.load(std::memory_order_relaxed) < std::max(busy, 1)) {
      w->spinning = true;
      spinning_count_.fetch_add(1, std::memory_order_seq_cst);
      TaskRecord* found = nullptr;
      for (int round = 0; round < 64 && found == nullptr; ++round) {
        if (stopping_.load(std::memory_order_acquire)) break;
        run_due_timers(w);
        found = try_get_work(w);
        if (found == nullptr) found = steal(w);
        if (found == nullptr)
          for (int i = 0; i < 50; ++i) cpu_relax();
      }
      w->spinning = false;
      spinning_count_.fetch_sub(1, std::memory_order_seq_cst);
      if (found != nullptr) {
        // We stopped spinning with work in hand; more may be coming: keep one spinner.
        wake_idle_if_needed();
        return found;
      }
    } else if (TaskRecord* t = steal(w)) {
      return t;
    }

    // Go idle. Register first, then re-check (see the wake-up protocol in the header).
    {
      std::lock_guard guard(idle_lock_);
      idle_workers_.push_back(w);
      idle_count_.fetch_add(1, std::memory_order_seq_cst);
    }
    std::atomic_thread_fence(std::memory_order_seq_cst);
    auto leave_idle = [&] {
      {
        std::lock_guard guard(idle_lock_);
        auto it = std::find(idle_workers_.begin(), idle_workers_.end(), w);
        if (it != idle_workers_.end()) {
          idle_workers_.erase(it);
          idle_count_.fetch_sub(1, std::memory_order_seq_cst);
          return;
        }
      }
      // A waker already took us off the list: consume its wake-up.
      while (w->wake_word.exchange(0, std::memory_order_acquire) == 0)
        futex_wait(&w->wake_word, 0);
    };
    if (stopping_.load(std::memory_order_acquire) || any_work_visible()) {
      leave_idle();
      continue;
    }
    wait_clock_worker_idle();
    for (;;) {
      std::int64_t deadline = next_timer_ns_.load(std::memory_order_acquire);
      if (deadline == INT64_MAX) {
        futex_wait(&w->wake_word, 0);
      } else {
        std::int64_t wait = deadline - now_ns();
        if (wait > 0) futex_wait_for(&w->wake_word, 0, wait);
      }
      if (w->wake_word.exchange(0, std::memory_order_acquire) == 1) break;  // woken
      if (stopping_.load(std::memory_order_acquire) ||
          next_timer_ns_.load(std::memory_order_acquire) <= now_ns()) {
        leave_idle();
        break;
      }
    }
    wait_clock_worker_busy();
  }
}

GORO_HOT_PATH void Runtime::execute(Worker* w, TaskRecord* t) {
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
  sanitizers::start_switch(&w->asan_fake_stack, pool_->usable_bottom(t->stack),
                           pool_->usable_size());
#if defined(GORO_TSAN)
  sanitizers::tsan_switch_to(t->tsan_fiber);
#endif
  ctx::transfer_t back = ctx::jump_fcontext(t->ctx, w);
  sanitizers::finish_switch(w->asan_fake_stack, nullptr, nullptr);
  w->current = nullptr;
  const AfterSwitch after = w->after;
  w->after = AfterSwitch::none;
  switch (after) {
    case AfterSwitch::park: {
      t->ctx = back.fctx;
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
      t->ctx = back.fctx;
      t->state.store(TaskState::runnable, std::memory_order_relaxed);
      if (unwinding_.load(std::memory_order_acquire)) break;
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

void Runtime::worker_main(Worker* w) {
  t_worker = w;
  install_overflow_handler_for_this_thread();
  w->tsan_fiber = sanitizers::tsan_current_fiber();
  wait_clock_worker_busy();
  while (TaskRecord* t = find_runnable(w)) execute(w, t);
  wait_clock_worker_idle();
  t_worker = nullptr;
  exited_workers_.fetch_add(1, std::memory_order_release);
}

// ------------------------------------------------------------------ switching out of tasks

namespace {

// Switches from the running task t (on worker w) back to a worker loop; returns the
// worker that resumed it, which may run on another thread.
Worker* switch_out(Worker* w, AfterSwitch after) {
  w->after = after;
  void* fake_stack = nullptr;
  sanitizers::start_switch(after == AfterSwitch::finish ? nullptr : &fake_stack,
                           w->stack_bottom, w->stack_size);
#if defined(GORO_TSAN)
  sanitizers::tsan_switch_to(w->tsan_fiber);
#endif
  ctx::transfer_t back = ctx::jump_fcontext(w->sched_ctx, nullptr);
  auto* resumed_by = static_cast<Worker*>(back.data);
  resumed_by->sched_ctx = back.fctx;
  sanitizers::finish_switch(fake_stack, &resumed_by->stack_bottom, &resumed_by->stack_size);
  return resumed_by;
}

void log_task_exception(const TaskRecord* t, std::exception_ptr error) {
  std::string what = "an exception not derived from std::exception";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    what = std::string(typeid(e).name()) + ": " + e.what();
  } catch (...) {
  }
  logger().critical(
      "task {}{}{}{} (spawned at {}:{} in {}) exited with an uncaught exception: {}. "
      "Catch it inside the task, or set goro::Config::on_panic = "
      "goro::PanicPolicy::log_and_continue.",
      t->id, t->name ? " \"" : "", task_name(*t), t->name ? "\"" : "",
      t->spawn_site.file_name(), t->spawn_site.line(), t->spawn_site.function_name(), what);
  logger().flush();
}

void run_task_body(TaskRecord* t) {
  try {
    if (!t->runtime->unwinding()) t->closure_ops->invoke(t->closure);
  } catch (const TaskUnwind&) {
    // run() is unwinding this task: done.
  } catch (...) {
    log_task_exception(t, std::current_exception());
    if (t->runtime->config().on_panic == PanicPolicy::terminate) std::terminate();
  }
  t->closure_ops->destroy(t->closure);
}

void task_entry(ctx::transfer_t from) {
  auto* w = static_cast<Worker*>(from.data);
  w->sched_ctx = from.fctx;
  sanitizers::finish_switch(nullptr, &w->stack_bottom, &w->stack_size);
  TaskRecord* t = w->current;
  run_task_body(t);
  switch_out(this_worker(), AfterSwitch::finish);
  __builtin_unreachable();
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
    throw TaskUnwind{};
  }
  if (!StackPool::canary_intact({t->stack, t->stack_guarded})) report_stack_overflow(t, true);
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
  if (rt->unwinding() && std::uncaught_exceptions() == 0) throw TaskUnwind{};
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
  if (t->runtime->unwinding() && std::uncaught_exceptions() == 0) throw TaskUnwind{};
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
  if (!StackPool::canary_intact({t->stack, t->stack_guarded})) report_stack_overflow(t, true);
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
  Runtime* rt = w->current->runtime;
  if (rt->unwinding() && std::uncaught_exceptions() == 0) throw TaskUnwind{};
  switch_out(w, AfterSwitch::yield);
  if (rt->unwinding() && std::uncaught_exceptions() == 0) throw TaskUnwind{};
}

TaskRecord* current_task_record() noexcept {
  Worker* w = this_worker();
  return w ? w->current : nullptr;
}

// ------------------------------------------------------------------------ shutdown

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
  wake_all_idle();
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
  std::vector<Timer> timers;
  {
    std::lock_guard guard(timer_lock_);
    timers.swap(timers_);
    next_timer_ns_.store(INT64_MAX);
  }
  for (Timer& timer : timers)
    if (timer.drop) timer.drop(timer.arg);

  // This thread becomes a worker that resumes each task once so it unwinds.
  Worker unwinder;
  unwinder.rt = this;
  unwinder.index = static_cast<unsigned>(workers_.size());
  unwinder.tsan_fiber = sanitizers::tsan_current_fiber();
  Worker* saved = t_worker;
  t_worker = &unwinder;
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
  t_worker = saved;
  live_.fetch_add(unwinder.live_delta.load(std::memory_order_relaxed), std::memory_order_acq_rel);
  std::size_t stuck = live_tasks();
  if (stuck > 0)
    logger().error(
        "goro::run: {} task(s) could not be unwound: they blocked again inside a destructor "
        "while unwinding. Their stacks are kept (leaked).",
        stuck);
}

void Runtime::wait_for_main_or_deadlock() {
  // Like a plain thread blocked in a goro call: if every task (main included) is asleep
  // for the deadlock grace period, nothing can ever finish main: report, unwind, throw.
  const bool finished = wait_unless_deadlocked(
      &main_done,
      [](void* word) {
        return static_cast<std::atomic<std::uint32_t>*>(word)->load(std::memory_order_acquire) != 0;
      },
      &main_done);
  if (finished) return;
  std::string message =
      "goro: all goro tasks are asleep - deadlock! The main task of goro::run can never "
      "finish. Live tasks:\n" + live_task_report(this, 0);
  logger().error("{}", message);
  logger().flush();
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
  return (leak_policy_ == LeakPolicy::fail && leftovers > 0) ? 1 : 0;
}

void Runtime::shutdown_at_exit() {
  std::size_t leftovers = report_leftovers();
  // Workers blocked in a task that never yields would hang a join: wait a bounded time
  // for each, then let the process exit around them.
  stopping_.store(true, std::memory_order_seq_cst);
  wake_all_idle();
  const std::int64_t give_up = now_ns() + 1'000'000'000;
  for (auto& w : workers_) {
    while (w->thread.joinable()) {
      if (exited_workers_.load(std::memory_order_acquire) == workers_.size() ||
          now_ns() > give_up)
        break;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      wake_all_idle();
    }
  }
  for (auto& w : workers_) {
    if (!w->thread.joinable()) continue;
    if (exited_workers_.load(std::memory_order_acquire) == workers_.size())
      w->thread.join();
    else
      w->thread.detach();
  }
  if (leak_policy_ == LeakPolicy::fail && leftovers > 0) {
    std::fflush(nullptr);
    std::_Exit(1);
  }
}

// ------------------------------------------------------------------ default runtime

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

void ready_task(TaskRecord* t) noexcept { t->runtime->ready(t); }

TaskId spawn_task(const SpawnOptions* opts, const std::source_location& where, std::size_t size,
                  std::size_t align, void (*construct)(void*, void*), void* arg,
                  const ClosureOps& ops) {
  Runtime& rt = current_or_default_runtime();
  TaskRecord* t = rt.create_task(opts, where, size, align, construct, arg, ops);
  const TaskId id = t->id;  // t may run and be freed as soon as it is ready
  rt.ready(t);
  return id;
}

}  // namespace goro::detail

// --------------------------------------------------------------------- public API

namespace goro {

int run(std::function<void()> main_task, Config cfg) {
  if (!main_task) throw std::invalid_argument("goro::run: main_task is empty");
  auto rt = std::make_unique<detail::Runtime>(cfg, /*is_default=*/false);
  rt->start();
  SpawnOptions opts{"main"};
  std::function<void()>* fn = &main_task;
  detail::TaskRecord* t = rt->create_task(
      &opts, std::source_location::current(), sizeof(detail::MainClosure),
      alignof(detail::MainClosure),
      [](void* storage, void* src) {
        ::new (storage) detail::MainClosure{*static_cast<std::function<void()>**>(src)};
      },
      &fn, detail::closure_ops<detail::MainClosure>);
  rt->set_main_task(t->id);
  rt->ready(t);
  int code = rt->finish_run(t);
  if (rt->live_tasks() > 0) {
    (void)rt.release();  // tasks that could not be unwound still point at it
  }
  return code;
}

void yield() { detail::task_yield(); }

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
  struct SleepArgs {
    detail::Runtime* rt;
    std::int64_t when;
    detail::TaskRecord* task;
  } args{w->rt, detail::now_ns() + d.count(), w->current};
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

TaskId current_task() noexcept {
  detail::Worker* w = detail::this_worker();
  return (w && w->current) ? w->current->id : 0;
}

}  // namespace goro
