// goro/context.hpp — Go's context package: cancellation and deadlines that propagate
// from a parent context to all of its descendants.
//
// Before every go_spawn ask "how does this task exit?". A Context is the answer: hand
// one to the task and let it select on ctx.done() next to its work.
//
//   auto [ctx, cancel] = goro::with_timeout(goro::Context::background(), 2s);
//   goro::Channel<Job> jobs;
//   goro::go_spawn([ctx, jobs]() mutable {
//     for (;;) {
//       std::optional<Job> job;
//       std::optional<std::monostate> stop;
//       if (goro::select(goro::recv_case(jobs, job), goro::recv_case(ctx.done(), stop)) == 1)
//         return;                     // cancelled or timed out: ctx.err() says which
//       if (!job) return;             // jobs closed
//       handle(*job);
//     }
//   });
//   ...
//   cancel();                         // always call it (idempotent): releases the timer now
//
// Semantics are Go's:
//   * cancelling a context closes its done() channel and cancels every descendant with the
//     same error; cancelling a child leaves its parent alone and detaches the child from it;
//   * a child of an already-cancelled parent is born cancelled with the parent's error;
//   * with_deadline / with_timeout: the deadline is the earlier of the parent's and the one
//     asked for (a later one just means with_cancel); a deadline already past cancels at
//     once with deadline_exceeded; the timer is removed as soon as the context is
//     cancelled by any means, so nothing (no task, no timer) stays behind. No task is ever
//     spawned to propagate cancellation: it runs on the cancelling thread or, for an
//     expired deadline, in the timer callback on a worker thread.
//   * a CancelFunc is idempotent and may be called from any task or plain thread, racing
//     with the timer and with the parent's cancellation: exactly one error wins.
//
// Do not close() or send on done(): it belongs to the context. The timer of a context
// created inside goro::run lives in that runtime; if run() ends first the timer is dropped
// and the context simply never expires.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>

#include "goro/channel.hpp"

namespace goro {

enum class ContextError { none, canceled, deadline_exceeded };

// "", "context canceled", "context deadline exceeded" (Go's error strings).
std::string_view to_string(ContextError e) noexcept;

namespace detail {
struct ContextState;
struct ContextAccess;
}  // namespace detail

// A copyable handle to a context's shared state; copies observe the same context.
// Default-constructed, it is background().
class Context {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  Context() = default;
  // Never cancelled, no deadline: the root of every context tree.
  static Context background() { return Context(); }

  // Closed when the context is cancelled; use it with recv_case (fires with nullopt).
  // background()'s done() is never closed.
  Channel<std::monostate> done() const;
  // ContextError::none until cancelled, then the error that cancelled it (never changes).
  ContextError err() const noexcept;
  std::optional<TimePoint> deadline() const noexcept;
  bool cancelled() const noexcept { return err() != ContextError::none; }

 private:
  friend struct detail::ContextAccess;
  explicit Context(std::shared_ptr<detail::ContextState> s) : state_(std::move(s)) {}
  std::shared_ptr<detail::ContextState> state_;  // null: background
};

// Cancels its context with ContextError::canceled. Idempotent; safe from any thread/task.
using CancelFunc = std::function<void()>;

std::pair<Context, CancelFunc> with_cancel(const Context& parent);
std::pair<Context, CancelFunc> with_timeout(const Context& parent, std::chrono::nanoseconds d);
std::pair<Context, CancelFunc> with_deadline(const Context& parent,
                                             std::chrono::steady_clock::time_point t);

namespace detail {
// Test and diagnostics hooks: process-wide counts of context states alive and of context
// deadline timers not yet finished (added, and neither fire nor drop has completed).
struct ContextStats {
  long live_states = 0;
  long pending_timers = 0;
};
ContextStats context_stats() noexcept;
// How many children are registered with `ctx` (0 for background and cancelled contexts).
std::size_t context_child_count(const Context& ctx);
}  // namespace detail

}  // namespace goro
