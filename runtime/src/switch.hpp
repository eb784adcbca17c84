// runtime/src/switch.hpp — switching between a task and its worker's loop, and what
// ends a task: its entry point, uncaught exceptions, run()'s unwinding.
//
//   w = switch_out(w, AfterSwitch::park);  // in a task: back to the worker loop; returns
//                                          // the worker that resumed it (maybe another)
//   t->ctx = make_context(top, size);      // a new task's first frame: task_entry(Worker*)
//   data = switch_context(&my_ctx, to, data);  // the raw switch both sides use
//
// The worker side of a switch is Runtime::execute (proc.cpp): it jumps into the task
// with its Worker* and, when the task switches out, does what Worker::after asks.
// Invariants: a task switches out only to the worker loop that resumed it (sched_ctx),
// and it reads that worker again from the switch's result, never from before the switch;
// sanitizer fiber/stack bookkeeping brackets every switch (sanitizers.hpp). Each side
// saves its own context (its stack pointer) before it leaves, so a context is complete
// once the switch away from it has happened.
//
// On x86-64 the switch is goro's own, inline: it saves only the stack pointer, the
// frame pointer and where to resume, and tells the compiler every other register is
// clobbered, so the compiler saves just the values live across the switch (Go's gogo
// does the same). What it does not carry from task to task: the MXCSR and x87 control
// words (rounding mode, exception masks). They belong to the worker thread, as in Go: a
// task that changes them must restore them before its next goro call that can switch
// (a channel operation, a lock, yield). Elsewhere (aarch64, ...) it is Boost.Context's
// jump_fcontext; GORO_BOOST_CONTEXT_SWITCH=1 selects that on x86-64 too.
// switch_out is defined here, forced inline: park() and task_yield() are on the hot path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#if !defined(__x86_64__) && !defined(GORO_BOOST_CONTEXT_SWITCH)
#define GORO_BOOST_CONTEXT_SWITCH 1
#endif
#if defined(GORO_BOOST_CONTEXT_SWITCH)
#include <boost/context/detail/fcontext.hpp>
#endif

#include "sanitizers.hpp"
#include "scheduler.hpp"

namespace goro::detail {

// A new task's first frame: runs its closure (run_task_body), then finishes it. `w` is
// the worker that switched to it first.
[[noreturn]] void task_entry(void* w);

#if !defined(GORO_BOOST_CONTEXT_SWITCH)

// A suspended context is its stack pointer; the stack there holds, from low to high,
// where to resume, the saved frame pointer, then 128 bytes skipped over the suspended
// code's red zone (the ABI lets a function keep data in the 128 bytes below its stack
// pointer; signal frames skip them too).
inline constexpr std::size_t kRedZone = 128;

// Saves the running context in *save, resumes `to` and hands it `data`; returns the
// `data` of the switch that resumes this context later.
[[gnu::always_inline]] inline void* switch_context(void** save, void* to, void* data) {
  // The other side continues at its own label 1 (or task_entry) with `data` in rdi. rbp
  // is restored by hand (it may be the frame pointer, which cannot be a clobber); every
  // other register is clobbered, including rbx and r12-r15: the compiler keeps what it
  // needs on the stack around the switch, which is all that the ABI requires.
  asm volatile(
      "leaq 1f(%%rip), %%rax\n\t"
      "leaq %c[red](%%rsp), %%rsp\n\t"
      "pushq %%rbp\n\t"
      "pushq %%rax\n\t"
      "movq %%rsp, (%[save])\n\t"
      "movq %[to], %%rsp\n\t"
      "popq %%rax\n\t"
      "popq %%rbp\n\t"
      "leaq %c[unred](%%rsp), %%rsp\n\t"
      "jmpq *%%rax\n"
      "1:"
      : "+D"(data), [to] "+S"(to), [save] "+d"(save)
      : [red] "i"(-static_cast<long>(kRedZone)), [unred] "i"(kRedZone)
      : "rax", "rbx", "rcx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "memory",
        "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
#if defined(__AVX512F__)
        "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24",
        "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k1", "k2", "k3",
        "k4", "k5", "k6", "k7",
#endif
        "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)", "mm0", "mm1",
        "mm2", "mm3", "mm4", "mm5", "mm6", "mm7");
  return data;
}

// The context of a new task on the stack below `top`: its first switch enters
// task_entry(data) as if called from address 0 (where unwinders stop), with the stack
// aligned as at a call.
inline void* make_context(void* top, std::size_t /*size*/) noexcept {
  auto sp = reinterpret_cast<std::uintptr_t>(top) & ~std::uintptr_t{15};
  sp -= 16;  // the fake return address (0) at sp + 8, so task_entry sees rsp = 8 mod 16
  auto* slots = reinterpret_cast<void**>(sp + 8 - kRedZone - 2 * sizeof(void*));
  slots[0] = reinterpret_cast<void*>(&task_entry);  // where to resume
  slots[1] = nullptr;                                // rbp: no caller frame
  *reinterpret_cast<void**>(sp + 8) = nullptr;       // task_entry's return address
  return slots;
}

#else  // Boost.Context

// jump_fcontext hands the receiver the sender's context; the sender says where to save
// it, so that each side saves its own context as above.
struct SwitchMessage {
  void** save;
  void* data;
};

[[gnu::always_inline]] inline void* switch_context(void** save, void* to, void* data) {
  SwitchMessage out{save, data};
  const boost::context::detail::transfer_t back = boost::context::detail::jump_fcontext(to, &out);
  auto* in = static_cast<SwitchMessage*>(back.data);
  *in->save = back.fctx;
  return in->data;
}

void boost_task_entry(boost::context::detail::transfer_t from);

inline void* make_context(void* top, std::size_t size) noexcept {
  return boost::context::detail::make_fcontext(top, size, &boost_task_entry);
}

#endif

// Switches from the running task (on worker w) back to a worker loop; returns the
// worker that resumed it, which may run on another thread.
[[gnu::always_inline]] inline Worker* switch_out(Worker* w, AfterSwitch after) {
  w->after = after;
  void* fake_stack = nullptr;
  sanitizers::start_switch(after == AfterSwitch::finish ? nullptr : &fake_stack,
                           w->stack_bottom, w->stack_size);
#if defined(GORO_TSAN)
  sanitizers::tsan_switch_to(w->tsan_fiber);
#endif
  auto* resumed_by = static_cast<Worker*>(switch_context(&w->current->ctx, w->sched_ctx, nullptr));
  sanitizers::finish_switch(fake_stack, &resumed_by->stack_bottom, &resumed_by->stack_size);
  return resumed_by;
}

// "std::runtime_error" for "St13runtime_error"; the mangled name if demangling fails.
std::string demangled(const char* mangled);

// Throws TaskUnwind into the running task t (run() is unwinding it), or abandons t if it
// swallowed the previous one.
[[noreturn]] void throw_task_unwind(Worker* w, TaskRecord* t);

}  // namespace goro::detail
