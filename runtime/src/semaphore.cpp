// runtime/src/semaphore.cpp — goro::Semaphore: Go's x/sync/semaphore.Weighted over the
// runtime's park interface. The invariants and lock discipline are in goro/semaphore.hpp;
// parking follows goro/detail/park.hpp (queued under lock_, lock_ released by park()
// once the sleeper is switched out, woken after lock_ is dropped by whoever unlinked it).
#include "goro/semaphore.hpp"

#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>

#include "goro/detail/schedule_point.hpp"
#include "goro/runtime.hpp"
#include "goro/detail/park_on.hpp"

namespace goro {

namespace {

std::string site_text(const std::source_location& where) {
  return std::string(where.file_name()) + ":" + std::to_string(where.line());
}

void wake_all(detail::WaitQueue& to_wake) noexcept {
  while (detail::Waiter* w = to_wake.pop_front()) detail::wake(*w);
}

}  // namespace

Semaphore::Semaphore(std::int64_t n) : size_(n) {
  if (n < 0)
    throw std::invalid_argument("goro::Semaphore: negative size " + std::to_string(n) +
                                "; give the number of units the semaphore shares (>= 0)");
}

Semaphore::Semaphore(NoneFree) noexcept
    : size_(std::numeric_limits<std::int64_t>::max()), held_(size_) {}

std::int64_t Semaphore::held() const noexcept {
  std::lock_guard guard(lock_);
  return held_;
}

void Semaphore::grant_locked(detail::WaitQueue& to_wake) noexcept {
  // Strict FIFO (Go's notifyWaiters): a head that does not fit holds back the rest, so
  // a stream of small requests cannot starve a large one.
  while (detail::Waiter* w = waiters_.pop_front()) {
    const Request& request = *static_cast<const Request*>(w->elem);
    if (size_ - held_ < request.n) {
      waiters_.push_front(w);
      break;
    }
    held_ += request.n;
    if (request.notify != nullptr)
      request.notify(request.notify_arg);
    else
      to_wake.push_back(w);
  }
}

void Semaphore::check_request(std::int64_t n, const std::source_location& where) const {
  if (n < 0 || n > size_)
    throw std::invalid_argument(
        "goro::Semaphore::acquire(" + std::to_string(n) + ") at " + site_text(where) + ": " +
        (n < 0 ? std::string("negative request")
               : "more than the semaphore's size (" + std::to_string(size_) +
                     "), so it could never be served") +
        "; request between 0 and size() units");
}

void Semaphore::acquire(std::int64_t n, std::source_location where) {
  detail::schedule_point();
  check_request(n, where);
  acquire(n, detail::WaitSite{diag::WaitReason::semaphore, where, this});
}

void Semaphore::acquire(std::int64_t n, const detail::WaitSite& site) {
  lock_.lock();
  if (size_ - held_ >= n && waiters_.empty()) {
    held_ += n;
    lock_.unlock();
    return;
  }
  Request request{n};  // read by the waker under lock_ while we are queued
  detail::Waiter self;
  detail::init_waiter(self);
  self.elem = &request;
  waiters_.push_back(&self);
  // Woken only by a waker that unlinked us and added our request to held_.
  bool granted = false;  // by a waker, before we left the queue
  try {
    detail::park_or_leave(site, detail::unlock_futex_lock, &lock_,
                          [&] { return granted = abandon(self); });
  } catch (...) {  // detail::TaskUnwind, or given up: give back what a waker granted
    if (granted) release(n);
    throw;
  }
}

bool Semaphore::abandon(detail::Waiter& self) noexcept {
  detail::WaitQueue to_wake;
  bool granted;
  {
    std::lock_guard guard(lock_);
    granted = !self.queued;
    if (!granted) {
      waiters_.remove(&self);
      // We may have been the head that held back smaller requests behind us.
      grant_locked(to_wake);
    }
  }
  wake_all(to_wake);
  return granted;
}

bool Semaphore::try_acquire(std::int64_t n) {
  if (n < 0)
    throw std::invalid_argument("goro::Semaphore::try_acquire(" + std::to_string(n) +
                                "): negative request; request between 0 and size() units");
  std::lock_guard guard(lock_);
  if (size_ - held_ < n || !waiters_.empty()) return false;
  held_ += n;
  return true;
}

void Semaphore::release(std::int64_t n) {
  detail::schedule_point();
  if (n < 0)
    throw std::invalid_argument("goro::Semaphore::release(" + std::to_string(n) +
                                "): negative count; release the units you acquired");
  detail::WaitQueue to_wake;
  {
    std::lock_guard guard(lock_);
    if (n > held_)
      throw std::logic_error("goro::Semaphore::release(" + std::to_string(n) + "): only " +
                             std::to_string(held_) +
                             " units are held; release exactly what acquire/try_acquire took");
    held_ -= n;
    grant_locked(to_wake);
  }
  wake_all(to_wake);
}

}  // namespace goro
