// diag/src/trend.cpp — the leak-trend sampler (see goro/trend.hpp).
//
// One process-wide sampler. Its state is allocated once and never freed, so the thread
// never outlives what it uses; an atexit handler stops the thread before the logger and
// the other statics it touches are destroyed.
//
// Lock: Sampler::mu guards opts, history, flagged, flagged_keys, flagged_memory_keys,
// running, stop_requested and thread.
// A sample is taken without the lock (it walks the task registry), then appended and
// checked under it; sample_trend() callers and the thread may interleave, which only
// interleaves their samples.
#include "goro/trend.hpp"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "goro/internal/inspect.hpp"
#include "goro/detail/timer.hpp"
#include "goro/diag.hpp"
#include "goro/memory.hpp"
#include "leak_count.hpp"
#include "runtime_hooks.hpp"
#include "text.hpp"

namespace goro::diag {

namespace {

// Identifies a wait site across samples: a reason and a source line.
struct SiteKey {
  WaitReason reason;
  std::string_view file;
  std::uint_least32_t line, column;
  friend bool operator==(const SiteKey&, const SiteKey&) = default;
};
struct SiteKeyHash {
  std::size_t operator()(const SiteKey& k) const noexcept {
    return std::hash<std::string_view>()(k.file) ^ (std::size_t(k.line) << 8) ^
           (std::size_t(k.column) << 40) ^ std::size_t(k.reason);
  }
};
SiteKey key_of(WaitReason reason, const std::source_location& site) {
  return {reason, site.file_name(), site.line(), site.column()};
}

struct Sampler {
  std::mutex mu;
  std::condition_variable wake;
  TrendOptions opts;
  std::deque<TrendSample> history;
  std::vector<PossibleLeak> flagged;
  std::unordered_map<SiteKey, bool, SiteKeyHash> flagged_keys;
  std::unordered_map<SiteKey, bool, SiteKeyHash> flagged_memory_keys;
  std::thread thread;
  bool running = false;
  bool stop_requested = false;
  bool exit_hook_installed = false;
};

Sampler& sampler() {
  static Sampler* s = new Sampler;  // never destroyed: see the file comment
  return *s;
}

std::size_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

TrendSample take_sample(std::size_t max_sites) {
  TrendSample sample;
  sample.at = std::chrono::system_clock::now();
  sample.steady_at = std::chrono::steady_clock::now();
  std::unordered_map<SiteKey, TrendSite, SiteKeyHash> sites;
  {
    const detail::WaitRecordReaders reading;
    detail::registry_for_each([&](const detail::TaskRecord& t) {
      ++sample.live_tasks;
      const detail::WaitRecordCopy r = detail::read_wait_record(t, [](const auto&) {});
      if (r.site.reason == WaitReason::none) return;
      ++sample.waiting_tasks;
      if (is_channel_wait(r.site.reason)) ++sample.blocked_tasks;
      TrendSite& s = sites[key_of(r.site.reason, r.site.where)];
      s.reason = r.site.reason;
      s.site = r.site.where;
      ++s.blocked;
    });
  }
  // The provable-leak analysis is the one costly part of a sample (a few hundred ms for
  // 100,000 blocked tasks): shared with /metrics, it runs again only once 20 times its
  // last duration has passed (leak_count.hpp); samples in between repeat its last count.
  sample.leaked_tasks = internal::bounded_leak_count(sample.blocked_tasks != 0).leaked;
  sample.rss_bytes = resident_bytes();
  MemoryUsage memory = diag::memory();
  sample.memory_bytes = memory.total_bytes();
  if (memory.sites.size() > max_sites) memory.sites.resize(max_sites);
  for (MemorySite& m : memory.sites) m.allocated_objects = m.allocated_bytes = 0;
  sample.memory = std::move(memory.sites);
  sample.sites.reserve(sites.size());
  for (auto& entry : sites) sample.sites.push_back(entry.second);
  std::sort(sample.sites.begin(), sample.sites.end(),
            [](const TrendSite& a, const TrendSite& b) { return a.blocked > b.blocked; });
  if (sample.sites.size() > max_sites) sample.sites.resize(max_sites);
  return sample;
}

std::string short_site(const std::source_location& site) {
  std::string_view file = site.file_name();
  if (auto slash = file.rfind('/'); slash != std::string_view::npos) file.remove_prefix(slash + 1);
  return std::string(file) + ":" + std::to_string(site.line());
}

std::string rate_string(double per_minute) {
  char buf[32];
  if (per_minute >= 10)
    std::snprintf(buf, sizeof buf, "+%s/min", count_string(static_cast<std::size_t>(per_minute + 0.5)).c_str());
  else
    std::snprintf(buf, sizeof buf, "+%.1f/min", per_minute);
  return buf;
}

std::string span_string(std::chrono::milliseconds span) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(span).count();
  if (s >= 120) return std::to_string((s + 30) / 60) + " min";
  if (s >= 1) return std::to_string(s) + " s";
  return std::to_string(span.count()) + " ms";
}

// Whether `counts` (a site's values over the window, oldest first) keep climbing: they
// rose by at least min_rise, end at their highest, fell in at most a tenth of the
// steps, and each third of the window averages more than the one before. (A pool of
// workers goes up and down; one starting up goes up once and stays flat; a leak keeps
// going up.)
bool keeps_rising(const std::vector<std::size_t>& counts, std::size_t min_rise, std::size_t min_samples) {
  if (counts.size() < std::max<std::size_t>(min_samples, 2)) return false;
  const std::size_t first = counts.front(), last = counts.back();
  if (last < first + min_rise) return false;
  if (*std::max_element(counts.begin(), counts.end()) != last) return false;
  std::size_t falls = 0;
  for (std::size_t i = 1; i < counts.size(); ++i) falls += counts[i] < counts[i - 1];
  if (falls * 10 > counts.size() - 1) return false;
  double previous_mean = -1;
  for (int third = 0; third < 3; ++third) {
    const std::size_t begin = counts.size() * third / 3, end = counts.size() * (third + 1) / 3;
    double sum = 0;
    for (std::size_t i = begin; i < end; ++i) sum += static_cast<double>(counts[i]);
    const double mean = sum / static_cast<double>(std::max<std::size_t>(end - begin, 1));
    if (mean <= previous_mean) return false;
    previous_mean = mean;
  }
  return true;
}

// `value(sample)` over the samples of the window ending at the newest, oldest first;
// sets *first_at to the oldest one's time. Called with mu held; history is non-empty.
template <class Value>
std::vector<std::size_t> window_values(const Sampler& s, Value value,
                                       std::chrono::steady_clock::time_point* first_at) {
  const TrendSample& newest = s.history.back();
  std::vector<std::size_t> values;
  *first_at = newest.steady_at;
  for (auto it = s.history.rbegin(); it != s.history.rend(); ++it) {
    if (newest.steady_at - it->steady_at > detail::saturating_ns(s.opts.window)) break;
    values.push_back(value(*it));
    *first_at = it->steady_at;
  }
  std::reverse(values.begin(), values.end());
  return values;
}

// The site's blocked counts over the window (absent: 0) — rising?
std::optional<PossibleLeak> check_site(const Sampler& s, const TrendSite& site) {
  const TrendSample& newest = s.history.back();
  const SiteKey key = key_of(site.reason, site.site);
  std::chrono::steady_clock::time_point first_at;
  const std::vector<std::size_t> counts = window_values(
      s,
      [&](const TrendSample& sample) {
        for (const TrendSite& other : sample.sites)
          if (key_of(other.reason, other.site) == key) return other.blocked;
        return std::size_t{0};
      },
      &first_at);
  if (!keeps_rising(counts, s.opts.min_rise, s.opts.min_samples)) return std::nullopt;

  const std::size_t first = counts.front(), last = counts.back();
  PossibleLeak leak;
  leak.reason = site.reason;
  leak.site = site.site;
  leak.blocked = last;
  leak.over = std::chrono::duration_cast<std::chrono::milliseconds>(newest.steady_at - first_at);
  const double minutes = std::max(leak.over.count(), std::int64_t{1}) / 60000.0;
  leak.per_minute = static_cast<double>(last - first) / minutes;
  leak.message = "possible leak: " + count_string(last) + (last == 1 ? " task [" : " tasks [") +
                 std::string(to_string(site.reason)) + "] at " + short_site(site.site) + ", " +
                 rate_string(leak.per_minute) + " over " + span_string(leak.over);
  return leak;
}

// A memory site across samples: its kind (as the reason slot: kinds and reasons are
// kept in separate maps) and its line.
SiteKey memory_key_of(const MemorySite& m) {
  return {static_cast<WaitReason>(m.kind), m.site.file_name(), m.site.line(), 0};
}

// "301 MiB", "12.5 KiB", "512 B".
std::string bytes_string(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, bytes >= 100 || unit == 0 ? "%.0f %s" : "%.1f %s", bytes, kUnits[unit]);
  return buf;
}

// The memory site's bytes over the window (absent: 0) — rising?
std::optional<PossibleLeak> check_memory_site(const Sampler& s, const MemorySite& site) {
  const TrendSample& newest = s.history.back();
  const SiteKey key = memory_key_of(site);
  std::chrono::steady_clock::time_point first_at;
  const std::vector<std::size_t> bytes = window_values(
      s,
      [&](const TrendSample& sample) {
        for (const MemorySite& other : sample.memory)
          if (memory_key_of(other) == key) return other.bytes;
        return std::size_t{0};
      },
      &first_at);
  if (!keeps_rising(bytes, s.opts.min_memory_rise, s.opts.min_samples)) return std::nullopt;

  PossibleLeak leak;
  leak.site = site.site;
  leak.memory_kind = site.kind;
  leak.bytes = bytes.back();
  leak.blocked = site.objects;
  leak.over = std::chrono::duration_cast<std::chrono::milliseconds>(newest.steady_at - first_at);
  const double minutes = std::max(leak.over.count(), std::int64_t{1}) / 60000.0;
  leak.per_minute = static_cast<double>(bytes.back() - bytes.front()) / minutes;
  const char* noun = site.kind == MemoryKind::channel ? " channel" : " task";
  leak.message = "possible leak: " + bytes_string(static_cast<double>(leak.bytes)) + " of " +
                 std::string(to_string(site.kind)) + " at " + short_site(site.site) + " (" +
                 count_string(site.objects) + noun + (site.objects == 1 ? "" : "s") + "), +" +
                 bytes_string(leak.per_minute) + "/min over " + span_string(leak.over);
  return leak;
}

// Appends `sample`, trims the ring, flags new rising sites; returns those to log.
std::vector<std::string> record(Sampler& s, TrendSample sample) {
  std::vector<std::string> to_log;
  s.history.push_back(std::move(sample));
  while (s.history.size() > std::max<std::size_t>(s.opts.capacity, 1)) s.history.pop_front();
  for (const TrendSite& site : s.history.back().sites) {
    const SiteKey key = key_of(site.reason, site.site);
    if (s.flagged_keys.count(key)) continue;
    if (auto leak = check_site(s, site)) {
      s.flagged_keys.emplace(key, true);
      to_log.push_back(leak->message);
      s.flagged.push_back(std::move(*leak));
    }
  }
  for (const MemorySite& site : s.history.back().memory) {
    const SiteKey key = memory_key_of(site);
    if (s.flagged_memory_keys.count(key)) continue;
    if (auto leak = check_memory_site(s, site)) {
      s.flagged_memory_keys.emplace(key, true);
      to_log.push_back(leak->message);
      s.flagged.push_back(std::move(*leak));
    }
  }
  return to_log;
}

TrendSample sample_and_record(Sampler& s) {
  std::size_t max_sites;
  {
    std::lock_guard guard(s.mu);
    max_sites = s.opts.max_sites;
  }
  TrendSample sample = take_sample(max_sites);
  std::vector<std::string> to_log;
  {
    std::lock_guard guard(s.mu);
    to_log = record(s, sample);
  }
  for (const std::string& line : to_log) detail::logger().warn("{}", line);
  return sample;
}

void sampler_main() {
  const NeverWakesTasks only_reads_tasks;
  Sampler& s = sampler();
  std::unique_lock lock(s.mu);
  while (!s.stop_requested) {
    lock.unlock();
    sample_and_record(s);
    lock.lock();
    // wait_until a saturated time point: wait_for(period) would overflow for a huge period.
    s.wake.wait_until(lock, detail::steady_after(s.opts.period), [&] { return s.stop_requested; });
  }
}

void stop_thread(Sampler& s) {
  std::thread finished;
  {
    std::lock_guard guard(s.mu);
    if (!s.running) return;
    s.stop_requested = true;
    s.running = false;
    finished = std::move(s.thread);
  }
  s.wake.notify_all();
  if (finished.joinable()) finished.join();
  std::lock_guard guard(s.mu);
  s.stop_requested = false;
}

}  // namespace

void start_trend(const TrendOptions& opts) {
  Sampler& s = sampler();
  stop_thread(s);
  std::lock_guard guard(s.mu);
  s.opts = opts;
  while (s.history.size() > std::max<std::size_t>(s.opts.capacity, 1)) s.history.pop_front();
  if (opts.period.count() <= 0) return;
  if (!s.exit_hook_installed) {
    s.exit_hook_installed = true;
    std::atexit([] { stop_thread(sampler()); });
  }
  s.running = true;
  s.thread = std::thread([note = detail::note_thread_created("goro trend sampler")] { sampler_main(); });
}

void stop_trend() { stop_thread(sampler()); }

TrendSample sample_trend() { return sample_and_record(sampler()); }

std::vector<TrendSample> trend() {
  Sampler& s = sampler();
  std::lock_guard guard(s.mu);
  return {s.history.begin(), s.history.end()};
}

std::vector<PossibleLeak> possible_leaks() {
  Sampler& s = sampler();
  std::lock_guard guard(s.mu);
  return s.flagged;
}

void reset_trend() {
  Sampler& s = sampler();
  std::lock_guard guard(s.mu);
  s.history.clear();
  s.flagged.clear();
  s.flagged_keys.clear();
  s.flagged_memory_keys.clear();
  internal::invalidate_leak_count();
}

}  // namespace goro::diag

namespace goro::diag::internal {

void start_trend_sampler(std::chrono::milliseconds period) {
  Sampler& s = sampler();
  {
    std::lock_guard guard(s.mu);
    if (s.running) return;  // started already (by start_trend or another runtime)
  }
  TrendOptions opts;
  opts.period = period;
  start_trend(opts);
}

}  // namespace goro::diag::internal
