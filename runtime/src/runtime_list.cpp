// runtime/src/runtime_list.cpp — the live runtimes and the process-wide counters over
// them (runtime_stats()); see runtime_list.hpp for the lock discipline.
#include "runtime_list.hpp"

#include "scheduler.hpp"

namespace goro::detail {

std::mutex g_runtimes_mutex;
std::vector<Runtime*>* g_runtimes = new std::vector<Runtime*>();
std::atomic<std::uint64_t> g_next_runtime_id{1};
RuntimeStats g_retired_stats;
std::atomic<std::uint64_t> g_plain_thread_spawns{0};

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

}  // namespace goro::detail
