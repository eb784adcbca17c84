// runtime/src/registry.hpp — every live task of every runtime, for diagnostics and
// shutdown.
//
// Sharded so that workers rarely share a lock: a task spawned by a worker goes into one
// of that worker's own shards (registry_shard_for), and a task usually ends on the worker
// that spawned it; each worker cycles through its shards so no shard grows much longer
// than the others (a reader holds one shard's lock while it walks it).
// Invariants: a TaskRecord is linked into exactly one shard (t->reg_shard, fixed at
// spawn) from just before it is first made runnable until its worker frees it;
// reg_prev/reg_next are guarded by that shard's lock. Readers hold the shard lock while
// they read a record, so the record cannot be freed under them.
#pragma once

#include <cstddef>
#include <mutex>

#include "goro/detail/futex_lock.hpp"
#include "task.hpp"

namespace goro::detail {

struct RegistryShard {
  FutexLock lock;               // guards head and the reg_* links of its records
  TaskRecord* head = nullptr;
  char pad[64 - sizeof(FutexLock) - sizeof(TaskRecord*)];
};

inline constexpr std::size_t kRegistryShards = 16;
RegistryShard* registry_shards() noexcept;

// The shard for the `turn`-th spawn by worker `worker_index` of a runtime with `workers`
// workers: worker i owns the shards s with s % stride == i % stride.
inline std::uint8_t registry_shard_for(unsigned worker_index, unsigned workers,
                                       std::uint32_t turn) noexcept {
  const unsigned stride = workers < kRegistryShards ? (workers ? workers : 1) : kRegistryShards;
  const unsigned owned = kRegistryShards / stride;
  return static_cast<std::uint8_t>(worker_index % stride + stride * (turn % owned));
}

void registry_add(TaskRecord* t) noexcept;
void registry_remove(TaskRecord* t) noexcept;

// Calls fn(const TaskRecord&) for every live task, one shard at a time, under its lock.
// fn must not block nor touch the registry.
template <class Fn>
void registry_for_each(Fn&& fn) {
  RegistryShard* shards = registry_shards();
  for (std::size_t i = 0; i < kRegistryShards; ++i) {
    std::lock_guard guard(shards[i].lock);
    for (TaskRecord* t = shards[i].head; t != nullptr; t = t->reg_next) fn(*t);
  }
}

}  // namespace goro::detail
