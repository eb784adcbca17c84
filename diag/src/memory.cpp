// diag/src/memory.cpp — goro's memory by site (goro/memory.hpp).
//
// Tasks: one walk of the task registry copies, per task, its spawn site, its stack slot
// and its record's size, holding each shard's lock only for that copy; the stacks are
// measured afterwards with mincore(2) (one call per run of adjacent slots), without
// locks. That is safe because stack regions are never unmapped (stack_pool.hpp): a task
// that ends meanwhile leaves its slot mapped (pooled or held by a newer task), so
// mincore reads a valid range and at worst counts a slot that changed hands a moment
// ago.
// Channels: the per-site counters of goro/detail/channel_sites.hpp, read without locks.
#include "goro/memory.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "goro/internal/inspect.hpp"
#include "goro/detail/channel_sites.hpp"
#include "memory_walk.hpp"

namespace goro::diag {

namespace {

// TaskRecord::stack is written by the worker that first runs the task, without
// synchronisation with readers: a read racing that write sees null (counted as no
// stack yet) or the slot, both fine here.
__attribute__((no_sanitize("thread"), noinline)) std::byte* stack_of(const detail::TaskRecord& t) {
  return *static_cast<std::byte* const volatile*>(&t.stack);
}

std::size_t task_bytes(const detail::TaskRecord& t) {
  std::size_t bytes = t.record_pool != nullptr ? t.record_pool->block_size() : sizeof(detail::TaskRecord);
  if (t.closure_on_heap && t.closure_ops != nullptr) bytes += t.closure_ops->size;
  if (t.name) bytes += std::strlen(t.name.get()) + 1;
  if (t.wait_stack_depth.load(std::memory_order_relaxed) != 0) bytes += sizeof(detail::WaitStack);
  return bytes;
}

// Sets each task's stack_bytes: the resident pages of its slot, guard excluded. Slots
// carved one after another are adjacent in their region, so the tasks are sorted by
// slot and each run of adjacent slots is measured with one mincore call (100,000
// tasks spawned together: a few hundred calls, not 100,000).
void measure_stacks(std::vector<TaskCopy>& tasks) {
  std::vector<TaskCopy*> started;
  started.reserve(tasks.size());
  for (TaskCopy& t : tasks)
    if (t.stack != nullptr) started.push_back(&t);
  std::sort(started.begin(), started.end(), [](const TaskCopy* a, const TaskCopy* b) { return a->stack < b->stack; });
  const std::size_t page = detail::StackPool::page_size();
  std::vector<unsigned char> resident;
  for (std::size_t begin = 0; begin < started.size();) {
    const detail::StackPool& pool = detail::StackPool::by_index(started[begin]->stack_pool);
    const std::size_t slot = pool.slot_size();
    std::size_t end = begin + 1;
    while (end < started.size() && started[end]->stack_pool == started[begin]->stack_pool &&
           started[end]->stack == started[end - 1]->stack + slot)
      ++end;
    std::byte* lo = started[begin]->stack;
    const std::size_t len = (end - begin) * slot;
    resident.assign((len + page - 1) / page, 0);
    const bool measured = ::mincore(lo, len, resident.data()) == 0;
    const std::size_t guard_pages = static_cast<std::size_t>(pool.usable_bottom(lo) - lo) / page;
    for (std::size_t i = begin; i < end; ++i) {
      std::size_t pages = 0;
      if (measured) {
        const std::size_t first = static_cast<std::size_t>(started[i]->stack - lo) / page;
        for (std::size_t p = first + guard_pages; p < first + slot / page; ++p) pages += resident[p] & 1;
      }
      started[i]->stack_bytes = pages * page;
    }
    begin = end;
  }
}

// A site by its source_location's addresses: cheap to hash, for the per-task pass.
struct SitePointers {
  MemoryKind kind;
  const char* file;
  const char* function;
  std::uint_least32_t line, column;
  friend bool operator==(const SitePointers&, const SitePointers&) = default;
};
struct SitePointersHash {
  std::size_t operator()(const SitePointers& k) const noexcept {
    auto h = reinterpret_cast<std::uintptr_t>(k.file) ^
             (reinterpret_cast<std::uintptr_t>(k.function) << 5) ^ (std::uintptr_t{k.line} << 20) ^
             (std::uintptr_t{k.column} << 40) ^ static_cast<std::uintptr_t>(k.kind);
    return static_cast<std::size_t>(h * 0x9e3779b97f4a7c15ULL);
  }
};

// A site as its strings say, to the line (one line compiled into two translation units
// has two source_location objects, and one line may create several channels): how the
// per-pointer entries are merged at the end.
struct SiteKey {
  MemoryKind kind;
  std::string_view file, function;
  std::uint_least32_t line;
  bool operator<(const SiteKey& o) const {
    return std::tie(kind, file, function, line) < std::tie(o.kind, o.file, o.function, o.line);
  }
};

SiteKey key_of(MemoryKind kind, const std::source_location& s) {
  return {kind, s.file_name(), s.function_name(), s.line()};
}

}  // namespace

MemoryUsage TaskMemoryWalk::finish(bool by_site) {
  MemoryUsage usage;
  std::unordered_map<SitePointers, MemorySite, SitePointersHash> sites;
  auto add = [&](MemoryKind kind, const std::source_location& where, std::size_t objects,
                 std::size_t bytes, std::size_t allocated_objects, std::size_t allocated_bytes) {
    MemoryTotal& total = kind == MemoryKind::stack  ? usage.stack
                         : kind == MemoryKind::task ? usage.task
                                                    : usage.channel;
    total.objects += objects;
    total.bytes += bytes;
    if (!by_site) return;
    MemorySite& s = sites[{kind, where.file_name(), where.function_name(), where.line(), where.column()}];
    s.kind = kind;
    s.site = where;
    s.objects += objects;
    s.bytes += bytes;
    s.allocated_objects += allocated_objects;
    s.allocated_bytes += allocated_bytes;
  };

  measure_stacks(tasks);
  for (const TaskCopy& t : tasks) {
    add(MemoryKind::task, t.site, 1, t.task_bytes, 1, t.task_bytes);
    if (t.stack != nullptr) add(MemoryKind::stack, t.site, 1, t.stack_bytes, 1, t.stack_bytes);
  }

  const detail::ChannelSiteEntry* table = detail::channel_site_table();
  for (std::size_t i = 0; i < detail::kChannelSiteSlots; ++i) {
    const detail::ChannelSiteEntry& e = table[i];
    if (e.state.load(std::memory_order_acquire) != detail::ChannelSiteEntry::ready) continue;
    // live_objects and live_bytes are two counters: a channel created or destroyed
    // between the loads may show in one only; a negative moment reads as zero.
    const auto objects = static_cast<std::ptrdiff_t>(e.live_objects.load(std::memory_order_relaxed));
    const auto bytes = static_cast<std::ptrdiff_t>(e.live_bytes.load(std::memory_order_relaxed));
    const std::size_t created = e.created_objects.load(std::memory_order_relaxed);
    if (objects <= 0 && !by_site) continue;
    if (objects <= 0 && created == 0) continue;
    add(MemoryKind::channel, e.site, static_cast<std::size_t>(std::max<std::ptrdiff_t>(objects, 0)),
        static_cast<std::size_t>(std::max<std::ptrdiff_t>(bytes, 0)), created,
        e.created_bytes.load(std::memory_order_relaxed));
  }

  if (by_site) {
    std::map<SiteKey, MemorySite> merged;
    for (const auto& [pointers, site] : sites) {
      auto [it, fresh] = merged.try_emplace(key_of(site.kind, site.site), site);
      if (fresh) continue;
      it->second.objects += site.objects;
      it->second.bytes += site.bytes;
      it->second.allocated_objects += site.allocated_objects;
      it->second.allocated_bytes += site.allocated_bytes;
    }
    usage.sites.reserve(merged.size());
    for (auto& [key, site] : merged) usage.sites.push_back(site);
    std::stable_sort(usage.sites.begin(), usage.sites.end(),
                     [](const MemorySite& a, const MemorySite& b) { return a.bytes > b.bytes; });
  }
  return usage;
}

void TaskMemoryWalk::add(const detail::TaskRecord& t) {
  tasks.push_back({t.spawn_site, stack_of(t), t.stack_pool_index, task_bytes(t), 0});
}

namespace {

MemoryUsage measure(bool by_site) {
  TaskMemoryWalk walk;
  detail::registry_for_each([&](const detail::TaskRecord& t) { walk.add(t); });
  return walk.finish(by_site);
}

}  // namespace

std::string_view to_string(MemoryKind kind) noexcept {
  switch (kind) {
    case MemoryKind::stack: return "stack";
    case MemoryKind::task: return "task";
    case MemoryKind::channel: return "channel";
  }
  return "unknown";
}

MemoryUsage memory() { return measure(true); }

MemoryUsage memory_totals() { return measure(false); }

}  // namespace goro::diag
