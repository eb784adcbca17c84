// runtime/src/spawn.cpp — creating a task (Runtime::create_task): its record, closure and
// stack reservation, its id and registry entry, and the limits on live tasks and stack
// bytes (Config::max_tasks, soft_max_tasks, max_stack_bytes).
//
// Touches the spawning worker's owner-only counters (task id block, registry shard
// cycle, spawned, live_delta), the Runtime's limit counters, the pools (record, stack)
// and the registry.
// Invariants (scheduler.hpp, Limits):
// - Everything a task needs is had (its stack: reserved) on the spawning thread, before
//   the task can run, so a spawn that cannot have it fails at its call site; a failed
//   spawn gives everything back (abandon_spawn) and leaves no trace.
// - With limits on, a spawn counts itself before it allocates anything and uncounts
//   itself when it fails or its task is freed (Runtime::free_task); one that took a count
//   past a limit uncounts itself and throws ResourceExhausted.
// - A task is in the registry before it can be readied (the caller readies it).
// Locks: the registry shard's lock (registry_add, top_spawn_sites' walk); the limit
// counters and next_soft_warning_ are atomics, exhaustion_logged_ an atomic flag.
#include "scheduler.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <vector>

#include "config.hpp"
#include "diag_hooks.hpp"
#include "log.hpp"
#include "record_pool.hpp"
#include "stack_pool.hpp"
#include "runtime_list.hpp"

namespace goro::detail {

namespace {

std::atomic<TaskId> g_next_task_id{1};
// Task ids a worker reserves at a time (Go's goidcache does the same).
constexpr TaskId kTaskIdBlock = 1024;

std::string site_text(const std::source_location& where) {
  return fmt::format("{}:{}", where.file_name(), where.line());
}

static_assert(sizeof(TaskRecord) + 64 <= RecordPool::kSmall,
              "a small block must hold a record and a 64-byte closure");
#if !defined(GORO_TSAN)  // TSan's fiber handle makes the record 8 bytes bigger
static_assert(sizeof(TaskRecord) + 48 <= RecordPool::kCompact,
              "a compact block must hold a record and a 48-byte closure (a handle or two "
              "and a reference: the common task)");
static_assert(sizeof(TaskRecord) + 16 <= RecordPool::kTiny,
              "a tiny block must hold a record and a 16-byte closure (one handle: a "
              "server's task per connection)");
#endif
// The tiny class's blocks are only 32-aligned (160-byte steps in a 64-aligned chunk). A
// closure placed in one needs no more: one aligned to 32 or more starts at offset 160 at
// the earliest and so goes to a bigger class.
static_assert(RecordPool::kTiny % 32 == 0 && (sizeof(TaskRecord) + 31) / 32 * 32 >= RecordPool::kTiny);

}  // namespace

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

}  // namespace goro::detail
