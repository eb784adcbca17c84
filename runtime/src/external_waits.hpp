// runtime/src/external_waits.hpp — how many waits something outside the runtime's tasks
// can still end: tasks parked on I/O readiness (the poller), calls running on the
// blocking pool (goro::blocking), and any other wait whose waker is not a goro task.
//
//   ExternalWait in_flight;        // +1 now, -1 when it goes out of scope
//   ... park until the fd is ready ...
//
// The deadlock detector reads external_waits_in_flight(): while it is non-zero, a
// runtime whose tasks are all asleep is not deadlocked, because the OS (or a pool
// thread) can still wake one of them. Process-wide, not per runtime: the detector's
// verdict must not depend on which runtime a wait belongs to.
#pragma once

#include <atomic>
#include <cstdint>

namespace goro::detail {

inline std::atomic<std::int64_t> g_external_waits{0};

inline std::int64_t external_waits_in_flight() noexcept {
  return g_external_waits.load(std::memory_order_acquire);
}

class ExternalWait {
 public:
  ExternalWait() noexcept { g_external_waits.fetch_add(1, std::memory_order_acq_rel); }
  ~ExternalWait() { g_external_waits.fetch_sub(1, std::memory_order_acq_rel); }
  ExternalWait(const ExternalWait&) = delete;
  ExternalWait& operator=(const ExternalWait&) = delete;
};

}  // namespace goro::detail
