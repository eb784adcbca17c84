// diag/src/contention_profiles.cpp — the block and mutex profiles (goro/profile.hpp):
// what the runtime reports of blocked and contended waits, totalled by site.
//
// Block profile recording: the runtime times a park only while the rate is non-zero
// and calls record_block_event (installed as its sink, see goro/internal/inspect.hpp) on
// the resumed task's stack. Mutex profile: goro::Mutex and goro::RWMutex report sampled
// contentions through record_mutex_event (installed as the mutex-profile sink).
//
// Lock discipline: g_block_lock guards g_block_events, g_mutex_lock guards
// g_mutex_events; each is held only for one table update or one copy of the table, never
// while parking, and never both at once. A sink is installed before its rate turns
// non-zero and never reset, so a park that sees the rate finds the sink.
#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <tuple>

#include "goro/internal/inspect.hpp"
#include "goro/profile.hpp"
#include "pprof.hpp"

namespace goro::diag {

namespace {

using pprof::created_by_frame;
using pprof::Profile;
using pprof::Sample;
using pprof::site_frame;
using pprof::sort_by_value;

// ------------------------------------------------------------------ block profile

struct BlockKey {
  WaitReason reason;
  std::source_location wait_site, spawn_site;
  // source_location's strings have static storage: their addresses identify them.
  auto tie() const {
    return std::make_tuple(reason, wait_site.file_name(), wait_site.function_name(),
                           wait_site.line(), spawn_site.file_name(),
                           spawn_site.function_name(), spawn_site.line());
  }
  bool operator<(const BlockKey& o) const { return tie() < o.tie(); }
};

struct BlockTotals {
  double contentions = 0;  // fractional: a sampled short wait counts rate / d
  std::int64_t delay_ns = 0;
};

std::mutex g_block_lock;
std::map<BlockKey, BlockTotals>* g_block_events = new std::map<BlockKey, BlockTotals>();  // guarded by g_block_lock

// Go's blocksampled + saveblockevent (runtime/mprof.go): waits of at least `rate` are
// always kept; a shorter one with probability d / rate, then weighted rate / d so the
// expected totals are the true ones.
void record_block_event(const detail::WaitSite& site, const detail::TaskRecord& task,
                        std::int64_t blocked_ns, std::int64_t rate_ns) {
  if (site.reason == WaitReason::sleep || site.reason == WaitReason::none) return;
  const std::int64_t d = std::max<std::int64_t>(blocked_ns, 1);
  double count = 1;
  std::int64_t delay = d;
  if (d < rate_ns) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    if (static_cast<std::int64_t>(std::uniform_int_distribution<std::int64_t>(0, rate_ns - 1)(rng)) > d)
      return;
    count = static_cast<double>(rate_ns) / static_cast<double>(d);
    delay = rate_ns;
  }
  BlockKey key{site.reason, site.where, task.spawn_site};
  std::lock_guard guard(g_block_lock);
  BlockTotals& totals = (*g_block_events)[key];
  totals.contentions += count;
  totals.delay_ns += delay;
}


// ------------------------------------------------------------------ mutex profile

struct MutexKey {
  std::string_view operation;  // a static string: "goro::Mutex::unlock", ...
  std::source_location site, spawn_site;
  bool in_task;
  auto tie() const {
    return std::make_tuple(operation, site.file_name(), site.function_name(), site.line(),
                           in_task, in_task ? spawn_site.file_name() : "",
                           in_task ? spawn_site.function_name() : "", in_task ? spawn_site.line() : 0u);
  }
  bool operator<(const MutexKey& o) const { return tie() < o.tie(); }
};

struct MutexTotals {
  std::int64_t contentions = 0;
  std::int64_t delay_ns = 0;
};

std::mutex g_mutex_lock;
std::map<MutexKey, MutexTotals>* g_mutex_events = new std::map<MutexKey, MutexTotals>();  // guarded by g_mutex_lock

// Go's saveblockevent for the mutex profile: a sampled event stands for `rate` of them.
void record_mutex_event(const detail::MutexContention& event) {
  const MutexKey key{event.operation, event.site, event.spawn_site, event.in_task};
  std::lock_guard guard(g_mutex_lock);
  MutexTotals& totals = (*g_mutex_events)[key];
  totals.contentions += event.rate;
  totals.delay_ns += std::int64_t{event.rate} * event.delay_ns;
}


}  // namespace

namespace pprof {

Profile block_profile() {
  std::map<BlockKey, BlockTotals> events;
  {
    std::lock_guard guard(g_block_lock);
    events = *g_block_events;
  }
  Profile p;
  p.sample_types = {{"contentions", "count"}, {"delay", "nanoseconds"}};
  p.period_type = {"contentions", "count"};
  for (const auto& [key, totals] : events) {
    Sample s;
    s.stack = {site_frame(key.wait_site), created_by_frame(key.spawn_site)};
    s.labels = {{"reason", std::string(to_string(key.reason))}};
    s.values = {static_cast<std::int64_t>(totals.contentions + 0.5), totals.delay_ns};
    p.samples.push_back(std::move(s));
  }
  // Longest total delay first, as Go sorts by cycles.
  sort_by_value(p, 1);
  return p;
}

Profile mutex_profile() {
  std::map<MutexKey, MutexTotals> events;
  {
    std::lock_guard guard(g_mutex_lock);
    events = *g_mutex_events;
  }
  Profile p;
  p.sample_types = {{"contentions", "count"}, {"delay", "nanoseconds"}};
  p.period_type = {"contentions", "count"};
  for (const auto& [key, totals] : events) {
    Sample s;
    s.stack = {site_frame(key.site)};
    if (key.in_task) s.stack.push_back(created_by_frame(key.spawn_site));
    s.labels = {{"operation", std::string(key.operation)}};
    s.values = {totals.contentions, totals.delay_ns};
    p.samples.push_back(std::move(s));
  }
  sort_by_value(p, 1);
  return p;
}

}  // namespace pprof

void set_block_profile_rate(std::int64_t rate_ns) {
  if (rate_ns < 0) rate_ns = 0;
  static std::mutex setting;  // keeps the rate and its park_hooks lane in step
  const std::lock_guard guard(setting);
  // The sink first: a park that sees the rate must find it (profiling_hooks.hpp).
  detail::g_block_event_sink.store(&record_block_event, std::memory_order_release);
  detail::g_block_profile_rate_ns.store(rate_ns, std::memory_order_release);
  if (rate_ns != 0)
    detail::g_park_hooks.fetch_or(detail::kParkHookBlockProfile);
  else
    detail::g_park_hooks.fetch_and(~detail::kParkHookBlockProfile);
}

std::int64_t block_profile_rate() {
  return detail::g_block_profile_rate_ns.load(std::memory_order_acquire);
}

void reset_block_profile() {
  std::lock_guard guard(g_block_lock);
  g_block_events->clear();
}
int set_mutex_profile_fraction(int rate) {
  return detail::set_mutex_profile_rate(rate, &record_mutex_event);
}

void reset_mutex_profile() {
  std::lock_guard guard(g_mutex_lock);
  g_mutex_events->clear();
}

}  // namespace goro::diag
