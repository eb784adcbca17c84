// diag/src/metrics.cpp — Prometheus text exposition of goro's tasks (goro/metrics.hpp).
//
// Written by hand: the format is a few lines of text per family, and prometheus-cpp is
// not packaged in Debian 12. Counts come from one walk of the task registry that reads
// only each record's state and wait record (under the wait-record protocol of
// runtime/src/wait_record.hpp), so a scrape never stops the scheduler. The provably
// leaked count is the costly part: it comes from bounded_leak_count (leak_count.hpp),
// which reruns the analysis only once 20 times its last duration has passed. The
// process_* families are the Prometheus client libraries' standard process metrics,
// read as they read them: /proc/self/stat, /proc/self/fd, getrlimit.
#include "goro/metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "goro/internal/inspect.hpp"
#include "goro/diag.hpp"
#include "goro/memory.hpp"
#include "leak_count.hpp"
#include "memory_walk.hpp"

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

// The fields of /proc/self/stat that the process metrics use (proc(5) numbering).
struct ProcStat {
  unsigned long long utime = 0, stime = 0;  // 14, 15: clock ticks
  unsigned long long starttime = 0;         // 22: clock ticks after boot
  unsigned long long vsize = 0;             // 23: bytes
  long long rss = 0;                        // 24: pages
};

std::optional<ProcStat> read_proc_stat() {
  std::FILE* f = std::fopen("/proc/self/stat", "r");
  if (f == nullptr) return std::nullopt;
  char buf[1024];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // Field 2 (comm) is parenthesised and may hold spaces or ')': fields resume after
  // the last ')', at field 3 (state).
  const char* rest = std::strrchr(buf, ')');
  if (rest == nullptr) return std::nullopt;
  ProcStat s;
  const int got = std::sscanf(rest + 1,
                              " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
                              "%*d %*d %*d %llu %llu %lld",
                              &s.utime, &s.stime, &s.starttime, &s.vsize, &s.rss);
  if (got != 5) return std::nullopt;
  return s;
}

// The boot time in seconds since the epoch ("btime" in /proc/stat).
std::optional<long long> boot_time_seconds() {
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (f == nullptr) return std::nullopt;
  std::optional<long long> btime;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    long long v = 0;
    if (std::sscanf(line, "btime %lld", &v) == 1) {
      btime = v;
      break;
    }
  }
  std::fclose(f);
  return btime;
}

std::optional<std::size_t> open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  std::size_t n = 0;
  while (const dirent* e = ::readdir(dir))
    if (e->d_name[0] != '.') ++n;
  ::closedir(dir);
  return n;  // counts the directory's own descriptor, as the Prometheus clients do
}

void write_process_metrics(std::ostream& out) {
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  if (const std::optional<ProcStat> stat = read_proc_stat(); stat && ticks > 0) {
    char buf[64];
    family(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
    std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(stat->utime + stat->stime) / ticks);
    out << "process_cpu_seconds_total " << buf << "\n";
    family(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    out << "process_virtual_memory_bytes " << stat->vsize << "\n";
    family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    out << "process_resident_memory_bytes " << stat->rss * ::sysconf(_SC_PAGESIZE) << "\n";
    if (const std::optional<long long> btime = boot_time_seconds()) {
      family(out, "process_start_time_seconds", "gauge",
             "Start time of the process since unix epoch in seconds.");
      std::snprintf(buf, sizeof buf, "%.2f",
                    static_cast<double>(*btime) + static_cast<double>(stat->starttime) / ticks);
      out << "process_start_time_seconds " << buf << "\n";
    }
  }
  if (const std::optional<std::size_t> fds = open_fds()) {
    family(out, "process_open_fds", "gauge", "Number of open file descriptors.");
    out << "process_open_fds " << *fds << "\n";
  }
  if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    family(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
    out << "process_max_fds " << (limit.rlim_cur == RLIM_INFINITY ? std::string("+Inf")
                                                                   : std::to_string(limit.rlim_cur))
        << "\n";
  }
}

}  // namespace

void write_metrics(std::ostream& out) {
  const std::vector<WaitReason> reasons = blocking_reasons();
  std::vector<std::size_t> blocked(256, 0);
  std::vector<std::int64_t> oldest_since(256, INT64_MAX);
  std::size_t live = 0, running = 0, runnable = 0, waiting = 0, channel_waits = 0;
  std::int64_t now = 0;
  TaskMemoryWalk memory_walk;  // goro_memory_*: collected in the same walk
  {
    const detail::WaitRecordReaders reading;
    now = detail::coarse_now_ns();
    detail::registry_for_each([&](const detail::TaskRecord& t) {
      ++live;
      memory_walk.add(t);
      switch (t.state.load(std::memory_order_relaxed)) {
        case detail::TaskState::running: ++running; break;
        case detail::TaskState::parked: ++waiting; break;
        default: ++runnable; break;
      }
      const detail::WaitRecordCopy record = detail::read_wait_record(t, [](const auto&) {});
      const auto r = static_cast<unsigned>(record.site.reason);
      if (record.site.reason == WaitReason::none) return;
      if (is_channel_wait(record.site.reason)) ++channel_waits;  // only these can leak
      ++blocked[r];
      oldest_since[r] = std::min(oldest_since[r], record.since_ns);
    });
  }
  const internal::LeakCount leaked = internal::bounded_leak_count(channel_waits > 0);
  const auto leaked_age = std::chrono::steady_clock::now() - leaked.computed_at;
  const detail::RuntimeStats stats = detail::runtime_stats();
  const MemoryUsage memory = memory_walk.finish(/*by_site=*/false);

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
  family(out, "goro_tasks_leaked", "gauge",
         "Goro tasks that provably can never wake up. The analysis behind it is rerun only "
         "once 20 times its last duration has passed (at most ~5% of a core), so the count "
         "may be that old: milliseconds with few tasks, seconds with 100,000 "
         "(goro_tasks_leaked_age_seconds).");
  out << "goro_tasks_leaked " << leaked.leaked << "\n";
  family(out, "goro_tasks_leaked_age_seconds", "gauge",
         "Time since the analysis behind goro_tasks_leaked began.");
  out << "goro_tasks_leaked_age_seconds "
      << seconds(std::chrono::duration_cast<std::chrono::nanoseconds>(leaked_age).count()) << "\n";
  family(out, "goro_oldest_wait_seconds", "gauge",
         "Age of the oldest current wait, by wait reason (0 when no task waits).");
  for (WaitReason r : reasons) {
    const std::int64_t since = oldest_since[static_cast<unsigned>(r)];
    out << "goro_oldest_wait_seconds{reason=\"" << label_value(to_string(r)) << "\"} "
        << (since == INT64_MAX ? std::string("0") : seconds(std::max<std::int64_t>(0, now - since)))
        << "\n";
  }
  if (stats.runtimes != 0 && stats.runtimes_without_task_limit == 0) {
    family(out, "goro_tasks_limit", "gauge",
           "The most live tasks the runtimes allow (Config::max_tasks, GORO_MAX_TASKS); "
           "absent when a runtime has no limit.");
    out << "goro_tasks_limit " << stats.max_tasks << "\n";
  }
  family(out, "goro_memory_bytes", "gauge",
         "Memory goro holds, by kind: resident task stack pages, task records and closures, "
         "channel state and buffers.");
  const std::pair<const char*, const MemoryTotal*> kinds[] = {
      {"stack", &memory.stack}, {"task", &memory.task}, {"channel", &memory.channel}};
  for (const auto& [kind, total] : kinds)
    out << "goro_memory_bytes{kind=\"" << kind << "\"} " << total->bytes << "\n";
  family(out, "goro_memory_objects", "gauge",
         "What goro_memory_bytes counts, in objects: started tasks (stack), tasks, channels.");
  for (const auto& [kind, total] : kinds)
    out << "goro_memory_objects{kind=\"" << kind << "\"} " << total->objects << "\n";
  family(out, "goro_spawns_total", "counter", "Goro tasks created since the process started.");
  out << "goro_spawns_total " << stats.spawns << "\n";
  family(out, "goro_context_switches_total", "counter",
         "Times a worker switched to a goro task since the process started.");
  out << "goro_context_switches_total " << stats.context_switches << "\n";
  family(out, "goro_workers", "gauge", "Worker threads of the goro runtimes alive now.");
  out << "goro_workers " << stats.workers << "\n";
  write_process_metrics(out);
  out.flush();
}

}  // namespace goro::diag
