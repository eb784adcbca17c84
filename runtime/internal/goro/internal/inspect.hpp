// goro/internal/inspect.hpp — the one door through which goro's other modules (diag/,
// channel/, net/) read the runtime's private state. Never installed: it is on the include
// path of goro's own module libraries only (CMake: goro_read_runtime_internals), and
// nothing else in runtime/src is.
//
//   #include "goro/internal/inspect.hpp"
//
//   detail::WaitRecordReaders readers;                    // once per snapshot
//   detail::registry_for_each([&](const detail::TaskRecord& t) {
//     detail::read_wait_record(t, [&](const detail::WaitRecordCopy& r) { /* r.site ... */ });
//   });
//
// The interface is the names listed below, and nothing else: where a private header is
// included because a listed type is defined there, its other declarations are the
// runtime's own, not for the other modules (the header also brings what it includes:
// goro/detail/park.hpp's WaitSite and park_hooks.hpp's g_park_hooks among them).
//
// Tasks (task.hpp, registry.hpp, record_pool.hpp), for diag's snapshots:
//   registry_for_each calls fn under one registry shard's lock at a time; the TaskRecord
//   is alive only inside fn. Its identity fields (id, parent, origin, spawn_site, name,
//   runtime, closure, closure_ops, stack_pool_index, record_pool) are immutable; state is
//   an atomic; everything else belongs to the worker running the task. Also TaskState,
//   WaitStack (a captured stack, WaitStack::kMaxFrames), task_name(t), coarse_now_ns(),
//   RecordPool::block_size() (a record's bytes, for goro/memory.hpp).
// Wait records (wait_record.hpp): WaitRecordReaders, read_wait_record, WaitRecordCopy,
//   WaitSite. With a WaitRecordReaders alive, from inside registry_for_each; the objects
//   the WaitSite names (channel, mutex, select waiters, IoWaitObject, WaitStack pcs) may
//   be dereferenced only inside its while_pinned callback.
// Stacks, for the provable-leak scan and memory accounting (stack_pool.hpp):
//   StackPool::by_index(t.stack_pool_index), stack_top, usable_bottom, slot_size,
//   page_size, enable_scrubbing. A parked task's stack and closure are frozen only while
//   its park_epoch stays the same odd value across the read (task.hpp).
// The poller (netpoll.hpp): PollDir and IoWaitObject (diag names I/O waits); Netpoll,
//   PollerLife and current_netpoll() (net's sockets: watch, add_registration,
//   drop_registration, evict, interrupt); default_runtime_poller() and
//   wake_default_runtime_for_poller() (channel's signal delivery).
// Waits something outside the tasks can end (external_waits.hpp): ExternalWait, held
//   while such a waker exists, so the deadlock detector does not condemn.
// Threads goro started (thread_registry.hpp): created_threads() copies the list under
//   its own lock (ThreadCreation); note_thread_created for threads diag starts itself.
// Profiles: the block-event sink and rate (profiling_hooks.hpp: g_block_event_sink,
//   BlockEventSink, g_block_profile_rate_ns; park_hooks.hpp: g_park_hooks,
//   kParkHookBlockProfile) and the mutex-profile sink and rate (mutex_profile.hpp:
//   MutexContention, MutexEventSink, set_mutex_profile_rate, mutex_profile_rate): set
//   the sink before a non-zero rate, never reset it. RuntimeStats and runtime_stats()
//   (profiling_hooks.hpp) take the runtimes' lock briefly.
// Hooks the runtime calls (diag_hooks.hpp): DiagHooks and install_diag_hooks, once, from
//   diag; live_task_report (the report the runtime prints, for diag's tests).
// goro's logger (log.hpp: logger()) and env::read_bool, the strict reading of a boolean
//   GORO_* variable (declared here; runtime/src/env.hpp holds the rest of the parser).
//
// What a reader must not do: block, park, log or take a registry shard lock while it
// holds one (fn of registry_for_each must not touch the registry); write to any
// TaskRecord field; keep a TaskRecord pointer or a WaitSite pointer past the callback
// that handed it out; call into the scheduler (spawn, park, ready) from inside a
// callback; reset an installed sink or hook.
#pragma once

#include <optional>

#include "../../../src/diag_hooks.hpp"
#include "../../../src/external_waits.hpp"
#include "../../../src/log.hpp"
#include "../../../src/mutex_profile.hpp"
#include "../../../src/netpoll.hpp"
#include "../../../src/profiling_hooks.hpp"
#include "../../../src/record_pool.hpp"
#include "../../../src/registry.hpp"
#include "../../../src/stack_pool.hpp"
#include "../../../src/task.hpp"
#include "../../../src/thread_registry.hpp"
#include "../../../src/wait_record.hpp"

namespace goro::detail::env {
// The variable `name` as a boolean (1/true/on/yes, 0/false/off/no, any case); nullopt
// when unset; std::invalid_argument naming the variable and the valid forms otherwise.
std::optional<bool> read_bool(const char* name);
}  // namespace goro::detail::env
