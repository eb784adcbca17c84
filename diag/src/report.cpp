// diag/src/report.cpp — the runtime's reports (exit leak report, deadlock report) in the
// words of goro::diag, and the provable-leak verdict the deadlock detector asks for.
// The runtime reaches them through the hooks diag/src/hooks.cpp installs.
#include <algorithm>
#include <sstream>
#include <unordered_set>

#include "goro/diag.hpp"
#include "goro/internal/inspect.hpp"
#include "runtime_hooks.hpp"

namespace goro::diag::internal {

std::string live_task_report(const void* runtime, TaskId exclude) {
  std::unordered_set<TaskId> in_scope;
  detail::registry_for_each([&](const detail::TaskRecord& t) {
    if ((runtime == nullptr || t.runtime == runtime) && t.id != exclude) in_scope.insert(t.id);
  });
  std::vector<TaskInfo> all;
  for (TaskInfo& t : tasks())
    if (in_scope.count(t.id)) all.push_back(std::move(t));
  std::ostringstream out;
  // Which of them can never finish (provably leaked) and which merely had not yet.
  const auto leaked = static_cast<std::size_t>(
      std::count_if(all.begin(), all.end(), [](const TaskInfo& t) { return t.leaked; }));
  out << leaked << " provably leaked (blocked on channels no code that can still run can "
      << "reach), " << all.size() - leaked << " still blocked or running\n";
  dump_tasks(out, std::move(all));  // the grouped format of dump_blocked()
  return out.str();
}

bool task_provably_leaked(TaskId task) {
  for (const TaskInfo& t : leaked_tasks())
    if (t.id == task) return true;
  return false;
}

}  // namespace goro::diag::internal
