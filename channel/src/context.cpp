// channel/src/context.cpp — goro::Context: Go's context.WithCancel/WithDeadline/WithTimeout.
//
// Ownership (no cycles, nothing needs a garbage collector):
//   * handles (Context, CancelFunc) own their ContextState (shared_ptr);
//   * a parent owns its registered children (children map, shared_ptr), so a parent's
//     cancellation reaches a child even if only the child's done() channel is still held;
//   * a child refers to its parent weakly (used only to detach itself on cancel);
//   * a pending deadline timer owns its state through a heap shared_ptr (the timer's
//     payload), released by exactly one of fire/drop.
//
// Invariants:
//   * err goes from none to one error exactly once, under `mu`; the thread that makes that
//     transition (the "winner") is the only one that closes `done`, removes the timer and
//     cancels the children. So done is closed exactly once and exactly one error wins.
//   * a cancelled state has no children and no timer handle (the winner took both under
//     `mu`); registration of a child checks the parent's err under the parent's `mu`, so a
//     child either is registered before the parent's cancellation (and is cancelled by it)
//     or sees the error and is born cancelled.
//   * a timer is either stored in `timer` while the state is not cancelled, or cancelled by
//     whoever finds the state already cancelled after add_timer (see arm_timer), so no timer
//     stays pending after its context is cancelled.
//   * no lock of ours is held while closing done, calling cancel_timer (which runs drop and
//     takes the runtime registry lock), or touching another state's lock: at most one
//     ContextState::mu is held at any time, so there is no lock order to get wrong.
//   * cancellation walks the tree with an explicit work list (no recursion), and the
//     destructor flattens chains of dying children, so deep trees cannot overflow a task's
//     small stack.
//
//   * `cause` is written together with err, by the winner, under mu; descendants get the
//     cause of the cancellation that reaches them.
//   * after_func: each registration is pending, started or stopped, moved out of pending
//     exactly once by a CAS (the winner's cancellation starts it; stop() stops it). The
//     winner takes the state's after_funcs list under mu like its children; a registration
//     that finds the state already cancelled starts f itself.
//   * values are not part of the state: a Context handle carries its own immutable value
//     chain (context.hpp), so with_value needs no lock at all.
//
// Locks: ContextState::mu guards `children`, `timer`, `cause` and `after_funcs`, and
// serialises writes to `err` (err is atomic so that err()/cancelled() read it without the
// lock). `parent`, `deadline`, `deadline_cause` and the `done` handle are immutable after
// construction.
#include "goro/context.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "goro/detail/schedule_point.hpp"
#include "goro/detail/timer.hpp"
#include "goro/runtime.hpp"
#include "goro/internal/inspect.hpp"

namespace goro {

namespace detail {

namespace {
std::atomic<long> g_live_states{0};
std::atomic<long> g_pending_timers{0};
std::atomic<std::uint64_t> g_next_key_id{0};
}  // namespace

std::uint64_t next_context_key_id() noexcept {
  return g_next_key_id.fetch_add(1, std::memory_order_relaxed) + 1;
}

// One after_func registration, shared by the state's list and the stop function.
struct AfterFunc {
  enum : int { pending, started, stopped };
  std::atomic<int> status{pending};
  std::function<void()> f;
  std::source_location where;

  // The one transition out of pending; true if it was this call's.
  bool claim(int to) noexcept {
    int expected = pending;
    return status.compare_exchange_strong(expected, to, std::memory_order_acq_rel);
  }
  void start() {
    if (claim(started)) go_spawn(SpawnOptions{"goro.after_func"}, std::move(f), where);
  }
};

struct ContextState {
  ContextState(std::weak_ptr<ContextState> p, std::optional<Context::TimePoint> d,
               std::exception_ptr dc = nullptr)
      : parent(std::move(p)), deadline(d), deadline_cause(std::move(dc)) {
    g_live_states.fetch_add(1, std::memory_order_relaxed);
  }
  ContextState(const ContextState&) = delete;
  ContextState& operator=(const ContextState&) = delete;
  ~ContextState();

  const std::weak_ptr<ContextState> parent;
  const std::optional<Context::TimePoint> deadline;
  const std::exception_ptr deadline_cause;  // the cause recorded when the deadline expires
  Channel<std::monostate> done;  // closed once, by the winner of the cancellation

  std::mutex mu;
  std::atomic<ContextError> err{ContextError::none};                   // written under mu
  std::unordered_map<ContextState*, std::shared_ptr<ContextState>> children;  // under mu
  TimerHandle timer;                                                   // under mu
  std::exception_ptr cause;                                            // under mu
  std::unordered_map<AfterFunc*, std::shared_ptr<AfterFunc>> after_funcs;  // under mu
};

ContextState::~ContextState() {
  g_live_states.fetch_sub(1, std::memory_order_relaxed);
  // Release a chain of children that die with us without recursing once per level. A
  // child whose only owner is our list dies here anyway; taking its children first (under
  // its lock, as its own children may be detaching concurrently) changes nothing else.
  std::vector<std::shared_ptr<ContextState>> dying;
  for (auto& entry : children) dying.push_back(std::move(entry.second));
  children.clear();
  while (!dying.empty()) {
    std::shared_ptr<ContextState> c = std::move(dying.back());
    dying.pop_back();
    if (c.use_count() == 1) {
      std::lock_guard guard(c->mu);
      for (auto& entry : c->children) dying.push_back(std::move(entry.second));
      c->children.clear();
    }
  }
}

struct ContextAccess {
  static const std::shared_ptr<ContextState>& state(const Context& c) { return c.state_; }
  // A context on state `s` with the value chain of `like`.
  static Context make(std::shared_ptr<ContextState> s, const Context& like) {
    return Context(std::move(s), like.values_);
  }
};

namespace {

using StatePtr = std::shared_ptr<ContextState>;

// Cancels `root` and, if this call wins, all of its descendants with the same error and
// cause. `from_timer`: called by root's own timer, which is firing and so need not be removed.
void cancel_state(const StatePtr& root, ContextError why, const std::exception_ptr& cause,
                  bool from_timer) {
  std::vector<StatePtr> work{root};
  std::vector<std::shared_ptr<AfterFunc>> to_start;
  while (!work.empty()) {
    StatePtr s = std::move(work.back());
    work.pop_back();
    TimerHandle timer;
    std::unordered_map<ContextState*, StatePtr> children;
    std::unordered_map<AfterFunc*, std::shared_ptr<AfterFunc>> after_funcs;
    {
      std::lock_guard guard(s->mu);
      if (s->err.load(std::memory_order_relaxed) != ContextError::none) continue;  // lost
      s->cause = cause;
      s->err.store(why, std::memory_order_release);
      children.swap(s->children);
      after_funcs.swap(s->after_funcs);
      timer = std::exchange(s->timer, TimerHandle{});
    }
    if (s == root) {
      // Detach from the parent, which must not keep a cancelled child (descendants are
      // taken out of their parents' lists above). Done before the close, so whoever sees
      // done closed also sees the parent without this child.
      if (StatePtr p = s->parent.lock()) {
        std::lock_guard guard(p->mu);
        p->children.erase(s.get());
      }
    }
    // err is stored before the close: whoever sees done closed sees err.
    s->done.close();
    if (timer.runtime_id != 0 && !(from_timer && s == root)) cancel_timer(timer);
    for (auto& entry : after_funcs) to_start.push_back(std::move(entry.second));
    for (auto& entry : children) work.push_back(std::move(entry.second));
  }
  // After the whole tree is cancelled, so a spawn that fails (a task limit) cannot leave
  // part of it uncancelled. The first failure is rethrown once every f had its chance.
  std::exception_ptr failed;
  for (auto& entry : to_start) {
    try {
      entry->start();
    } catch (...) {
      if (!failed) failed = std::current_exception();
    }
  }
  if (failed) std::rethrow_exception(failed);
}

// A new state under `parent` (null: background): registered with the parent, or born
// cancelled with the parent's error.
StatePtr make_child(const StatePtr& parent, std::optional<Context::TimePoint> deadline,
                    std::exception_ptr deadline_cause = nullptr) {
  auto s = std::make_shared<ContextState>(parent, deadline, std::move(deadline_cause));
  if (parent) {
    ContextError inherited;
    std::exception_ptr inherited_cause;
    {
      std::lock_guard guard(parent->mu);
      inherited = parent->err.load(std::memory_order_relaxed);
      if (inherited == ContextError::none)
        parent->children.emplace(s.get(), s);
      else
        inherited_cause = parent->cause;
    }
    if (inherited != ContextError::none) cancel_state(s, inherited, inherited_cause, false);
  }
  return s;
}

void timer_fire(void* arg) {
  auto* held = static_cast<StatePtr*>(arg);
  try {
    cancel_state(*held, ContextError::deadline_exceeded, (*held)->deadline_cause, true);
  } catch (const std::exception& e) {
    // Only an after_func's spawn can fail here, and there is no caller to tell.
    logger().error("goro: a context's deadline passed, but an after_func could not be started: {}",
                   e.what());
  }
  delete held;
  // Last: a pending count back at its old value means the callback is over entirely.
  g_pending_timers.fetch_sub(1, std::memory_order_release);
}

void timer_drop(void* arg) {
  delete static_cast<StatePtr*>(arg);
  g_pending_timers.fetch_sub(1, std::memory_order_release);
}

// Starts s's deadline timer (when_ns on goro's monotonic clock).
void arm_timer(const StatePtr& s, std::int64_t when_ns) {
  g_pending_timers.fetch_add(1, std::memory_order_relaxed);
  TimerHandle h = add_timer(when_ns, &timer_fire, &timer_drop, new StatePtr(s));
  bool stale;
  {
    std::lock_guard guard(s->mu);
    stale = s->err.load(std::memory_order_relaxed) != ContextError::none;
    if (!stale) s->timer = h;
  }
  // Cancelled between add_timer and now (by the parent, or the timer already fired): the
  // canceller did not see the handle, so remove the timer here (false if it fired).
  if (stale) cancel_timer(h);
}

CancelFunc make_cancel(StatePtr s) {
  return [s = std::move(s)] {
    schedule_point();
    cancel_state(s, ContextError::canceled, nullptr, false);
  };
}

Channel<std::monostate>& never_closed() {
  // Deliberately never destroyed: background contexts may be used during static teardown.
  static auto* ch = new Channel<std::monostate>();
  return *ch;
}

}  // namespace

ContextStats context_stats() noexcept {
  return {g_live_states.load(std::memory_order_relaxed),
          g_pending_timers.load(std::memory_order_acquire)};
}

std::size_t context_child_count(const Context& ctx) {
  const auto& s = ContextAccess::state(ctx);
  if (!s) return 0;
  std::lock_guard guard(s->mu);
  return s->children.size();
}

}  // namespace detail

std::string_view to_string(ContextError e) noexcept {
  switch (e) {
    case ContextError::none: return "";
    case ContextError::canceled: return "context canceled";
    case ContextError::deadline_exceeded: return "context deadline exceeded";
  }
  return "";
}

Channel<std::monostate> Context::done() const {
  return state_ ? state_->done : detail::never_closed();
}

ContextError Context::err() const noexcept {
  return state_ ? state_->err.load(std::memory_order_acquire) : ContextError::none;
}

std::optional<Context::TimePoint> Context::deadline() const noexcept {
  return state_ ? state_->deadline : std::nullopt;
}

std::pair<Context, CancelFunc> with_cancel(const Context& parent) {
  auto s = detail::make_child(detail::ContextAccess::state(parent), parent.deadline());
  return {detail::ContextAccess::make(s, parent), detail::make_cancel(s)};
}

std::pair<Context, CancelCauseFunc> with_cancel_cause(const Context& parent) {
  auto s = detail::make_child(detail::ContextAccess::state(parent), parent.deadline());
  return {detail::ContextAccess::make(s, parent), [s](std::exception_ptr cause) {
            detail::schedule_point();
            detail::cancel_state(s, ContextError::canceled, cause, false);
          }};
}

std::pair<Context, CancelFunc> with_deadline(const Context& parent,
                                             std::chrono::steady_clock::time_point t) {
  return with_deadline_cause(parent, t, nullptr);
}

std::pair<Context, CancelFunc> with_deadline_cause(const Context& parent,
                                                   std::chrono::steady_clock::time_point t,
                                                   std::exception_ptr cause) {
  // The parent's deadline comes first: this is just a cancellable child.
  if (auto pd = parent.deadline(); pd && *pd <= t) return with_cancel(parent);

  auto s = detail::make_child(detail::ContextAccess::state(parent), t, cause);
  auto ctx = detail::ContextAccess::make(s, parent);
  if (!ctx.cancelled()) {
    const auto now_tp = detail::steady_now();
    if (t <= now_tp) {  // compared, not subtracted: t may be time_point::min()
      detail::cancel_state(s, ContextError::deadline_exceeded, cause, false);
    } else {
      const auto remaining = t - now_tp;
      // now_ns() is read after steady_now(), so the timer never fires early.
      const std::int64_t rem =
          std::chrono::duration_cast<std::chrono::nanoseconds>(remaining).count();
      const std::int64_t now = detail::now_ns();
      // A deadline beyond goro's clock range (e.g. time_point::max()) never expires.
      if (rem < INT64_MAX - 1 - now) detail::arm_timer(s, now + rem);
    }
  }
  return {std::move(ctx), detail::make_cancel(s)};
}

std::pair<Context, CancelFunc> with_timeout(const Context& parent, std::chrono::nanoseconds d) {
  return with_timeout_cause(parent, d, nullptr);
}

std::pair<Context, CancelFunc> with_timeout_cause(const Context& parent, std::chrono::nanoseconds d,
                                                  std::exception_ptr cause) {
  using Clock = std::chrono::steady_clock;
  const auto now = detail::steady_now();
  // Saturate instead of overflowing for huge timeouts.
  const auto room = std::chrono::duration_cast<std::chrono::nanoseconds>(
      Clock::time_point::max() - now);
  const auto t = d >= room ? Clock::time_point::max()
                           : now + std::chrono::duration_cast<Clock::duration>(d);
  return with_deadline_cause(parent, t, std::move(cause));
}

std::exception_ptr cause(const Context& ctx) {
  const auto& s = detail::ContextAccess::state(ctx);
  if (!s) return nullptr;
  ContextError err;
  std::exception_ptr recorded;
  {
    std::lock_guard guard(s->mu);
    err = s->err.load(std::memory_order_relaxed);
    recorded = s->cause;
  }
  if (err == ContextError::none) return nullptr;
  return recorded ? recorded : std::make_exception_ptr(ContextDone(err));
}

std::function<bool()> after_func(const Context& ctx, std::function<void()> f,
                                 std::source_location where) {
  if (!f) throw std::invalid_argument("goro::after_func: f is empty (pass the function to run)");
  auto entry = std::make_shared<detail::AfterFunc>();
  entry->f = std::move(f);
  entry->where = where;
  const auto& s = detail::ContextAccess::state(ctx);
  if (s) {
    bool done;
    {
      std::lock_guard guard(s->mu);
      done = s->err.load(std::memory_order_relaxed) != ContextError::none;
      if (!done) s->after_funcs.emplace(entry.get(), entry);
    }
    if (done) entry->start();
  }
  std::weak_ptr<detail::ContextState> weak = s;
  return [entry, weak]() -> bool {
    if (!entry->claim(detail::AfterFunc::stopped)) return false;
    if (auto state = weak.lock()) {  // let f and its captures go now, not with the context
      std::lock_guard guard(state->mu);
      state->after_funcs.erase(entry.get());
    }
    entry->f = nullptr;
    return true;
  };
}

}  // namespace goro
