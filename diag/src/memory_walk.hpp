// diag/src/memory_walk.hpp — goro::diag::memory() split in two, so that a walk of the
// task registry that happens anyway (a /metrics scrape) can collect tasks' memory too:
//
//   TaskMemoryWalk walk;
//   detail::registry_for_each([&](const detail::TaskRecord& t) { ...; walk.add(t); });
//   MemoryUsage totals = walk.finish(/*by_site=*/false);   // measures stacks, adds channels
//
// add() copies what it needs from the record (call it under the registry's lock, as
// registry_for_each does); finish() runs without locks (memory.cpp says why that is safe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <source_location>
#include <vector>

#include "goro/memory.hpp"

namespace goro::detail {
struct TaskRecord;
}

namespace goro::diag {

struct TaskCopy {
  std::source_location site;
  std::byte* stack;  // the slot's base, or null before the task first ran
  std::uint8_t stack_pool;
  std::size_t task_bytes;
  std::size_t stack_bytes;  // set by finish()
};

class TaskMemoryWalk {
 public:
  void add(const detail::TaskRecord& t);
  MemoryUsage finish(bool by_site);

 private:
  std::vector<TaskCopy> tasks;
};

}  // namespace goro::diag
