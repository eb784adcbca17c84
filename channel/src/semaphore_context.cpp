// channel/src/semaphore_context.cpp — Semaphore::acquire(ctx, n): Go's Acquire(ctx, n).
// Lives with the channels because it waits in a select on ctx.done() and on a one-slot
// channel of its own that the semaphore fills when it grants the request; the rest of
// goro::Semaphore (runtime/src/semaphore.cpp) knows nothing of channels.
//
// Races (all settled under the semaphore's lock_): a grant queues a value on `granted`
// and unlinks the waiter under lock_, so after select returns the acquirer takes lock_
// and reads `queued`: still queued means not granted (it leaves the queue); unlinked
// means granted, and a cancelled acquirer gives the units back, as Go does.
#include <mutex>
#include <optional>
#include <variant>

#include "goro/context.hpp"
#include "goro/select.hpp"
#include "goro/semaphore.hpp"

namespace goro {

bool Semaphore::acquire(const Context& ctx, std::int64_t n, std::source_location where) {
  check_request(n, where);
  if (ctx.cancelled()) return false;  // Go: a done context wins over free units
  lock_.lock();
  if (size_ - held_ >= n && waiters_.empty()) {
    held_ += n;
    lock_.unlock();
    return true;
  }
  Channel<std::monostate> granted(1);
  Request request{n, [](void* ch) { (void)static_cast<Channel<std::monostate>*>(ch)->try_send({}); },
                  &granted};
  detail::Waiter self;
  self.elem = &request;
  waiters_.push_back(&self);
  lock_.unlock();

  // Leaves the queue, or gives back what was granted meanwhile; true if it was granted.
  auto give_up = [&]() noexcept {
    detail::WaitQueue to_wake;
    {
      std::lock_guard guard(lock_);
      if (self.queued) {
        waiters_.remove(&self);
      } else {
        held_ -= n;
      }
      grant_locked(to_wake);  // we may have held back the waiters behind us
    }
    while (detail::Waiter* w = to_wake.pop_front()) detail::wake(*w);
  };
  std::size_t fired;
  try {
    std::optional<std::monostate> got, cancelled;
    fired = select<detail::RecvCase<std::monostate>, detail::RecvCase<std::monostate>>(
        recv_case(granted, got), recv_case(ctx.done(), cancelled), where);
  } catch (...) {  // goro::Deadlock on a plain thread, or run() unwinding the task
    give_up();
    throw;
  }
  if (fired == 0) return true;
  give_up();
  return false;
}

}  // namespace goro
