// runtime/src/switch.cpp — a task's life on its own stack: its entry point, its body
// and what an uncaught exception does (Config::on_panic), and run()'s unwinding of tasks
// (TaskUnwind), including a task that swallows it. See switch.hpp.
//
// Touches the running task's record and its Runtime's read-only config; the main task's
// escaping exception goes to Runtime::main_exception, which run() reads after main_done.
// Invariants: a task's closure is destroyed exactly once, on its own stack, before it
// switches out for the last time (AfterSwitch::finish); a task that swallowed a
// TaskUnwind never runs again (abandoned, parked for good). No locks.
#include "switch.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <typeinfo>

#include "bubble.hpp"
#include "log.hpp"

namespace goro::detail {

std::string demangled(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                              std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

namespace {

void log_task_exception(const TaskRecord* t, std::exception_ptr error) {
  std::string what = "an exception not derived from std::exception";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    what = demangled(typeid(e).name()) + ": " + e.what();
  } catch (...) {
    if (const std::type_info* type = abi::__cxa_current_exception_type())
      what = "an exception of type " + demangled(type->name()) +
             " (not derived from std::exception)";
  }
  const bool continuing = t->runtime->config().on_panic == PanicPolicy::log_and_continue;
  logger().critical(
      "task {}{}{}{} (spawned at {}:{} in {}) exited with an uncaught exception: {}. {}",
      t->id, t->name ? " \"" : "", task_name(*t), t->name ? "\"" : "",
      t->spawn_site.file_name(), t->spawn_site.line(), t->spawn_site.function_name(), what,
      continuing ? "The task ended; the runtime goes on (goro::PanicPolicy::log_and_continue)."
                 : "Catch it inside the task, or set goro::Config::on_panic = "
                   "goro::PanicPolicy::log_and_continue.");
  logger().flush();
}

void run_task_body(TaskRecord* t) {
  try {
    if (!t->runtime->unwinding()) t->closure_ops->invoke(t->closure);
  } catch (const TaskUnwind&) {
    // run() is unwinding this task: done.
  } catch (...) {
    Runtime* rt = t->runtime;
    if (rt->bubble != nullptr) [[unlikely]] {
      rt->bubble->task_threw(t, std::current_exception());
    } else if (rt->config().on_panic == PanicPolicy::log_and_continue && t->id == rt->main_task()) {
      rt->main_exception = std::current_exception();  // run() rethrows it
    } else {
      log_task_exception(t, std::current_exception());
      if (rt->config().on_panic == PanicPolicy::terminate) std::terminate();
    }
  }
  t->closure_ops->destroy(t->closure);
}

}  // namespace

void task_entry(void* data) {
  auto* w = static_cast<Worker*>(data);
  sanitizers::finish_switch(nullptr, &w->stack_bottom, &w->stack_size);
  TaskRecord* t = w->current;
  run_task_body(t);
  switch_out(this_worker(), AfterSwitch::finish);
  __builtin_unreachable();
}

#if defined(GORO_BOOST_CONTEXT_SWITCH)
void boost_task_entry(boost::context::detail::transfer_t from) {
  auto* in = static_cast<SwitchMessage*>(from.data);
  *in->save = from.fctx;
  task_entry(in->data);
}
#endif

namespace {

// A task that swallowed a TaskUnwind (a catch (...) that did not rethrow) and came back
// to a goro call: it would catch every later one too, spinning forever, so it is told
// about once and abandoned: switched out for good, its stack kept (leaked). The unwinder
// has marked it resumed, so it is not resumed again; run() reports it with the tasks
// that could not be unwound.
[[noreturn]] __attribute__((noinline, cold)) void abandon_swallowing_task(Worker* w, TaskRecord* t) {
  logger().error(
      "goro::run: task {}{}{}{} (spawned at {}:{} in {}) caught the runtime's unwind "
      "(goro::detail::TaskUnwind) in a catch (...) that did not rethrow it, then called goro "
      "again. It is abandoned: the rest of its stack is not unwound (its destructors do not "
      "run; its stack is leaked). Every catch (...) that can see a goro call must rethrow: "
      "catch (...) {{ cleanup(); throw; }}.",
      t->id, t->name ? " \"" : "", task_name(*t), t->name ? "\"" : "",
      t->spawn_site.file_name(), t->spawn_site.line(), t->spawn_site.function_name());
  logger().flush();
  for (;;) {
    w->release = nullptr;
    w = switch_out(w, AfterSwitch::park);
  }
}

// Whether the exception being handled on this thread now (in a catch block) is a
// TaskUnwind: a catch (...) { cleanup(); throw; } that calls goro in cleanup().
bool handling_task_unwind() noexcept {
  std::exception_ptr handled = std::current_exception();
  if (!handled) return false;
  try {
    std::rethrow_exception(handled);
  } catch (const TaskUnwind&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

[[noreturn]] void throw_task_unwind(Worker* w, TaskRecord* t) {
  if (t->unwind_thrown && !handling_task_unwind()) abandon_swallowing_task(w, t);
  t->unwind_thrown = true;
  throw TaskUnwind{};
}

}  // namespace goro::detail
