// runtime/src/wait_record.hpp — how a parking task publishes why and where it waits, and
// how diagnostics read that back while the task may wake at any moment.
//
// The writer is the task itself on every park, and its waker, so its side is two plain
// stores and a load on park, one store by the waker and one load on resume (x86: no
// locked instruction, no fence). The readers (diag snapshots) are rare and pay for the
// synchronisation with an asymmetric barrier.
//
//   // writer (park.cpp, park):             // reader (diag.cpp):
//   publish_wait(t, site);                  WaitRecordReaders scope;   // once per snapshot
//   switch_out(...);                        registry_for_each([&](const TaskRecord& t) {
//   end_wait(t);                              read_wait_record(t, [&](const WaitRecordCopy& r) {
//                                               /* may dereference r.site.waiters, ... */ });
//                                           });
//
// Invariants:
// - wait_site is set (non-null) only by publish_wait, after (release) the other fields;
//   the reason is the site's own (WaitSite::reason), so one pointer says both whether and
//   why the task waits. It is cleared by whoever resumes the task: Runtime::ready (the
//   waker, before it queues the task, so the store happens before the task runs again)
//   or the unwinder (before it resumes a parked task to unwind it). Every resumption from
//   a park goes through one of the two, so the task finds null stored when it reaches
//   end_wait. The other fields mean something only while wait_site is set.
// - Lifetime: while the task is parked, the objects its record points to are alive: the
//   WaitSite in park()'s caller's frame, the channel / mutex / wait group it names, a
//   select's waiters on the task's stack and the channels those name, the captured pcs.
//   They stay alive until the task, resumed, returns from end_wait.
// - A reader pins the task (wait_pins += 1) and only then loads wait_site; if it is
//   set, the reader may dereference it (and the record) until it unpins.
// - end_wait, if a reader may be active (the reader lane of g_park_hooks, park_hooks.hpp,
//   is non-zero), waits until the task's wait_pins is 0. This is Dekker's pattern on
//   (wait_site, wait_pins), where the writer's store is the resumer's, which happens
//   before the task resumes:
//     writer: store wait_site=null; (release -> acquire: the run queue); [full
//             barrier]; load wait_pins
//     reader: wait_pins += 1;       [full barrier]; load wait_site
//   so either the reader sees null (or a later park's record), or the writer sees the
//   pin and waits: a reader that saw the site set keeps the task from getting past
//   end_wait, hence from freeing anything or parking again, until it unpins. In
//   particular every field it reads after the reason belongs to the same park.
// - The writer's barrier is free: a reader first raises its lane and then
//   calls membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which runs a full barrier on every
//   CPU running this process. A writer whose load of the count missed the reader made
//   its none store before that barrier (the store happens before that load), so the
//   reader sees it; any other writer sees the count and takes the fenced path (seq_cst
//   fence, then the pin check; RC11 orders a store that happens before a seq_cst fence
//   like one sequenced before it).
// - Where membarrier is unavailable (or under TSan, which cannot see it) the lane is
//   held at 1 for good from start-up, so every writer takes the fenced path.
// - The check after resuming is park()'s single park_hooks() test, shared with the
//   other hooks: end_wait_hooked() is its cold path.
// - A pin is held for the copy of one record only, so a resuming task waits at most that
//   long, and only while a snapshot is running.
#pragma once

#include <atomic>
#include <cstdint>
#include <source_location>

#include "goro/detail/park.hpp"
#include "park_hooks.hpp"
#include "task.hpp"
#include "wait_clock.hpp"

namespace goro::detail {

// Chooses the barrier (membarrier, or writer-side fences). Idempotent; called by every
// Runtime before it starts workers.
void init_wait_records() noexcept;

// end_wait's slow path, while a reader may be active: fence, then wait for pins to drop.
void wait_out_record_readers(TaskRecord* t) noexcept;

// The task resumed from a park while `hooks` (park_hooks(), loaded after resuming) was
// non-zero: wait out the readers if a reader may be active.
inline void end_wait_hooked(TaskRecord* t, std::uint64_t hooks) noexcept {
  if (hooks & kParkHookReaderLane) wait_out_record_readers(t);
}

inline void publish_wait(TaskRecord* t, const WaitSite& site) noexcept {
  t->blocked_since_ns.store(wait_clock_ns(), std::memory_order_relaxed);
  t->wait_site.store(&site, std::memory_order_release);
}

// The resumer's half: the task is no longer waiting (see the invariants for who calls it).
inline void clear_wait(TaskRecord* t) noexcept {
  t->wait_site.store(nullptr, std::memory_order_relaxed);
}

// Called by the task on resuming from a park (its resumer cleared the site already); park()
// inlines this check into its own park_hooks() test instead.
inline void end_wait(TaskRecord* t) noexcept {
  std::atomic_signal_fence(std::memory_order_seq_cst);  // the reader's membarrier orders the CPU
  if (const std::uint64_t hooks = park_hooks(); hooks != 0) [[unlikely]]
    end_wait_hooked(t, hooks);
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
  if (const WaitSite* site = t.wait_site.load(std::memory_order_acquire); site != nullptr) {
    copy.site = *site;
    copy.since_ns = t.blocked_since_ns.load(std::memory_order_relaxed);
    copy.stack_depth = t.wait_stack_depth.load(std::memory_order_relaxed);
    while_pinned(copy);
  }
  t.wait_pins.fetch_sub(1, std::memory_order_release);
  return copy;
}

}  // namespace goro::detail
