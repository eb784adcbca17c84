// goro/internal/inspect.hpp — the one door through which goro's other modules (diag/,
// channel/) read the runtime's private state. Never installed: it is on the include path
// of goro's own module libraries only (CMake: goro_runtime_internal), and nothing else in
// runtime/src is.
//
//   #include "goro/internal/inspect.hpp"
//
//   detail::WaitRecordReaders readers;                    // once per snapshot
//   detail::registry_for_each([&](const detail::TaskRecord& t) {
//     detail::read_wait_record(t, [&](const detail::WaitRecordCopy& r) { /* r.site ... */ });
//   });
//
// What a reader may use, and under which locks:
// - Tasks: registry_for_each (registry.hpp) calls fn under one registry shard's lock at a
//   time; the TaskRecord is alive only inside fn. Its identity fields (id, parent, origin,
//   spawn_site, name, runtime, closure, closure_ops, stack_pool_index) are immutable;
//   state is an atomic; everything else belongs to the worker running the task.
// - Wait records: read_wait_record (wait_record.hpp) with a WaitRecordReaders alive, from
//   inside registry_for_each; the objects the WaitSite names (channel, mutex, select
//   waiters, IoWaitObject of netpoll.hpp, WaitStack pcs) may be dereferenced only inside
//   its while_pinned callback.
// - Stacks (provable-leak scanning): StackPool::by_index(t.stack_pool_index) and its
//   stack_top/limits (stack_pool.hpp); a parked task's stack and closure are frozen only
//   while its park_epoch stays the same odd value across the read (task.hpp).
// - Threads goro started: created_threads() copies the list under its own lock
//   (thread_registry.hpp); note_thread_created for threads diag starts itself.
// - Profiles: the block-event sink and rate (profiling_hooks.hpp) and the mutex-profile
//   sink and rate (mutex_profile.hpp): set the sink before a non-zero rate, never reset it.
//   runtime_stats() takes the runtimes' lock briefly.
// - Hooks the runtime calls (diag_hooks.hpp): install_diag_hooks, once, from diag.
// - Waits that something outside the tasks can end (external_waits.hpp): hold an
//   ExternalWait while such a waker exists, so the deadlock detector does not condemn.
// - goro's logger (log.hpp) and the strict GORO_* parsers (env.hpp).
//
// What a reader must not do: block, park, log or take a registry shard lock while it
// holds one (fn of registry_for_each must not touch the registry); write to any TaskRecord field; keep a TaskRecord pointer or a
// WaitSite pointer past the callback that handed it out; call into the scheduler (spawn,
// park, ready) from inside a callback; reset an installed sink or hook.
#pragma once

#include "../../../src/diag_hooks.hpp"
#include "../../../src/env.hpp"
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
