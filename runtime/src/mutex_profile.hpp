// runtime/src/mutex_profile.hpp — what goro::Mutex and goro::RWMutex hand to diag's
// mutex profile (Go's runtime.SetMutexProfileFraction) without knowing about it.
//
// As with block events (profiling_hooks.hpp), the runtime never calls diag: diag
// installs a sink and sets the rate (goro::diag::set_mutex_profile_fraction), and the
// sync primitives report contention through report_mutex_contention().
//
//   // Mutex::unlock, handing the mutex to a waiter (contended path only):
//   if (const int rate = mutex_profile_rate(); rate > 0) [[unlikely]]
//     report_mutex_contention("goro::Mutex::unlock", where, delay_ns, rate);
//
// Invariants:
// - Off (rate 0, the default) costs one relaxed load, on contended paths only: the
//   uncontended lock and unlock never look at the rate.
// - Sampling is Go's (runtime/mprof.go, mutexevent): each contention is kept with
//   probability 1/rate and then weighted by rate, so totals stay unbiased.
// - The sink is set before the rate becomes non-zero and never reset to null, so a
//   reporter that saw a non-zero rate finds a sink.
// - mutex_profile_on_since_ns() is when the rate last went from 0 to non-zero: a
//   contention is never charged for time before it (waits stamped in an earlier
//   profiling period would otherwise be charged in full).
#pragma once

#include <atomic>
#include <cstdint>
#include <source_location>

namespace goro::detail {

struct MutexContention {
  const char* operation;            // "goro::Mutex::unlock", "goro::RWMutex::lock", ...
  std::source_location site;        // the call the delay is charged to
  std::source_location spawn_site;  // the task making that call (valid when in_task)
  bool in_task = false;             // false: a plain thread
  std::int64_t delay_ns = 0;        // the waiters' delay this contention stands for
  int rate = 1;                     // the rate it was sampled at (its weight)
};
using MutexEventSink = void (*)(const MutexContention&);

extern std::atomic<int> g_mutex_profile_rate;
extern std::atomic<std::int64_t> g_mutex_profile_on_since_ns;
extern std::atomic<MutexEventSink> g_mutex_event_sink;

inline int mutex_profile_rate() noexcept {
  return g_mutex_profile_rate.load(std::memory_order_relaxed);
}

// Installs `sink` (first) and sets the rate; returns the old rate. A negative rate only
// reads it (as Go's SetMutexProfileFraction(-1)).
int set_mutex_profile_rate(int rate, MutexEventSink sink) noexcept;

// Samples one contention (probability 1/rate) and hands it to the sink, with the
// calling task's spawn site. Call only with the rate just read as non-zero.
void report_mutex_contention(const char* operation, const std::source_location& site,
                             std::int64_t delay_ns, int rate) noexcept;

// For primitives charged at the waiting call (RWMutex): now_ns() while the profile is
// on, else 0 — the start of a wait to be timed; then, once the wait ended, report the
// wait begun at `wait_start_ns` (nothing when it is 0 or the profile went off).
std::int64_t now_ns() noexcept;  // task.hpp
inline std::int64_t mutex_wait_start_ns() noexcept {
  return mutex_profile_rate() > 0 ? now_ns() : 0;
}
void report_mutex_wait(const char* operation, const std::source_location& site,
                       std::int64_t wait_start_ns) noexcept;

}  // namespace goro::detail
