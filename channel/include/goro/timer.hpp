// goro/timer.hpp — Go's time.Timer, time.AfterFunc and time.Ticker.
//
//   goro::Timer timeout(5s);
//   goro::Ticker heartbeat(1s);
//   for (;;) {
//     std::optional<std::chrono::steady_clock::time_point> t, tick;
//     std::optional<Msg> msg;
//     switch (goro::select(goro::recv_case(inbox, msg), goro::recv_case(heartbeat.c(), tick),
//                          goro::recv_case(timeout.c(), t))) {
//       case 0: handle(*msg); timeout.reset(5s); break;  // activity pushes the timeout back
//       case 1: send_heartbeat(); break;
//       case 2: return;                                     // 5 s without a message
//     }
//   }
//
//   auto flush = goro::Timer::after_func(100ms, [&] { buffer.flush(); });  // runs in its own task
//
// Semantics are Go 1.23's: stop() and reset() discard a value the timer delivered but
// nobody received, so after either returns no stale time is received from c(); stop()
// and reset() return true when the timer was still active (pending, or fired with its
// value not yet received). A Ticker's channel holds one tick: a slow reader sees at most
// one buffered tick and the others are dropped, as in Go; later ticks keep the period's
// phase (missed ones are skipped, never bunched).
//
// Ownership, unlike Go (which has a garbage collector): a Timer or Ticker is a move-only
// owner, and destroying it stops it, so no timer (and no callback capturing a dead object)
// outlives its owner. A task blocked on c() when its owner is destroyed is never woken:
// keep the owner alive while anyone may wait. The timer lives in the calling task's
// runtime (or the default runtime from a plain thread); if that runtime ends first, the
// timer is dropped and never fires.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <source_location>

#include "goro/channel.hpp"

namespace goro {

namespace detail {
struct TimerCore;
}

class Timer {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // Go's time.NewTimer: c() receives the time once, `d` from now (d <= 0: at once).
  explicit Timer(std::chrono::nanoseconds d);
  // Go's time.AfterFunc: f runs in a task of its own (spawned at `where`) once `d` has
  // passed, and again after each reset(). Such a timer has no channel: c() throws.
  [[nodiscard]] static Timer after_func(std::chrono::nanoseconds d, std::function<void()> f,
                                        std::source_location where = std::source_location::current());

  Timer(Timer&&) noexcept;
  Timer& operator=(Timer&&) noexcept;
  ~Timer();  // stops the timer

  // The channel the time is delivered on (capacity 1; the same channel for the timer's
  // whole life, resets included). Throws std::logic_error for an after_func timer.
  Channel<TimePoint> c() const;
  // Prevents the timer from firing: true if it was active. For an after_func timer, false
  // means f has been started (or the timer was stopped already); stop never waits for f.
  bool stop();
  // Re-arms the timer to fire `d` from now, stopping it first: true if it was active.
  bool reset(std::chrono::nanoseconds d);

 private:
  explicit Timer(std::shared_ptr<detail::TimerCore> core) noexcept;
  std::shared_ptr<detail::TimerCore> core_;
};

class Ticker {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // Go's time.NewTicker: c() receives the time every `period`. A period <= 0 throws
  // std::invalid_argument.
  explicit Ticker(std::chrono::nanoseconds period);

  Ticker(Ticker&&) noexcept;
  Ticker& operator=(Ticker&&) noexcept;
  ~Ticker();  // stops the ticker

  Channel<TimePoint> c() const;  // capacity 1: ticks nobody takes in time are dropped
  // No more ticks are sent, and a tick sent but not received is discarded.
  void stop();
  // Stops the ticker and restarts it with a new period, the next tick a period from now.
  // A period <= 0 throws std::invalid_argument (and leaves the ticker as it was).
  void reset(std::chrono::nanoseconds period);

 private:
  std::shared_ptr<detail::TimerCore> core_;
};

}  // namespace goro
