// runtime/src/wait_record.hpp — how a parking task publishes why and where it waits, and
// how diagnostics read that back while the task may wake at any moment.
//
// The writer is the task itself, on every park and resume, so its side is three plain
// stores on park and one on resume (x86: no locked instruction, no fence). The readers
// (diag snapshots) are rare and pay for the synchronisation with an asymmetric barrier.
//
//   // writer (scheduler.cpp, park):        // reader (diag.cpp):
//   publish_wait(t, site);                  WaitRecordReaders scope;   // once per snapshot
//   switch_out(...);                        registry_for_each([&](const TaskRecord& t) {
//   end_wait(t);                              read_wait_record(t, [&](const WaitRecordCopy& r) {
//                                               /* may dereference r.site.waiters, ... */ });
//                                           });
//
// Invariants:
// - wait_reason is set (non-none) only by publish_wait, after (release) the other
//   fields; it is cleared by end_wait (the task, on resuming) and by Runtime::ready (the
//   waker). The other fields mean something only while wait_reason is set.
// - Lifetime: while the task is parked, the objects its record points to are alive: the
//   WaitSite in park()'s caller's frame, the channel / mutex / wait group it names, a
//   select's waiters on the task's stack and the channels those name, the captured pcs.
//   They stay alive until the task, resumed, returns from end_wait.
// - A reader pins the task (wait_pins += 1) and only then loads wait_reason; if it is
//   set, the reader may dereference the record until it unpins.
// - end_wait stores wait_reason = none and then, if a reader may be active
//   (g_wait_record_readers > 0), waits until the task's wait_pins is 0. This is Dekker's
//   pattern on (wait_reason, wait_pins):
//     writer: store wait_reason=none; [full barrier]; load wait_pins
//     reader: wait_pins += 1;         [full barrier]; load wait_reason
//   so either the reader sees none (or a later park's record), or the writer sees the
//   pin and waits: a reader that saw the reason set keeps the task from getting past
//   end_wait, hence from freeing anything or parking again, until it unpins. In
//   particular every field it reads after the reason belongs to the same park.
// - The writer's barrier is free: a reader first raises g_wait_record_readers and then
//   calls membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which runs a full barrier on every
//   CPU running this process. A writer whose load of the count missed the reader made
//   its none store before that barrier, so the reader sees it; any other writer sees the
//   count and takes the fenced path (seq_cst fence, then the pin check).
// - Where membarrier is unavailable (or under TSan, which cannot see it) the count is
//   held at 1 for good from start-up, so every writer takes the fenced path.
// - A pin is held for the copy of one record only, so a resuming task waits at most that
//   long, and only while a snapshot is running.
#pragma once

#include <atomic>
#include <cstdint>
#include <source_location>

#include "goro/detail/park.hpp"
#include "task.hpp"
#include "wait_clock.hpp"

namespace goro::detail {

// Diag readers active now (WaitRecordReaders), or 1 for good when there is no
// membarrier (see the invariants).
extern std::atomic<std::uint32_t> g_wait_record_readers;

// Chooses the barrier (membarrier, or writer-side fences). Idempotent; called by every
// Runtime before it starts workers.
void init_wait_records() noexcept;

// end_wait's slow path, while a reader may be active: fence, then wait for pins to drop.
void wait_out_record_readers(TaskRecord* t) noexcept;

inline void publish_wait(TaskRecord* t, const WaitSite& site) noexcept {
  t->wait_site.store(&site, std::memory_order_relaxed);
  t->blocked_since_ns.store(wait_clock_ns(), std::memory_order_relaxed);
  t->wait_reason.store(site.reason, std::memory_order_release);
}

inline void end_wait(TaskRecord* t) noexcept {
  t->wait_reason.store(diag::WaitReason::none, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);  // the reader's membarrier orders the CPU
  if (g_wait_record_readers.load(std::memory_order_relaxed) != 0) [[unlikely]]
    wait_out_record_readers(t);
}

// One consistent copy of a wait record.
struct WaitRecordCopy {
  WaitSite site{diag::WaitReason::none, {}};  // site.reason: none when not waiting
  std::int64_t since_ns = 0;
  std::uint32_t stack_depth = 0;
};

// Marks a diag reader active for its lifetime (see the invariants). Cheap enough per
// snapshot (one membarrier, ~0.4 us here), not per task.
class WaitRecordReaders {
 public:
  WaitRecordReaders() noexcept;
  ~WaitRecordReaders();
  WaitRecordReaders(const WaitRecordReaders&) = delete;
  WaitRecordReaders& operator=(const WaitRecordReaders&) = delete;
};

// Copies t's wait record; when the task is waiting, calls while_pinned(copy) while the
// objects it points to are guaranteed alive. Requires a WaitRecordReaders in scope and
// t kept from being freed (the registry shard lock).
template <class WhilePinned>
WaitRecordCopy read_wait_record(const TaskRecord& t, WhilePinned&& while_pinned) {
  WaitRecordCopy copy;
  t.wait_pins.fetch_add(1, std::memory_order_seq_cst);
  if (t.wait_reason.load(std::memory_order_acquire) != diag::WaitReason::none) {
    copy.site = *t.wait_site.load(std::memory_order_relaxed);
    copy.since_ns = t.blocked_since_ns.load(std::memory_order_relaxed);
    copy.stack_depth = t.wait_stack_depth.load(std::memory_order_relaxed);
    while_pinned(copy);
  }
  t.wait_pins.fetch_sub(1, std::memory_order_release);
  return copy;
}

}  // namespace goro::detail
