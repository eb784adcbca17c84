// runtime/src/registry.hpp — every live task of every runtime, for diagnostics and
// shutdown.
//
// Sharded so that workers rarely share a lock: a task spawned by a worker goes into one
// of that worker's own shards (RegistryShardCycle), and a task usually ends on the worker
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

// The shards a worker spawns into, in turn: worker i of n owns the shards s with
// s % stride == i % stride, where stride = min(n, kRegistryShards).
class RegistryShardCycle {
 public:
  RegistryShardCycle() = default;
  RegistryShardCycle(unsigned worker_index, unsigned workers) noexcept {
    stride_ = static_cast<std::uint8_t>(
        workers == 0 ? 1 : workers < kRegistryShards ? workers : kRegistryShards);
    first_ = next_ = static_cast<std::uint8_t>(worker_index % stride_);
  }
  std::uint8_t take() noexcept {
    const std::uint8_t shard = next_;
    next_ = next_ + stride_ < kRegistryShards ? static_cast<std::uint8_t>(next_ + stride_) : first_;
    return shard;
  }

 private:
  std::uint8_t first_ = 0, stride_ = 1, next_ = 0;
};

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
