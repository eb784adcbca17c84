// diag/src/metrics.cpp — Prometheus text exposition of goro's tasks (goro/metrics.hpp).
//
// Written by hand: the format is a few lines of text per family, and prometheus-cpp is
// not packaged in Debian 12. Counts come from one walk of the task registry that reads
// only each record's state and wait record (under the wait-record protocol of
// runtime/src/wait_record.hpp), so a scrape never stops the scheduler.
#include "goro/metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "../../runtime/src/profiling_hooks.hpp"
#include "../../runtime/src/registry.hpp"
#include "../../runtime/src/wait_record.hpp"
#include "goro/diag.hpp"

namespace goro::diag {

namespace {

// Every WaitReason but none, in enum order; stops at the first value without a name,
// so reasons added later are listed without touching this file.
std::vector<WaitReason> blocking_reasons() {
  std::vector<WaitReason> reasons;
  for (unsigned r = 1; r < 256; ++r) {
    const auto reason = static_cast<WaitReason>(r);
    if (to_string(reason) == "unknown") break;
    reasons.push_back(reason);
  }
  return reasons;
}

// A label value: backslash, double quote and line feed escaped (exposition format).
std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void family(std::ostream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

std::string seconds(std::int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ns) / 1e9);
  return buf;
}

}  // namespace

void write_metrics(std::ostream& out) {
  const std::vector<WaitReason> reasons = blocking_reasons();
  std::vector<std::size_t> blocked(256, 0);
  std::vector<std::int64_t> oldest_since(256, INT64_MAX);
  std::size_t live = 0, running = 0, runnable = 0, waiting = 0;
  std::int64_t now = 0;
  {
    const detail::WaitRecordReaders reading;
    now = detail::coarse_now_ns();
    detail::registry_for_each([&](const detail::TaskRecord& t) {
      ++live;
      switch (t.state.load(std::memory_order_relaxed)) {
        case detail::TaskState::running: ++running; break;
        case detail::TaskState::parked: ++waiting; break;
        default: ++runnable; break;
      }
      const detail::WaitRecordCopy record = detail::read_wait_record(t, [](const auto&) {});
      const auto r = static_cast<unsigned>(record.site.reason);
      if (record.site.reason == WaitReason::none) return;
      ++blocked[r];
      oldest_since[r] = std::min(oldest_since[r], record.since_ns);
    });
  }
  const std::size_t leaked = leaked_tasks().size();
  const detail::RuntimeStats stats = detail::runtime_stats();

  family(out, "goro_tasks", "gauge", "Live goro tasks (running, runnable or waiting).");
  out << "goro_tasks " << live << "\n";
  family(out, "goro_tasks_state", "gauge", "Live goro tasks by scheduling state.");
  out << "goro_tasks_state{state=\"running\"} " << running << "\n";
  out << "goro_tasks_state{state=\"runnable\"} " << runnable << "\n";
  out << "goro_tasks_state{state=\"waiting\"} " << waiting << "\n";
  family(out, "goro_tasks_blocked", "gauge", "Goro tasks parked, by wait reason.");
  for (WaitReason r : reasons)
    out << "goro_tasks_blocked{reason=\"" << label_value(to_string(r)) << "\"} "
        << blocked[static_cast<unsigned>(r)] << "\n";
  family(out, "goro_tasks_leaked", "gauge", "Goro tasks that provably can never wake up.");
  out << "goro_tasks_leaked " << leaked << "\n";
  family(out, "goro_oldest_wait_seconds", "gauge",
         "Age of the oldest current wait, by wait reason (0 when no task waits).");
  for (WaitReason r : reasons) {
    const std::int64_t since = oldest_since[static_cast<unsigned>(r)];
    out << "goro_oldest_wait_seconds{reason=\"" << label_value(to_string(r)) << "\"} "
        << (since == INT64_MAX ? std::string("0") : seconds(std::max<std::int64_t>(0, now - since)))
        << "\n";
  }
  family(out, "goro_spawns_total", "counter", "Goro tasks created since the process started.");
  out << "goro_spawns_total " << stats.spawns << "\n";
  family(out, "goro_context_switches_total", "counter",
         "Times a worker switched to a goro task since the process started.");
  out << "goro_context_switches_total " << stats.context_switches << "\n";
  family(out, "goro_workers", "gauge", "Worker threads of the goro runtimes alive now.");
  out << "goro_workers " << stats.workers << "\n";
  out.flush();
}

}  // namespace goro::diag
