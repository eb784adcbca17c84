// goro/memory.hpp — the memory goro itself holds, by the line that made it hold it:
// task stacks and task records (by spawn site) and channels (by creation site). When a
// service's RSS climbs, this names the go_spawn or Channel line behind it:
//
//   goro::diag::MemoryUsage m = goro::diag::memory();
//   for (const auto& s : m.sites)   // largest first
//     std::cout << goro::diag::to_string(s.kind) << " " << s.bytes << " bytes in "
//               << s.objects << " at " << s.site.file_name() << ":" << s.site.line() << "\n";
//   //   stack 34078720 bytes in 1000 at server.cpp:41
//   std::cout << m.stack.bytes + m.task.bytes + m.channel.bytes << "\n";
//
// What is counted, per kind:
// - stack: the pages of each live task's stack that are resident now, measured with
//   mincore(2) (not the reserved size: a 64 KiB stack that touched 8 KiB counts
//   8 KiB). A recycled stack keeps the pages its previous tasks touched; they count for
//   the task that holds it now, since it is that task that keeps them.
// - task: each live task's control block (its pooled record, with the closure when it
//   fits), a closure too big for it, its name and its captured wait stack.
// - channel: each live channel's state and buffer (sizeof(T) * capacity), allocated at
//   its creation; what buffered values own elsewhere (a std::string's heap) is not.
// Not counted: memory the program allocates itself (new, malloc): for that, link a heap
// profiler (docs/diagnostics-oom.md). Stacks cached for reuse and not held by a task.
//
// Cost: tasks and stacks are measured at the call (one walk of the task registry, then
// one mincore per started task's stack, outside the registry's locks: about 20 ms at
// 100,000 tasks); channels are counted as they are created and destroyed (a few relaxed
// atomic adds on a per-site counter).
#pragma once

#include <cstddef>
#include <cstdint>
#include <source_location>
#include <string_view>
#include <vector>

namespace goro::diag {

enum class MemoryKind : std::uint8_t {
  stack,    // resident pages of task stacks, by spawn site
  task,     // task records, closures, names, by spawn site
  channel,  // channel state and buffers, by creation site
};
std::string_view to_string(MemoryKind kind) noexcept;  // "stack", "task", "channel"

struct MemorySite {
  MemoryKind kind = MemoryKind::stack;
  std::source_location site;  // go_spawn's line (stack, task) or the Channel's (channel)
  std::size_t objects = 0;    // live tasks or channels
  std::size_t bytes = 0;
  // Since start-up, as Go's alloc_objects/alloc_space: channels only; for stacks and
  // tasks (which goro does not count at spawn) the same as objects and bytes.
  std::size_t allocated_objects = 0;
  std::size_t allocated_bytes = 0;
};

struct MemoryTotal {
  std::size_t objects = 0;
  std::size_t bytes = 0;
};

struct MemoryUsage {
  std::vector<MemorySite> sites;  // one per (kind, site), most bytes first
  MemoryTotal stack, task, channel;
  std::size_t total_bytes() const noexcept { return stack.bytes + task.bytes + channel.bytes; }
};

// Measures now: every site, and the totals by kind.
MemoryUsage memory();
// The totals by kind only (sites stays empty): what /metrics uses.
MemoryUsage memory_totals();

}  // namespace goro::diag
