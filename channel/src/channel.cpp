// channel/src/channel.cpp — the non-template parts of channels: errors, parking, after().
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>

#include "goro/channel.hpp"
#include "goro/detail/park_on.hpp"
#include "goro/detail/timer.hpp"
#include "goro/time.hpp"

namespace goro::detail {

namespace {
std::string site(const std::source_location& where) {
  return std::string(where.file_name()) + ":" + std::to_string(where.line()) + " in " +
         where.function_name();
}
}  // namespace

void throw_channel_capacity_out_of_range(std::size_t capacity, std::size_t elem_size,
                                         const std::source_location& where) {
  throw std::length_error("goro: Channel capacity " + std::to_string(capacity) + " at " +
                          site(where) + " is out of range (makechan: size out of range): " +
                          std::to_string(capacity) + " elements of " + std::to_string(elem_size) +
                          " bytes exceed the 1 TiB limit of a channel buffer; use at most " +
                          std::to_string(kMaxChannelBufferBytes / elem_size) + " elements");
}

void throw_send_on_closed(const std::source_location& where, const SendOnClosedInSelect* select) {
  std::string message = "goro: send on closed channel";
  if (select) message += " in the select";
  message += " at " + site(where);
  if (select) {
    message += " (case " + std::to_string(select->case_index);
    if (select->closed_while_waiting) message += ", closed while the select waited";
    message += ")";
  }
  throw ChannelClosed(message +
                      " (close a channel only from the sending side, once every sender is done)");
}

void throw_close_of_closed(const std::source_location& where) {
  throw ChannelClosed("goro: close of closed channel at " + site(where) +
                      " (a channel must be closed exactly once, by its last sender)");
}

GORO_HOT_PATH void park_on_channel(ChanBase* c, WaitQueue& q, Waiter& w, const WaitSite& site) {
  park_queued(c->lock, q, w, site);
}

}  // namespace goro::detail

namespace goro::detail {

namespace {

using TimePoint = std::chrono::steady_clock::time_point;

// after()'s channel. Its pending timer holds no handle, so the channel goes away with the
// last handle and takes the timer with it: a loop of select over after(1h) keeps no timers
// pending. The timer refers to the state weakly:
// - refs counts handles only. The timer's fire turns its reference into a handle-like one
//   (refs n > 0 -> n + 1, as weak_ptr::lock) for the time of the send; refs == 0 means the
//   channel is being destroyed and the timer has nothing to deliver.
// - The memory has two owners, `owners` = 2: the handles' side (until refs reaches 0 and
//   destroy has cancelled the timer) and the timer's side (until fire or drop returns).
//   Whichever finishes last frees it, so neither can touch freed memory.
// - `timer` is written by after() before it returns the first handle, so before refs can
//   reach 0; `pending` is cleared by whichever of fire and drop runs.
struct AfterChannel final : ChanState<TimePoint> {
  AfterChannel() : ChanState<TimePoint>(1) { destroy = &destroy_after; }

  TimerHandle timer;
  std::atomic<bool> pending{true};
  std::atomic<int> owners{2};

  static void release_owner(AfterChannel* a) noexcept {
    if (a->owners.fetch_sub(1, std::memory_order_acq_rel) == 1) delete a;
  }
  static void destroy_after(ChanBase* c) noexcept {
    auto* a = static_cast<AfterChannel*>(c);
    if (a->pending.load(std::memory_order_acquire)) (void)cancel_timer(a->timer);  // drop may run
    release_owner(a);
  }
  static void fire(void* p) {
    auto* a = static_cast<AfterChannel*>(p);
    long n = a->refs.load(std::memory_order_relaxed);
    while (n > 0 && !a->refs.compare_exchange_weak(n, n + 1, std::memory_order_acquire,
                                                   std::memory_order_relaxed)) {
    }
    a->pending.store(false, std::memory_order_release);
    if (n > 0) {
      TimePoint now = steady_now();
      Waiter* peer = nullptr;
      a->lock.lock();
      (void)a->try_send_locked(now, &peer);  // the only send: there is room, unless closed
      a->lock.unlock();
      if (peer) wake(*peer);
      if (a->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy_after(a);
    }
    release_owner(a);
  }
  static void drop(void* p) {
    auto* a = static_cast<AfterChannel*>(p);
    a->pending.store(false, std::memory_order_release);
    release_owner(a);
  }
};

}  // namespace

bool has_pending_timer(const ChanBase* c) noexcept {
  return c->destroy == &AfterChannel::destroy_after &&
         static_cast<const AfterChannel*>(c)->pending.load(std::memory_order_acquire);
}

}  // namespace goro::detail

namespace goro {

Channel<std::chrono::steady_clock::time_point> after(std::chrono::nanoseconds d) {
  auto* state = new detail::AfterChannel();
  auto ch = Channel<std::chrono::steady_clock::time_point>::adopt(state);
  const std::int64_t when = detail::deadline_after_ns(d);
  if (when == detail::kNeverNs) {  // past the end of the clock: never fires, no timer
    detail::AfterChannel::drop(state);
    return ch;
  }
  try {
    state->timer = detail::add_timer(when, &detail::AfterChannel::fire,
                                     &detail::AfterChannel::drop, state);
  } catch (...) {
    detail::AfterChannel::drop(state);  // no timer: its side of the state is done
    throw;
  }
  return ch;
}

}  // namespace goro
