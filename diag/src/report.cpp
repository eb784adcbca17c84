// diag/src/report.cpp — the runtime's reports (exit leak report, deadlock report) in the
// words of goro::diag. See goro/detail/report.hpp.
#include "goro/detail/report.hpp"

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
  std::ostringstream out;
  std::size_t listed = 0;
  for (const diag::TaskInfo& t : diag::tasks()) {
    if (!in_scope.count(t.id)) continue;
    if (listed++ == 200) {
      out << "  ... and more (see goro::diag::dump_blocked())\n";
      break;
    }
    out << "  task " << t.id;
    if (!t.name.empty()) out << " \"" << t.name << "\"";
    out << " [" << diag::to_string(t.reason);
    if (t.reason != diag::WaitReason::none)
      out << ", " << std::chrono::duration_cast<std::chrono::milliseconds>(t.blocked_for).count()
          << "ms";
    out << "]";
    if (t.reason != diag::WaitReason::none)
      out << " at " << t.wait_site.file_name() << ":" << t.wait_site.line() << " in "
          << t.wait_site.function_name();
    out << "; created by "
        << (t.parent ? "task " + std::to_string(t.parent) : std::string("a plain thread"))
        << " at " << t.spawn_site.file_name() << ":" << t.spawn_site.line() << "\n";
  }
  return out.str();
}

}  // namespace goro::detail
