// diag/src/snapshot.hpp — internal to diag/: the task snapshot behind diag::tasks(), with a
// hook for analyses that must look at a task while its wait record is being read
// (the provable-leak analysis, provable.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "goro/internal/inspect.hpp"
#include "goro/detail/channel_state.hpp"
#include "goro/diag.hpp"

namespace goro::diag::internal {

// What the hook sees of one task. Valid only during the call, which runs under the
// task's registry shard lock (the record, its closure and its stack slot cannot be freed
// meanwhile) right after its wait record was read into `info`.
struct TaskVisit {
  const detail::TaskRecord& record;
  // record.park_epoch, read (acquire) before the wait record: if it is odd and still the
  // same later, the record read belongs to the park that epoch names.
  std::uint32_t park_epoch;
  std::size_t info_index;  // the task's position in the snapshot being built
  const TaskInfo& info;    // reason, sites; `channels` is filled in later
  // The channels a channel wait waits on; the snapshot keeps each alive (a reference)
  // until the hook returns.
  std::span<detail::ChanBase* const> waits;
};

// diag::tasks() without the leak verdicts (every `leaked` false), in registry order (not
// sorted); calls `visit` (if set) for every task, under the locks described above.
std::vector<TaskInfo> snapshot_tasks(const std::function<void(const TaskVisit&)>& visit);

// Whether t still shows a wait (false once a waker readied it; with an unchanged
// park_epoch, the same wait). Loads with acquire: a waker clears the wait site before it
// can drop its own handle, so a reader that saw that handle's release (refs) sees it
// cleared.
bool still_waiting(const detail::TaskRecord& t) noexcept;

// diag::tasks() with `leaked` set by the provable-leak analysis (provable.cpp).
std::vector<TaskInfo> tasks_with_verdicts();
// Sets `leaked` on the members of `tasks` (any snapshot) that the analysis proves leaked.
void mark_provable_leaks(std::vector<TaskInfo>& tasks);

}  // namespace goro::diag::internal
