// runtime/src/scheduler.cpp — see scheduler.hpp for the structure and invariants.
#include "scheduler.hpp"

#include <boost/context/detail/fcontext.hpp>
#include <cxxabi.h>
#include <execinfo.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <typeinfo>

#include "deadlock.hpp"
#include "env.hpp"
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
// How long run()'s end waits for goro::blocking calls still running before reporting them.
constexpr std::chrono::seconds kBlockingShutdownWait{2};

std::size_t default_stack_size() {
#if defined(GORO_ASAN) || defined(GORO_TSAN)
  return 256 * 1024;  // instrumented frames are several times larger
#else
  return 64 * 1024;
#endif
}

// The most worker threads a runtime may have (Config::workers, GORO_MAXPROCS): far more
// than any machine has cores; a larger number is a typo, and each worker is a thread.
constexpr unsigned kMaxWorkers = 1024;
// The value of the environment variable `name`, or 0 when it is unset: a whole number
// (with `bytes`, optionally followed by K, M or G, or KiB, MiB, GiB: powers of 1024).
// Anything else throws std::invalid_argument naming the variable, value and valid forms.
std::size_t env_size(const char* name, bool bytes) {
  const char* env = std::getenv(name);
  if (env == nullptr) return 0;
  const std::string_view text(env);
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  const std::string_view suffix(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::size_t scale = 1;
  bool valid = error == std::errc() && end != text.data();
  if (valid && !suffix.empty()) {
    if (bytes && (suffix == "K" || suffix == "k" || suffix == "KiB"))
      scale = std::size_t{1} << 10;
    else if (bytes && (suffix == "M" || suffix == "m" || suffix == "MiB"))
      scale = std::size_t{1} << 20;
    else if (bytes && (suffix == "G" || suffix == "g" || suffix == "GiB"))
      scale = std::size_t{1} << 30;
    else
      valid = false;
  }
  if (valid && value > SIZE_MAX / scale) valid = false;
  if (!valid)
    throw std::invalid_argument(fmt::format(
        "goro: {}=\"{}\" is not valid: give {}", name, env,
        bytes ? "a number of bytes, optionally with a K, M or G suffix (powers of 1024), "
                "e.g. 262144 or 256K"
              : "a whole number, e.g. 100000 (0: no limit)"));
  return value * scale;
}

// A task stack size from `source` (a Config or SpawnOptions field, or the environment),
// checked against the range a StackPool takes.
std::size_t checked_stack_size(std::size_t bytes, std::string_view source) {
  if (bytes >= StackPool::kMinStackSize && bytes <= StackPool::kMaxStackSize) return bytes;
  throw std::invalid_argument(fmt::format(
      "goro: {} = {} is out of range: a task stack is {} (16 KiB) to {} (1 GiB) bytes; "
      "0 means the default",
      source, bytes, StackPool::kMinStackSize, StackPool::kMaxStackSize));
}

// Config::stack_size, else $GORO_STACK_SIZE, else the default (0 in either: the next); checked.
std::size_t resolve_stack_size(std::size_t configured) {
  if (configured != 0) return checked_stack_size(configured, "goro::Config::stack_size");
  if (const std::size_t env = env_size("GORO_STACK_SIZE", true); env != 0)
    return checked_stack_size(env, "GORO_STACK_SIZE");
  return default_stack_size();
}

std::string site_text(const std::source_location& where) {
  return fmt::format("{}:{}", where.file_name(), where.line());
}

unsigned resolve_workers(unsigned requested) {
  if (requested > kMaxWorkers)
    throw std::invalid_argument("goro: Config::workers = " + std::to_string(requested) +
                                " is out of range: use 1 to " + std::to_string(kMaxWorkers) +
                                ", or 0 for $GORO_MAXPROCS, else one per CPU");
  if (requested != 0) return requested;
  if (auto v = env::read_unsigned("GORO_MAXPROCS", 1, kMaxWorkers))
    return static_cast<unsigned>(*v);
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : std::min(hw, kMaxWorkers);
}

LeakPolicy resolve_leak_policy(const std::optional<LeakPolicy>& configured) {
  if (configured) return *configured;
  if (auto v = env::read_choice("GORO_LEAKCHECK", {"off", "report", "fail"})) {
    constexpr LeakPolicy kPolicies[] = {LeakPolicy::off, LeakPolicy::report, LeakPolicy::fail};
    return kPolicies[*v];
  }
  return LeakPolicy::report;
}

// Config::trend_period, else GORO_TREND: "1s", "500ms", "2m", "3" (seconds), "on", "off".
std::chrono::milliseconds resolve_trend_period(const std::optional<std::chrono::milliseconds>& configured) {
  using namespace std::chrono;
  if (configured) {
    if (configured->count() < 0)
      throw std::invalid_argument("goro: Config::trend_period = " +
                                  std::to_string(configured->count()) +
                                  "ms is negative: use zero for no sampling, or a period");
    return *configured;
  }
  const auto env = env::get("GORO_TREND");
  if (!env) return milliseconds(0);
  if (env::equals_ignoring_case(*env, "off")) return milliseconds(0);
  if (env::equals_ignoring_case(*env, "on")) return seconds(1);
  const nanoseconds period = env::parse_duration("GORO_TREND", *env, seconds(1),
                                                 {nanoseconds(0), hours(24)}, "on, off");
  // A period shorter than the sampler's millisecond resolution samples every millisecond.
  if (period.count() == 0) return milliseconds(0);
  return std::max(milliseconds(1), duration_cast<milliseconds>(period));
}

// GORO_TRACEBACK (read once): capture parked tasks' stacks in every runtime.
bool traceback_env() {
  static const bool on = env::read_bool("GORO_TRACEBACK").value_or(false);
  return on;
}

// Every GORO_* variable a runtime depends on, read before the runtime does anything, so
// an invalid one fails run() or the first go_spawn with std::invalid_argument (env.hpp).
Config resolve_config(const Config& requested) {
  Config cfg = requested;
  cfg.workers = resolve_workers(requested.workers);
  cfg.leak_policy = resolve_leak_policy(requested.leak_policy);
  cfg.capture_stacks = requested.capture_stacks || traceback_env();
  cfg.trend_period = resolve_trend_period(requested.trend_period);
  (void)deadlock_grace_ns();
  // Read by the stack pool when it first carves a stack; checked here, where an invalid
  // value can still be reported to the caller.
  (void)env::read_unsigned("GORO_STACK_GUARDS", 0, std::numeric_limits<long>::max());
  return cfg;
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
    if (rt->config().max_tasks != 0) stats.max_tasks += rt->config().max_tasks;
    else ++stats.runtimes_without_task_limit;
  }
  return stats;
}

namespace {
// Rejects what the deadlock detector cannot use, before the runtime starts.
void check_deadlock_config(const Config& cfg) {
  if (cfg.deadlock_grace && cfg.deadlock_grace->count() < 0)
    throw std::invalid_argument("goro: Config::deadlock_grace is negative (" +
                                std::to_string(cfg.deadlock_grace->count()) +
                                " ms): give a positive grace period, or zero to turn deadlock "
                                "detection off.");
  if (!cfg.deadlock_policy) (void)deadlock_policy_from_env();
}

}  // namespace

Runtime::Runtime(const Config& cfg, bool is_default)
    : cfg_(resolve_config(cfg)),
      id_(g_next_runtime_id.fetch_add(1)),
      is_default_(is_default),
      leak_policy_(*cfg_.leak_policy),
      pool_(&StackPool::for_size(resolve_stack_size(cfg.stack_size))),
      blocking_pool_(std::make_unique<BlockingPool>(cfg.blocking_threads)) {
  check_deadlock_config(cfg);
  cfg_.stack_size = pool_->usable_size();
  if (cfg_.max_tasks == 0) cfg_.max_tasks = env_size("GORO_MAX_TASKS", false);
  if (cfg_.soft_max_tasks == 0) cfg_.soft_max_tasks = env_size("GORO_SOFT_MAX_TASKS", false);
  if (cfg_.max_stack_bytes == 0) cfg_.max_stack_bytes = env_size("GORO_MAX_STACK_BYTES", true);
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
  StackPool* stacks = pool_;
  if (opts != nullptr && opts->stack_size != 0) [[unlikely]]
    stacks = &stack_pool_for_spawn(opts->stack_size, where);
  if (limits_on_) [[unlikely]]
    admit_task(where, stacks->slot_size());
  // The closure goes right after the record when a pooled block can hold both.
  const std::size_t closure_align = std::max<std::size_t>(align, alignof(std::max_align_t));
  const std::size_t closure_offset =
      (sizeof(TaskRecord) + closure_align - 1) / closure_align * closure_align;
  RecordPool* pool = closure_align <= 64 ? RecordPool::for_bytes(closure_offset + size) : nullptr;
  if (pool == nullptr) pool = RecordPool::for_bytes(sizeof(TaskRecord));
  // Everything the task needs is had (its stack: reserved) here, on the spawning thread,
  // so that a spawn that cannot have it fails at its call site; a failure gives all of
  // it back (abandon_spawn).
  void* block = nullptr;
  TaskRecord* t = nullptr;
  bool stack_reserved = false;
  try {
    block = pool->allocate();
    t = ::new (block) TaskRecord();
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
    stacks->reserve();
    stack_reserved = true;
  } catch (...) {
    abandon_spawn(stacks, stack_reserved, pool, block, t, closure_align);
    try {
      throw;
    } catch (const StackMemoryUnavailable& e) {
      throw_exhausted(where, fmt::format("no memory for a new task's stack ({}: {}; the "
                                         "address-space limit (ulimit -v), vm.max_map_count "
                                         "or the machine's memory is exhausted)",
                                         e.what(), std::system_category().message(e.error)));
    } catch (const std::bad_alloc&) {
      throw_exhausted(where, "no memory for a new task's record or closure (std::bad_alloc)");
    }
  }
  t->record_pool = pool;
  t->runtime = this;
  t->stack_pool_index = stacks->index();
  try {
    construct(t->closure, arg);
  } catch (...) {
    abandon_spawn(stacks, true, pool, block, t, closure_align);
    throw;
  }
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

// Gives back what a failed spawn had taken (create_task).
void Runtime::abandon_spawn(StackPool* stacks, bool stack_reserved, RecordPool* pool, void* block,
                            TaskRecord* t, std::size_t closure_align) noexcept {
  if (stack_reserved) stacks->unreserve();
  if (t != nullptr) {
    if (t->closure_on_heap) ::operator delete(t->closure, std::align_val_t(closure_align));
    t->~TaskRecord();
  }
  if (block != nullptr) pool->deallocate(block);
  if (limits_on_) release_task_limits(stacks->slot_size());
}

StackPool& Runtime::stack_pool_for_spawn(std::size_t stack_size, const std::source_location& where) {
  checked_stack_size(stack_size, fmt::format("goro::SpawnOptions::stack_size (go_spawn at {})",
                                             site_text(where)));
  try {
    return StackPool::for_size(stack_size);
  } catch (const std::length_error& e) {
    throw std::invalid_argument(fmt::format("goro::go_spawn at {}: {}: use fewer distinct "
                                            "SpawnOptions::stack_size values",
                                            site_text(where), e.what()));
  }
}

void Runtime::admit_task(const std::source_location& where, std::size_t stack_bytes) {
  const std::size_t tasks = limited_tasks_.fetch_add(1, std::memory_order_relaxed) + 1;
  const std::size_t bytes =
      limited_stack_bytes_.fetch_add(stack_bytes, std::memory_order_relaxed) + stack_bytes;
  if (cfg_.max_tasks != 0 && tasks > cfg_.max_tasks) {
    release_task_limits(stack_bytes);
    throw_exhausted(where, fmt::format("the task limit is reached: {} live tasks, max_tasks = {} "
                                       "(goro::Config::max_tasks or GORO_MAX_TASKS)",
                                       tasks - 1, cfg_.max_tasks));
  }
  if (cfg_.max_stack_bytes != 0 && bytes > cfg_.max_stack_bytes) {
    release_task_limits(stack_bytes);
    throw_exhausted(where, fmt::format("the task stack limit is reached: {} live tasks hold {} "
                                       "bytes of stacks, another {} would pass max_stack_bytes "
                                       "= {} (goro::Config::max_stack_bytes or "
                                       "GORO_MAX_STACK_BYTES)",
                                       tasks - 1, bytes - stack_bytes, stack_bytes,
                                       cfg_.max_stack_bytes));
  }
  if (cfg_.soft_max_tasks != 0 && tasks >= next_soft_warning_.load(std::memory_order_relaxed))
    [[unlikely]]
    warn_soft_limit(tasks);
}

void Runtime::release_task_limits(std::size_t stack_bytes) noexcept {
  limited_tasks_.fetch_sub(1, std::memory_order_relaxed);
  limited_stack_bytes_.fetch_sub(stack_bytes, std::memory_order_relaxed);
}

// Once per doubling: the spawn that moves next_soft_warning_ on logs.
void Runtime::warn_soft_limit(std::size_t tasks) {
  std::size_t next = next_soft_warning_.load(std::memory_order_relaxed);
  if (tasks < next) return;
  const std::size_t after = next > SIZE_MAX / 2 ? SIZE_MAX : next * 2;
  if (!next_soft_warning_.compare_exchange_strong(next, after, std::memory_order_relaxed)) return;
  logger().warn(
      "goro: {} live tasks: past the soft limit soft_max_tasks = {} (goro::Config::soft_max_tasks "
      "or GORO_SOFT_MAX_TASKS); the next warning at {}. Spawn sites holding the most live "
      "tasks: {}. If these tasks are blocked for good, they leak: goro::diag::dump_blocked() "
      "shows where they wait.",
      tasks, cfg_.soft_max_tasks, after, top_spawn_sites(3));
}

// Throws ResourceExhausted for a spawn at `where` that failed for `what`; the first time
// in this runtime, also logs the grouped dump of its live tasks (diag's report).
void Runtime::throw_exhausted(const std::source_location& where, std::string what) {
  std::string message;
  try {
    message = fmt::format(
        "goro::go_spawn at {} (in {}): {}. Spawn sites holding the most live tasks: {}. Nothing "
        "was spawned; spawning again works once tasks have finished. If tasks pile up, they "
        "may be leaking: the first such failure logs the blocked-task dump.",
        site_text(where), where.function_name(), what, top_spawn_sites(3));
    if (!exhaustion_logged_.exchange(true, std::memory_order_relaxed)) {
      logger().error("{}\nLive tasks:\n{}", message, live_task_report(this, 0));
      logger().flush();
    }
  } catch (const std::bad_alloc&) {
    if (message.empty()) message = "goro::go_spawn: " + what;
  }
  throw ResourceExhausted(message);
}

// "N at file:line (in function); ..." for the n spawn sites holding most of this
// runtime's live tasks.
std::string Runtime::top_spawn_sites(std::size_t n) const {
  using Site = std::tuple<std::string_view, std::uint_least32_t, std::string_view>;
  std::map<Site, std::size_t> live_by_site;
  registry_for_each([&](const TaskRecord& t) {
    if (t.runtime != this) return;
    ++live_by_site[Site(t.spawn_site.file_name(), t.spawn_site.line(),
                        t.spawn_site.function_name())];
  });
  std::vector<std::pair<std::size_t, Site>> sites;
  sites.reserve(live_by_site.size());
  for (const auto& [site, count] : live_by_site) sites.emplace_back(count, site);
  const std::size_t shown = std::min(n, sites.size());
  std::partial_sort(sites.begin(), sites.begin() + static_cast<std::ptrdiff_t>(shown), sites.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string text;
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& [count, site] = sites[i];
    text += fmt::format("{}{} at {}:{} (in {})", i == 0 ? "" : "; ", count, std::get<0>(site),
                        std::get<1>(site), std::get<2>(site));
  }
  return text.empty() ? "none" : text;
}

void Runtime::bind_stack(TaskRecord* t) {
  StackPool& stacks = StackPool::by_index(t->stack_pool_index);
  const StackPool::Slot slot = stacks.acquire();  // reserved at spawn: no mmap, no failure
  t->stack = slot.base;
  t->stack_guarded = slot.guarded;
  t->ctx = ctx::make_fcontext(stacks.stack_top(slot.base), stacks.usable_size(), &task_entry);
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
  netpoll_.interrupt(w);
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
    netpoll_.interrupt(w);
  }
}

bool Runtime::any_work_visible() noexcept {
  if (global_.size_approx() > 0) return true;
  for (auto& w : workers_)
    if (!w->runq.empty() || w->runnext.load(std::memory_order_acquire) != nullptr) return true;
  return next_timer_ns() <= now_ns();
}

TimerHandle Runtime::add_timer(std::int64_t when, void (*fire)(void*), void (*drop)(void*),
                               void* arg) {
  const TimerHeap::Added added = timers_.add(when, fire, drop, arg);
  // An idle worker may be sleeping until a later deadline: let it re-arm.
  if (added.earliest && idle_count_.load(std::memory_order_seq_cst) > 0) wake_one_idle();
  return TimerHandle{id_, added.id};
}

bool Runtime::cancel_timer(std::uint64_t timer_id) noexcept {
  TimerHeap::Callback drop;
  if (!timers_.cancel(timer_id, &drop)) return false;
  drop.run();
  return true;
}

bool Runtime::quiescent(std::uint64_t* signature) const noexcept {
  if (stopping_.load(std::memory_order_acquire)) return false;
  if (idle_count_.load(std::memory_order_seq_cst) != static_cast<int>(workers_.size()))
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

bool all_quiescent(std::uint64_t* signature) noexcept {
  std::lock_guard guard(g_runtimes_mutex);
  for (const Runtime* rt : *g_runtimes) {
    *signature = mix_signature(*signature, rt->id());
    if (!rt->quiescent(signature)) return false;
  }
  return true;
}

DeadlockSettings deadlock_settings() noexcept {
  std::optional<DeadlockPolicy> policy;
  std::optional<std::chrono::milliseconds> grace;
  {
    std::lock_guard guard(g_runtimes_mutex);
    for (const Runtime* rt : *g_runtimes) {  // oldest first: the last one setting a field wins
      if (rt->config().deadlock_policy) policy = rt->config().deadlock_policy;
      if (rt->config().deadlock_grace) grace = rt->config().deadlock_grace;
    }
  }
  DeadlockSettings settings;
  if (policy) {
    settings.policy = *policy;
  } else {
    try {
      settings.policy = deadlock_policy_from_env();
    } catch (const std::invalid_argument& e) {
      // Only reachable with no runtime alive (a runtime rejects it when it starts).
      static std::once_flag logged;
      std::call_once(logged, [&] { logger().error("{} Using proven.", e.what()); });
    }
  }
  if (!grace) {
    try {
      settings.grace_ns = deadlock_grace_ns();
    } catch (const std::invalid_argument& e) {
      // As for the policy: a runtime rejects it when it starts; a plain thread's wait
      // throws it (park_thread); here the default applies.
      static std::once_flag logged;
      std::call_once(logged, [&] { logger().error("{} Using 1000 ms.", e.what()); });
      settings.grace_ns = 1'000'000'000;
    }
  } else {  // saturated: a grace too long for the clock is "never"
    const auto ms = static_cast<std::int64_t>(grace->count());
    settings.grace_ns = ms > kNeverNs / 1'000'000 ? kNeverNs : ms * 1'000'000;
  }
  return settings;
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

void Runtime::ready_polled(PollBatch& batch) noexcept {
  for (int i = 0; i < batch.count; ++i) ready(batch.tasks[i]);
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
    if (next_timer_ns() != INT64_MAX) run_due_timers(w);
    // Tasks in IO wait while this runtime is busy: a non-blocking poll now and then.
    if (netpoll_.has_waiters()) [[unlikely]] {
      PollBatch batch;
      netpoll_.poll_if_due(w->tick, batch);
      ready_polled(batch);
    }
    if (TaskRecord* t = try_get_work(w)) return t;
    // Out of work with tasks in IO wait: a non-blocking poll before spinning or sleeping
    // (Go's findRunnable), so an fd that is ready already costs no idle round trip.
    if (netpoll_.has_waiters()) [[unlikely]] {
      PollBatch batch;
      netpoll_.poll_now(batch);
      ready_polled(batch);
      if (batch.count > 0) continue;
    }

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
        if (found == nullptr && netpoll_.has_waiters()) {
          PollBatch batch;
          netpoll_.poll_now(batch);
          ready_polled(batch);
          if (batch.count > 0) found = try_get_work(w);
        }
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
      std::int64_t deadline = next_timer_ns();
      PollBatch batch;
      // Tasks in IO wait: one idle worker sleeps in epoll_wait instead of its futex.
      if (netpoll_.has_waiters() && netpoll_.block(w, deadline, &w->wake_word, batch)) {
        if (batch.count > 0) {
          leave_idle();
          ready_polled(batch);
          break;
        }
      } else if (deadline == INT64_MAX) {
        futex_wait(&w->wake_word, 0);
      } else {
        std::int64_t wait = deadline - now_ns();
        if (wait > 0) futex_wait_for(&w->wake_word, 0, wait);
      }
      if (w->wake_word.exchange(0, std::memory_order_acquire) == 1) break;  // woken
      if (stopping_.load(std::memory_order_acquire) ||
          next_timer_ns() <= now_ns()) {
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
#if defined(GORO_ASAN)
  const StackPool& stacks = StackPool::by_index(t->stack_pool_index);
  sanitizers::start_switch(&w->asan_fake_stack, stacks.usable_bottom(t->stack),
                           stacks.usable_size());
#endif
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
  const NeverWakesTasks only_tasks_wake_tasks;  // what a worker runs is counted as tasks
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

// "std::runtime_error" for "St13runtime_error"; the mangled name if demangling fails.
std::string demangled(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                              std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

void log_task_exception(const TaskRecord* t, std::exception_ptr error) {
  std::string what = "an exception not derived from std::exception";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    what = demangled(typeid(e).name()) + ": " + e.what();
  } catch (...) {
    if (const std::type_info* type = abi::__cxa_current_exception_type())
      what = "an exception of type " + demangled(type->name()) +
             " (not derived from std::exception)";
  }
  const bool continuing = t->runtime->config().on_panic == PanicPolicy::log_and_continue;
  logger().critical(
      "task {}{}{}{} (spawned at {}:{} in {}) exited with an uncaught exception: {}. {}",
      t->id, t->name ? " \"" : "", task_name(*t), t->name ? "\"" : "",
      t->spawn_site.file_name(), t->spawn_site.line(), t->spawn_site.function_name(), what,
      continuing ? "The task ended; the runtime goes on (goro::PanicPolicy::log_and_continue)."
                 : "Catch it inside the task, or set goro::Config::on_panic = "
                   "goro::PanicPolicy::log_and_continue.");
  logger().flush();
}

void run_task_body(TaskRecord* t) {
  try {
    if (!t->runtime->unwinding()) t->closure_ops->invoke(t->closure);
  } catch (const TaskUnwind&) {
    // run() is unwinding this task: done.
  } catch (...) {
    Runtime* rt = t->runtime;
    if (rt->config().on_panic == PanicPolicy::log_and_continue && t->id == rt->main_task()) {
      rt->main_exception = std::current_exception();  // run() rethrows it
    } else {
      log_task_exception(t, std::current_exception());
      if (rt->config().on_panic == PanicPolicy::terminate) std::terminate();
    }
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

// A task that swallowed a TaskUnwind (a catch (...) that did not rethrow) and came back
// to a goro call: it would catch every later one too, spinning forever, so it is told
// about once and abandoned: switched out for good, its stack kept (leaked). The unwinder
// has marked it resumed, so it is not resumed again; run() reports it with the tasks
// that could not be unwound.
[[noreturn]] __attribute__((noinline, cold)) void abandon_swallowing_task(Worker* w, TaskRecord* t) {
  logger().error(
      "goro::run: task {}{}{}{} (spawned at {}:{} in {}) caught the runtime's unwind "
      "(goro::detail::TaskUnwind) in a catch (...) that did not rethrow it, then called goro "
      "again. It is abandoned: the rest of its stack is not unwound (its destructors do not "
      "run; its stack is leaked). Every catch (...) that can see a goro call must rethrow: "
      "catch (...) {{ cleanup(); throw; }}.",
      t->id, t->name ? " \"" : "", task_name(*t), t->name ? "\"" : "",
      t->spawn_site.file_name(), t->spawn_site.line(), t->spawn_site.function_name());
  logger().flush();
  for (;;) {
    w->release = nullptr;
    w = switch_out(w, AfterSwitch::park);
  }
}

// Whether the exception being handled on this thread now (in a catch block) is a
// TaskUnwind: a catch (...) { cleanup(); throw; } that calls goro in cleanup().
bool handling_task_unwind() noexcept {
  std::exception_ptr handled = std::current_exception();
  if (!handled) return false;
  try {
    std::rethrow_exception(handled);
  } catch (const TaskUnwind&) {
    return true;
  } catch (...) {
    return false;
  }
}

// Throws TaskUnwind into the running task t (run() is unwinding it), or abandons t if it
// swallowed the previous one.
[[noreturn]] void throw_task_unwind(Worker* w, TaskRecord* t) {
  if (t->unwind_thrown && !handling_task_unwind()) abandon_swallowing_task(w, t);
  t->unwind_thrown = true;
  throw TaskUnwind{};
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
  for (const TimerHeap::Callback& drop : timers_.take_all()) drop.run();

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

std::size_t pending_timers() noexcept {
  if (Worker* w = this_worker()) return w->rt->pending_timers();
  if (Runtime* rt = g_default_runtime.load(std::memory_order_acquire)) return rt->pending_timers();
  return 0;
}

void ready_task(TaskRecord* t) noexcept { t->runtime->ready(t); }

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

}  // namespace goro::detail

// --------------------------------------------------------------------- public API

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

void yield() { detail::task_yield(); }

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
