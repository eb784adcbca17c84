// runtime/src/switch.hpp — switching between a task and its worker's loop, and what
// ends a task: its entry point, uncaught exceptions, run()'s unwinding.
//
//   w = switch_out(w, AfterSwitch::park);  // in a task: back to the worker loop; returns
//                                          // the worker that resumed it (maybe another)
//   ctx = make_fcontext(top, size, &task_entry);  // a new task's first frame
//
// The worker side of a switch is Runtime::execute (proc.cpp): it jumps into the task
// with its Worker* and, when the task switches out, does what Worker::after asks.
// Invariants: a task switches out only to the worker loop that resumed it (sched_ctx),
// and it reads that worker again from the jump's result, never from before the switch;
// sanitizer fiber/stack bookkeeping brackets every jump (sanitizers.hpp).
// switch_out is defined here, forced inline: park() and task_yield() are on the hot path.
#pragma once

#include <string>

#include <boost/context/detail/fcontext.hpp>

#include "sanitizers.hpp"
#include "scheduler.hpp"

namespace goro::detail {

// Switches from the running task t (on worker w) back to a worker loop; returns the
// worker that resumed it, which may run on another thread.
[[gnu::always_inline]] inline Worker* switch_out(Worker* w, AfterSwitch after) {
  w->after = after;
  void* fake_stack = nullptr;
  sanitizers::start_switch(after == AfterSwitch::finish ? nullptr : &fake_stack,
                           w->stack_bottom, w->stack_size);
#if defined(GORO_TSAN)
  sanitizers::tsan_switch_to(w->tsan_fiber);
#endif
  const boost::context::detail::transfer_t back =
      boost::context::detail::jump_fcontext(w->sched_ctx, nullptr);
  auto* resumed_by = static_cast<Worker*>(back.data);
  resumed_by->sched_ctx = back.fctx;
  sanitizers::finish_switch(fake_stack, &resumed_by->stack_bottom, &resumed_by->stack_size);
  return resumed_by;
}

// "std::runtime_error" for "St13runtime_error"; the mangled name if demangling fails.
std::string demangled(const char* mangled);

// A new task's first frame: runs its closure (run_task_body), then finishes it.
void task_entry(boost::context::detail::transfer_t from);

// Throws TaskUnwind into the running task t (run() is unwinding it), or abandons t if it
// swallowed the previous one.
[[noreturn]] void throw_task_unwind(Worker* w, TaskRecord* t);

}  // namespace goro::detail
