// channel/src/channel.cpp — the non-template parts of channels: errors, parking, after().
#include <stdexcept>
#include <string>

#include "goro/channel.hpp"
#include "goro/detail/timer.hpp"
#include "goro/time.hpp"

namespace goro::detail {

namespace {
std::string site(const std::source_location& where) {
  return std::string(where.file_name()) + ":" + std::to_string(where.line()) + " in " +
         where.function_name();
}
void unlock_channel(void* c) { static_cast<ChanBase*>(c)->lock.unlock(); }
}  // namespace

void throw_channel_capacity_out_of_range(std::size_t capacity, std::size_t elem_size,
                                         const std::source_location& where) {
  throw std::length_error("goro: Channel capacity " + std::to_string(capacity) + " at " +
                          site(where) + " is out of range (makechan: size out of range): " +
                          std::to_string(capacity) + " elements of " + std::to_string(elem_size) +
                          " bytes exceed the 1 TiB limit of a channel buffer; use at most " +
                          std::to_string(kMaxChannelBufferBytes / elem_size) + " elements");
}

void throw_send_on_closed(const std::source_location& where) {
  throw ChannelClosed("goro: send on closed channel at " + site(where) +
                      " (close a channel only from the sending side, once every sender is done)");
}

void throw_close_of_closed(const std::source_location& where) {
  throw ChannelClosed("goro: close of closed channel at " + site(where) +
                      " (a channel must be closed exactly once, by its last sender)");
}

GORO_HOT_PATH void park_on_channel(ChanBase* c, WaitQueue& q, Waiter& w, const WaitSite& site) {
  try {
    park(site, unlock_channel, c);
  } catch (const DeadlockDetected& deadlock) {
    bool claimed;
    {
      std::lock_guard guard(c->lock);
      claimed = !w.queued;  // a peer took the waiter after the detector gave up
      q.remove(&w);
    }
    if (claimed) return await_wake();
    throw_deadlock(deadlock.site);
  } catch (...) {
    std::lock_guard guard(c->lock);
    q.remove(&w);
    throw;
  }
}

}  // namespace goro::detail

namespace goro {

Channel<std::chrono::steady_clock::time_point> after(std::chrono::nanoseconds d) {
  using TimePoint = std::chrono::steady_clock::time_point;
  Channel<TimePoint> ch(1);
  const std::int64_t when = detail::deadline_after_ns(d);
  if (when == detail::kNeverNs) return ch;  // past the end of the clock: never fires
  auto* held = new Channel<TimePoint>(ch);  // the timer's own handle
  detail::add_timer(
      when,
      [](void* p) {
        auto* timer_handle = static_cast<Channel<TimePoint>*>(p);
        try {
          timer_handle->try_send(std::chrono::steady_clock::now());
        } catch (const ChannelClosed&) {
          // closed by a receiver: nothing to deliver
        }
        delete timer_handle;
      },
      [](void* p) { delete static_cast<Channel<TimePoint>*>(p); }, held);
  return ch;
}

}  // namespace goro
