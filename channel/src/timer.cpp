// channel/src/timer.cpp — goro::Timer and goro::Ticker on the scheduler's one-shot timers.
//
// A TimerCore is shared by its owner (Timer/Ticker) and by the payload of its one armed
// scheduler timer (an Arm, which holds a shared_ptr to the core and the generation it was
// armed for). Exactly one of the scheduler's fire/drop runs per Arm and deletes it.
//
// Invariants, all under TimerCore::mu:
// - `generation` grows on every stop and reset. An Arm whose generation is older is stale:
//   its fire does nothing. So once stop/reset has released mu, no fire of an earlier arming
//   can deliver anything, and the value such a fire delivered before is drained by that
//   stop/reset (Go 1.23: no stale value after stop or reset).
// - `active`: armed and not yet delivered (or, for after_func, f not yet started).
// - `armed` is the handle of the current Arm's timer while it is pending; stop/reset take
//   it and cancel it after releasing mu (a stale Arm dropped or fired late is harmless).
// - A ticker's fire re-arms the next tick itself, under mu, with the same generation.
// Lock order: TimerCore::mu, then the channel's lock or the timer heap's lock (try_send,
// try_recv, add_timer under mu). cancel_timer is never called under mu: its drop deletes
// an Arm, which may release the core.
#include "goro/timer.hpp"

#include <mutex>
#include <stdexcept>
#include <utility>

#include "goro/detail/timer.hpp"
#include "goro/runtime.hpp"
#include "goro/time.hpp"

namespace goro::detail {

struct TimerCore {
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit TimerCore(bool with_channel) : ch(1), has_channel(with_channel) {}

  Channel<TimePoint> ch;        // capacity 1 (unused by after_func timers)
  const bool has_channel;       // false for after_func timers
  std::function<void()> func;   // after_func: run in a new task on each firing; set once,
  std::source_location func_site;  // before the first arming

  std::mutex mu;
  std::int64_t period = 0;       // under mu: a ticker's period (> 0), 0 for a timer
  std::uint64_t generation = 0;  // under mu
  bool active = false;           // under mu
  std::int64_t when = 0;         // under mu: the armed deadline
  TimerHandle armed;             // under mu
};

namespace {

struct Arm {
  std::shared_ptr<TimerCore> core;
  std::uint64_t generation;
};

void fire(void* p);
void drop(void* p) { delete static_cast<Arm*>(p); }

// Under core->mu.
void arm_locked(const std::shared_ptr<TimerCore>& core, std::int64_t when) {
  core->when = when;
  core->active = true;
  auto* payload = new Arm{core, core->generation};
  try {
    core->armed = add_timer(when, &fire, &drop, payload);
  } catch (...) {
    delete payload;
    core->active = false;
    throw;
  }
}

// Under core->mu: invalidates the armed timer and discards an undelivered value. Returns
// whether the timer was active, and the handle to cancel once mu is released.
bool disarm_locked(TimerCore& core, TimerHandle* to_cancel) {
  bool was_active = std::exchange(core.active, false);
  ++core.generation;
  *to_cancel = std::exchange(core.armed, TimerHandle{});
  if (core.has_channel) {
    std::optional<TimerCore::TimePoint> stale;
    if (core.ch.try_recv(stale)) was_active = true;  // fired, but nobody took the value
  }
  return was_active;
}

// The first tick strictly after `now` on the grid when + k * period (k >= 1), saturated.
std::int64_t next_tick(std::int64_t when, std::int64_t period, std::int64_t now) {
  std::int64_t next = deadline_after_ns(when, std::chrono::nanoseconds(period));
  if (next <= now && next != kNeverNs) {
    const std::int64_t skipped = (now - next) / period + 1;
    next = skipped > (kNeverNs - next) / period ? kNeverNs : next + skipped * period;
  }
  return next;
}

void fire(void* p) {
  auto* arm = static_cast<Arm*>(p);
  TimerCore& core = *arm->core;
  bool run_func = false;
  {
    std::lock_guard guard(core.mu);
    if (arm->generation == core.generation && core.active) {
      core.armed = TimerHandle{};
      if (core.func) {
        core.active = false;
        run_func = true;
      } else {
        (void)core.ch.try_send(steady_now());  // a full ticker drops it
        if (core.period > 0) {
          arm_locked(arm->core, next_tick(core.when, core.period, now_ns()));
        } else {
          core.active = false;
        }
      }
    }
  }
  if (run_func) {
    std::function<void()> f = core.func;  // copied: the timer may be reset and fire again
    go_spawn(SpawnOptions{"goro.Timer.after_func"}, std::move(f), core.func_site);
  }
  delete arm;
}

void stop_core(TimerCore& core, bool* was_active) {
  TimerHandle to_cancel;
  {
    std::lock_guard guard(core.mu);
    const bool active = disarm_locked(core, &to_cancel);
    if (was_active) *was_active = active;
  }
  (void)cancel_timer(to_cancel);
}

bool reset_core(const std::shared_ptr<TimerCore>& core, std::int64_t when) {
  TimerHandle to_cancel;
  bool was_active;
  {
    std::lock_guard guard(core->mu);
    was_active = disarm_locked(*core, &to_cancel);
    arm_locked(core, when);
  }
  (void)cancel_timer(to_cancel);
  return was_active;
}

// Timer's and Ticker's move assignment: the timer `core` ran stops (a moved-from side has
// none), and `core` takes over `other`'s.
void replace_core(std::shared_ptr<TimerCore>& core, std::shared_ptr<TimerCore>&& other) noexcept {
  if (core) stop_core(*core, nullptr);
  core = std::move(other);
}

// Timer's and Ticker's destructor: a dropped timer never delivers again.
void release_core(std::shared_ptr<TimerCore>& core) noexcept {
  if (core) stop_core(*core, nullptr);
}

[[noreturn]] void throw_moved_from(const char* what) {
  throw std::logic_error(std::string("goro::") + what +
                         ": use of a moved-from object (it has no timer any more)");
}

void check_period(std::chrono::nanoseconds period, const char* where) {
  if (period.count() <= 0)
    throw std::invalid_argument(std::string("goro::Ticker::") + where + ": non-positive period " +
                                std::to_string(period.count()) +
                                " ns (a ticker needs a period > 0; use a Timer for one shot)");
}

}  // namespace

}  // namespace goro::detail

namespace goro {

// ------------------------------------------------------------------------------ Timer

Timer::Timer(std::shared_ptr<detail::TimerCore> core) noexcept : core_(std::move(core)) {}

Timer::Timer(std::chrono::nanoseconds d) : core_(std::make_shared<detail::TimerCore>(true)) {
  std::lock_guard guard(core_->mu);
  detail::arm_locked(core_, detail::deadline_after_ns(d));
}

Timer Timer::after_func(std::chrono::nanoseconds d, std::function<void()> f,
                        std::source_location where) {
  if (!f) throw std::invalid_argument("goro::Timer::after_func: f is empty (pass the function to run)");
  auto core = std::make_shared<detail::TimerCore>(false);
  core->func = std::move(f);
  core->func_site = where;
  {
    std::lock_guard guard(core->mu);
    detail::arm_locked(core, detail::deadline_after_ns(d));
  }
  return Timer(std::move(core));
}

Timer::Timer(Timer&&) noexcept = default;
Timer& Timer::operator=(Timer&& other) noexcept {
  if (this != &other) detail::replace_core(core_, std::move(other.core_));
  return *this;
}
Timer::~Timer() { detail::release_core(core_); }

Channel<Timer::TimePoint> Timer::c() const {
  if (!core_) detail::throw_moved_from("Timer::c");
  if (!core_->has_channel)
    throw std::logic_error(
        "goro::Timer::c: an after_func timer has no channel (it runs its function instead)");
  return core_->ch;
}

bool Timer::stop() {
  if (!core_) detail::throw_moved_from("Timer::stop");
  bool was_active = false;
  detail::stop_core(*core_, &was_active);
  return was_active;
}

bool Timer::reset(std::chrono::nanoseconds d) {
  if (!core_) detail::throw_moved_from("Timer::reset");
  return detail::reset_core(core_, detail::deadline_after_ns(d));
}

// ----------------------------------------------------------------------------- Ticker

Ticker::Ticker(std::chrono::nanoseconds period) {
  detail::check_period(period, "Ticker");
  core_ = std::make_shared<detail::TimerCore>(true);
  core_->period = period.count();
  std::lock_guard guard(core_->mu);
  detail::arm_locked(core_, detail::deadline_after_ns(period));
}

Ticker::Ticker(Ticker&&) noexcept = default;
Ticker& Ticker::operator=(Ticker&& other) noexcept {
  if (this != &other) detail::replace_core(core_, std::move(other.core_));
  return *this;
}
Ticker::~Ticker() { detail::release_core(core_); }

Channel<Ticker::TimePoint> Ticker::c() const {
  if (!core_) detail::throw_moved_from("Ticker::c");
  return core_->ch;
}

void Ticker::stop() {
  if (!core_) detail::throw_moved_from("Ticker::stop");
  detail::stop_core(*core_, nullptr);
}

void Ticker::reset(std::chrono::nanoseconds period) {
  detail::check_period(period, "reset");
  if (!core_) detail::throw_moved_from("Ticker::reset");
  {
    std::lock_guard guard(core_->mu);
    core_->period = period.count();
  }
  (void)detail::reset_core(core_, detail::deadline_after_ns(period));
}

}  // namespace goro
