// runtime/src/registry.cpp — the registry of live tasks (registry.hpp): sharded
// intrusive lists of TaskRecords, for diag's walks and run()'s leak report.
// Lock discipline: each RegistryShard's lock guards its head and the reg_prev/reg_next
// links of the records in it; a record stays in the shard reg_shard names from
// registry_add to registry_remove.
#include <mutex>

#include "registry.hpp"
#include "task.hpp"

namespace goro::detail {

RegistryShard* registry_shards() noexcept {
  static RegistryShard shards[kRegistryShards];
  return shards;
}

void registry_add(TaskRecord* t) noexcept {
  RegistryShard& shard = registry_shards()[t->reg_shard];
  std::lock_guard guard(shard.lock);
  t->reg_prev = nullptr;
  t->reg_next = shard.head;
  if (shard.head) shard.head->reg_prev = t;
  shard.head = t;
}

void registry_remove(TaskRecord* t) noexcept {
  RegistryShard& shard = registry_shards()[t->reg_shard];
  std::lock_guard guard(shard.lock);
  if (t->reg_prev) t->reg_prev->reg_next = t->reg_next; else shard.head = t->reg_next;
  if (t->reg_next) t->reg_next->reg_prev = t->reg_prev;
  t->reg_prev = t->reg_next = nullptr;
}

}  // namespace goro::detail
