// runtime/src/diag_hooks.cpp — the hooks diag installs, and what the runtime says
// without them. See diag_hooks.hpp for the invariants.
#include "diag_hooks.hpp"

#include <mutex>
#include <string_view>

#include "goro/wait_reason.hpp"
#include "registry.hpp"
#include "wait_record.hpp"

namespace goro::detail {

namespace {

std::atomic<LiveTaskReport> g_live_task_report{nullptr};
std::atomic<StartTrendSampler> g_start_trend_sampler{nullptr};

std::mutex g_diag_hooks_lock;
// Guarded by g_diag_hooks_lock: the first trend period a runtime asked for while no
// sampler hook was installed (zero: none).
std::chrono::milliseconds g_pending_trend_period{0};

void append_site(std::string& out, const std::source_location& where) {
  out += where.file_name();
  out += ':';
  out += std::to_string(where.line());
}

// One line per task, in registry order: what the runtime knows without diag.
std::string minimal_report(const void* runtime, TaskId exclude) {
  std::string out;
  std::size_t count = 0;
  WaitRecordReaders readers;
  registry_for_each([&](const TaskRecord& t) {
    if ((runtime != nullptr && t.runtime != runtime) || t.id == exclude) return;
    ++count;
    out += "  task ";
    out += std::to_string(t.id);
    if (const std::string_view name = task_name(t); !name.empty()) {
      out += " \"";
      out += name;
      out += '"';
    }
    out += " spawned at ";
    append_site(out, t.spawn_site);
    const WaitRecordCopy wait = read_wait_record(t, [](const WaitRecordCopy&) {});
    if (wait.site.reason != diag::WaitReason::none) {
      out += ": [";
      out += diag::to_string(wait.site.reason);
      out += "] at ";
      append_site(out, wait.site.where);
    } else {
      out += ": not parked";
    }
    out += '\n';
  });
  return std::to_string(count) + " live task" + (count == 1 ? "" : "s") +
         " (goro's diagnostics are not linked: link goro::goro for the grouped dump)\n" + out;
}

}  // namespace

void install_diag_hooks(const DiagHooks& hooks) {
  std::chrono::milliseconds pending{0};
  {
    std::lock_guard guard(g_diag_hooks_lock);
    g_live_task_report.store(hooks.live_task_report, std::memory_order_release);
    g_provable_leak_check.store(hooks.provable_leak_check, std::memory_order_release);
    g_start_trend_sampler.store(hooks.start_trend_sampler, std::memory_order_release);
    if (hooks.start_trend_sampler != nullptr) std::swap(pending, g_pending_trend_period);
  }
  if (pending.count() > 0) hooks.start_trend_sampler(pending);
}

std::string live_task_report(const void* runtime, TaskId exclude) {
  if (LiveTaskReport report = g_live_task_report.load(std::memory_order_acquire))
    return report(runtime, exclude);
  return minimal_report(runtime, exclude);
}

void start_trend_sampler(std::chrono::milliseconds period) {
  StartTrendSampler start = g_start_trend_sampler.load(std::memory_order_acquire);
  if (start == nullptr) {
    std::lock_guard guard(g_diag_hooks_lock);
    start = g_start_trend_sampler.load(std::memory_order_relaxed);
    if (start == nullptr) {
      if (g_pending_trend_period.count() == 0) g_pending_trend_period = period;
      return;
    }
  }
  start(period);
}

}  // namespace goro::detail
