// diag/src/contention_profiles.cpp — the block and mutex profiles (goro/profile.hpp):
// what the runtime reports of blocked and contended waits, totalled by site.
//
// Block profile recording: the runtime times a park only while the rate is non-zero
// and calls record_block_event (installed as its sink, see goro/internal/inspect.hpp) on
// the resumed task's stack. Mutex profile: goro::Mutex and goro::RWMutex report sampled
// contentions through record_mutex_event (installed as the mutex-profile sink).
//
// Lock discipline: each ContentionTable (g_block_events, g_mutex_events) guards its
// totals with its own mutex, held only for one table update or one copy of the table,
// never while parking, and never two at once. A sink is installed before its rate turns
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
using pprof::Frame;
using pprof::Labels;
using pprof::Profile;
using pprof::Sample;
using pprof::site_frame;

// Totals by key behind the table's own lock. Created with new and never destroyed: a
// park may report an event while static destructors run.
template <class Key, class Totals>
class ContentionTable {
 public:
  template <class Add>
  void add(const Key& key, Add&& add_to) {
    std::lock_guard guard(lock_);
    add_to(totals_[key]);
  }
  std::map<Key, Totals> copy() const {
    std::lock_guard guard(lock_);
    return totals_;
  }
  void clear() {
    std::lock_guard guard(lock_);
    totals_.clear();
  }

 private:
  mutable std::mutex lock_;
  std::map<Key, Totals> totals_;  // guarded by lock_
};

// A contentions total as the profile's integer: the block profile's fractional sums are
// rounded to the nearest.
std::int64_t whole_contentions(double contentions) { return static_cast<std::int64_t>(contentions + 0.5); }
std::int64_t whole_contentions(std::int64_t contentions) { return contentions; }

// The block and mutex profiles' shape: contentions and delay per stack, the longest
// total delay first (as Go sorts by cycles). `sample` gives a key's stack and labels.
template <class Key, class Totals, class StackAndLabels>
Profile contention_profile(const ContentionTable<Key, Totals>& table, StackAndLabels sample) {
  Profile p;
  p.sample_types = {{"contentions", "count"}, {"delay", "nanoseconds"}};
  p.period_type = {"contentions", "count"};
  for (const auto& [key, totals] : table.copy()) {
    Sample s;
    sample(key, &s.stack, &s.labels);
    s.values = {whole_contentions(totals.contentions), totals.delay_ns};
    p.samples.push_back(std::move(s));
  }
  pprof::sort_by_value(p, 1);
  return p;
}

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

auto* const g_block_events = new ContentionTable<BlockKey, BlockTotals>();

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
  g_block_events->add({site.reason, site.where, task.spawn_site}, [&](BlockTotals& totals) {
    totals.contentions += count;
    totals.delay_ns += delay;
  });
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

auto* const g_mutex_events = new ContentionTable<MutexKey, MutexTotals>();

// Go's saveblockevent for the mutex profile: a sampled event stands for `rate` of them.
void record_mutex_event(const detail::MutexContention& event) {
  g_mutex_events->add({event.operation, event.site, event.spawn_site, event.in_task}, [&](MutexTotals& totals) {
    totals.contentions += event.rate;
    totals.delay_ns += std::int64_t{event.rate} * event.delay_ns;
  });
}

}  // namespace

namespace pprof {

Profile block_profile() {
  return contention_profile(*g_block_events, [](const BlockKey& key, std::vector<Frame>* stack, Labels* labels) {
    *stack = {site_frame(key.wait_site), created_by_frame(key.spawn_site)};
    *labels = {{"reason", std::string(to_string(key.reason))}};
  });
}

Profile mutex_profile() {
  return contention_profile(*g_mutex_events, [](const MutexKey& key, std::vector<Frame>* stack, Labels* labels) {
    *stack = {site_frame(key.site)};
    if (key.in_task) stack->push_back(created_by_frame(key.spawn_site));
    *labels = {{"operation", std::string(key.operation)}};
  });
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

void reset_block_profile() { g_block_events->clear(); }

int set_mutex_profile_fraction(int rate) {
  return detail::set_mutex_profile_rate(rate, &record_mutex_event);
}

void reset_mutex_profile() { g_mutex_events->clear(); }

}  // namespace goro::diag
