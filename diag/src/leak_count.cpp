// diag/src/leak_count.cpp — see leak_count.hpp.
#include "leak_count.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

#include "goro/diag.hpp"

namespace goro::diag::internal {

namespace {

using Clock = std::chrono::steady_clock;

struct LeakCountState {
  std::mutex lock;          // guards last, next_due, valid, min_interval
  std::mutex analysing;     // held while an analysis runs: one at a time
  LeakCount last;
  Clock::time_point next_due{};
  bool valid = false;
  Clock::duration min_interval{0};
  std::atomic<std::uint64_t> analyses{0};
};

LeakCountState& state() {
  static auto* s = new LeakCountState;  // never destroyed: the trend thread may outlive statics
  return *s;
}

}  // namespace

LeakCount bounded_leak_count(bool any_waiting) {
  LeakCountState& s = state();
  const Clock::time_point now = Clock::now();
  if (!any_waiting) {
    std::lock_guard guard(s.lock);
    s.last = {0, now};
    s.valid = true;
    s.next_due = {};  // a task that parks next is analysed at the next look
    return s.last;
  }
  {
    std::lock_guard guard(s.lock);
    if (s.valid && now < s.next_due) return s.last;
  }
  std::unique_lock analysing(s.analysing, std::try_to_lock);
  if (!analysing.owns_lock()) {
    {
      std::lock_guard guard(s.lock);
      if (s.valid) return s.last;  // another reader is analysing: the previous count
    }
    analysing.lock();  // no count yet: wait for that one
    std::lock_guard guard(s.lock);
    if (s.valid) return s.last;
  }
  const Clock::time_point began = Clock::now();
  const std::size_t leaked = leaked_tasks().size();
  const Clock::duration took = Clock::now() - began;
  s.analyses.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard guard(s.lock);
  s.last = {leaked, began};
  s.next_due = began + std::max(20 * took, s.min_interval);
  s.valid = true;
  return s.last;
}

void invalidate_leak_count() noexcept {
  LeakCountState& s = state();
  std::lock_guard guard(s.lock);
  s.valid = false;
  s.next_due = {};
}

void set_leak_count_min_interval(std::chrono::steady_clock::duration interval) noexcept {
  LeakCountState& s = state();
  std::lock_guard guard(s.lock);
  s.min_interval = interval;
}

std::uint64_t leak_count_analyses() noexcept {
  return state().analyses.load(std::memory_order_relaxed);
}

}  // namespace goro::diag::internal
