// runtime/src/mutex_profile.cpp — the runtime's side of the mutex profile (see
// mutex_profile.hpp): the rate, the sink, and sampling.
#include "mutex_profile.hpp"

#include <algorithm>
#include <mutex>

#include "goro/detail/park.hpp"
#include "scheduler.hpp"
#include "task.hpp"

namespace goro::detail {

std::atomic<int> g_mutex_profile_rate{0};
std::atomic<std::int64_t> g_mutex_profile_on_since_ns{0};
std::atomic<MutexEventSink> g_mutex_event_sink{nullptr};

int set_mutex_profile_rate(int rate, MutexEventSink sink) noexcept {
  static std::mutex setting;  // keeps the rate and its start time in step
  const std::lock_guard guard(setting);
  const int old = g_mutex_profile_rate.load(std::memory_order_relaxed);
  if (rate < 0) return old;
  if (sink != nullptr) g_mutex_event_sink.store(sink, std::memory_order_release);
  if (old == 0 && rate != 0) g_mutex_profile_on_since_ns.store(now_ns(), std::memory_order_relaxed);
  g_mutex_profile_rate.store(rate, std::memory_order_release);
  return old;
}

void report_mutex_contention(const char* operation, const std::source_location& site,
                             std::int64_t delay_ns, int rate) noexcept {
  if (rate > 1 && fast_random() % static_cast<std::uint32_t>(rate) != 0) return;
  const MutexEventSink sink = g_mutex_event_sink.load(std::memory_order_acquire);
  if (sink == nullptr) return;
  MutexContention event{operation, site, {}, false, delay_ns < 0 ? 0 : delay_ns, rate};
  if (const TaskRecord* task = current_task_record()) {
    event.spawn_site = task->spawn_site;
    event.in_task = true;
  }
  sink(event);
}

void report_mutex_wait(const char* operation, const std::source_location& site,
                       std::int64_t wait_start_ns) noexcept {
  if (wait_start_ns == 0) return;
  const int rate = mutex_profile_rate();
  if (rate <= 0) return;
  const std::int64_t since =
      std::max(wait_start_ns, g_mutex_profile_on_since_ns.load(std::memory_order_relaxed));
  report_mutex_contention(operation, site, now_ns() - since, rate);
}

}  // namespace goro::detail
