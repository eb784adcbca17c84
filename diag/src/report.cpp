// diag/src/report.cpp — the runtime's reports (exit leak report, deadlock report) in the
// words of goro::diag, and the provable-leak verdict the deadlock detector asks for. See
// goro/detail/report.hpp.
#include "goro/detail/report.hpp"

#include <algorithm>
#include <sstream>
#include <unordered_set>

#include "../../runtime/src/registry.hpp"
#include "goro/diag.hpp"

namespace goro::detail {

std::string live_task_report(const void* runtime, TaskId exclude) {
  std::unordered_set<TaskId> in_scope;
  registry_for_each([&](const TaskRecord& t) {
    if ((runtime == nullptr || t.runtime == runtime) && t.id != exclude) in_scope.insert(t.id);
  });
  std::vector<diag::TaskInfo> tasks;
  for (diag::TaskInfo& t : diag::tasks())
    if (in_scope.count(t.id)) tasks.push_back(std::move(t));
  std::ostringstream out;
  // Which of them can never finish (provably leaked) and which merely had not yet.
  const auto leaked = static_cast<std::size_t>(
      std::count_if(tasks.begin(), tasks.end(), [](const diag::TaskInfo& t) { return t.leaked; }));
  out << leaked << " provably leaked (blocked on channels no code that can still run can "
      << "reach), " << tasks.size() - leaked << " still blocked or running\n";
  diag::dump_tasks(out, std::move(tasks));  // the grouped format of dump_blocked()
  return out.str();
}

namespace {

bool task_provably_leaked(TaskId task) {
  for (const diag::TaskInfo& t : diag::leaked_tasks())
    if (t.id == task) return true;
  return false;
}

// This file is always linked (the runtime calls live_task_report), so the verdict is
// installed before main() in every program.
[[maybe_unused]] const bool provable_leak_check_installed = [] {
  g_provable_leak_check.store(&task_provably_leaked, std::memory_order_release);
  return true;
}();

}  // namespace

}  // namespace goro::detail
