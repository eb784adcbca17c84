// runtime/src/task.hpp — the task control block (TaskRecord) and its wait record.
//
// A TaskRecord lives in a pooled fixed-size block (record_pool.hpp) followed by the
// closure when it fits, so spawning takes no syscall and no malloc in the steady state,
// and everything a task owns sits in memory the runtime can name (the provable-leak
// analysis needs that). The stack slot (stack_pool.hpp) is reserved at spawn, so that a
// spawn that cannot have one fails at its call site (ResourceExhausted), and bound when
// the task first runs, so tasks spawned but not yet started cost no stack.
//
// Field ownership:
// - Identity (id, name, spawn_site, parent, runtime) is written once before the task is
//   published and read-only afterwards.
// - The wait record (wait_*) is written by the task itself just before it parks and
//   cleared when it resumes, without locks; wait_record.hpp states how diag reads it
//   consistently. With stack capture on, wait_stack holds the parked task's return
//   addresses.
// - Scheduling fields (ctx, state, unwind_requested) belong to whichever worker runs or
//   holds the task; handing the task over through a run queue publishes them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <source_location>
#include <string>
#include <string_view>

#include "goro/detail/park.hpp"
#include "goro/runtime.hpp"

namespace goro::detail {

class Runtime;
class RecordPool;

// Return addresses of a parked task (Config::capture_stacks / GORO_TRACEBACK=1): the
// task's own buffer, allocated on its first captured park and freed with its record.
// The task fills `pcs` before it publishes the wait record (with the depth); diag copies
// them while it holds a pin on the record (wait_record.hpp).
struct WaitStack {
  static constexpr int kMaxFrames = 32;  // < 256: the depth is kept in a byte
  void* pcs[kMaxFrames];
};

enum class TaskState : std::uint8_t { runnable, running, parked, finished };

struct TaskRecord {
  // Fields are ordered for packing (the record and a small closure share a 256-byte
  // block); each one's owner is named beside it.

  // --- identity (immutable after spawn) ---
  TaskId id = 0;
  TaskId parent = 0;
  std::uint64_t origin = 0;  // inherited from the spawner (see goro/detail/origin.hpp)
  std::source_location spawn_site;
  // SpawnOptions::name, nul-terminated, or null: most tasks have none, and a pointer
  // instead of a std::string keeps the record (and so every task) 24 bytes smaller.
  std::unique_ptr<char[]> name;
  Runtime* runtime = nullptr;
  RecordPool* record_pool = nullptr;  // the pool this record's block came from

  // --- closure (immutable after spawn): right after the record when the block has room ---
  void* closure = nullptr;
  const ClosureOps* closure_ops = nullptr;

  // --- scheduling (owned by the worker holding the task) ---
  std::byte* stack = nullptr;  // low address of the stack slot; null until first run
  void* ctx = nullptr;         // the suspended task's context (switch.hpp: its stack pointer)
#if defined(GORO_TSAN)
  void* tsan_fiber = nullptr;
#endif

  // Scheduling: odd while the task is switched out by park() (its stack above `ctx` is
  // then frozen), even otherwise; it grows by one at every park and at every resume
  // from a park. A reader that sees the same odd value before and after reading the
  // task's stack or closure (with an acquire fence in between) read a frozen task.
  // (32 bits: wrapping around between two reads of one analysis would take 2^31 parks.)
  // The closure's size and alignment are in closure_ops.
  std::atomic<std::uint32_t> park_epoch{0};
  bool closure_on_heap = false;          // closure: immutable (operator new'd)
  bool stack_guarded = false;            // scheduling: the slot has a guard
  std::atomic<TaskState> state{TaskState::runnable};  // scheduling (diag reads it)

  // --- wait record (writer: the task; readers: diag) — protocol in wait_record.hpp ---
  std::atomic<std::uint8_t> wait_stack_depth{0};    // captured pcs in wait_stack; 0: none
  // (Here, not with the other registry fields: it fills a hole, keeping the record at
  // 144 bytes so that it and a 48-byte closure share a 192-byte block.)
  std::uint8_t reg_shard = 0;  // immutable after spawn: its registry shard (registry.hpp)
  bool unwind_thrown = false;  // scheduling: run()'s unwinding threw TaskUnwind into it
  std::uint8_t stack_pool_index = 0;  // immutable after spawn: StackPool::by_index, its stacks
  mutable std::atomic<std::uint32_t> wait_pins{0};  // readers looking through wait_site now
  // The WaitSite passed to park(), or null when the task is not waiting: it lives in the
  // parking call's frame, so it is alive while the task waits (reason, where, the object
  // or select waiters). Exception to "writer: the task": whoever resumes the task stores
  // null here (a woken task is no longer blocked, even before it runs).
  std::atomic<const WaitSite*> wait_site{nullptr};
  std::atomic<std::int64_t> blocked_since_ns{0};    // wait_clock_ns() (wait_clock.hpp)
  // Null unless stacks are captured: allocated by the task before its first captured
  // park publishes a depth, and rewritten only while the task runs.
  std::unique_ptr<WaitStack> wait_stack;

  // --- registry links: guarded by the registry shard's lock ---
  TaskRecord* reg_prev = nullptr;
  TaskRecord* reg_next = nullptr;
};

inline std::string_view task_name(const TaskRecord& t) noexcept {
  return t.name ? std::string_view(t.name.get()) : std::string_view();
}

// Coarse monotonic clock in ns (~5 ns per read; resolution ~1-4 ms): ages only. The park
// path reads its cached copy instead (wait_clock.hpp).
std::int64_t coarse_now_ns() noexcept;
// Precise monotonic clock in ns: timers.
std::int64_t now_ns() noexcept;

}  // namespace goro::detail
