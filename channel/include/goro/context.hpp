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
//
// Values (Go's WithValue): a key is a goro::ContextKey<T> object; its type fixes the
// value's type and its identity (not its name) tells keys apart, so two libraries can
// never read each other's values by accident. A context made by with_value shares its
// parent's cancellation; lookups walk up the chain to the root (as Go's do).
//
//   inline const goro::ContextKey<std::string> request_id{"request_id"};   // namespace scope
//   auto ctx = goro::with_value(parent, request_id, std::string("r-17"));
//   if (std::optional<std::string> id = ctx.value(request_id)) log(*id);
//
// Causes (Go 1.20's WithCancelCause / Cause): a CancelCauseFunc cancels with an
// exception_ptr saying why; goro::cause(ctx) returns it (or ContextDone(err()) when the
// context ended without one), and descendants cancelled with it share it.
//
//   auto [ctx, cancel] = goro::with_cancel_cause(parent);
//   cancel(std::make_exception_ptr(std::runtime_error("backend unreachable")));
//   std::rethrow_exception(goro::cause(ctx));            // throws the runtime_error
//
// after_func (Go 1.21's AfterFunc): runs f in a new task once ctx is done (at once if it
// is already); the returned stop function returns true if it kept f from being started.
//
//   auto stop = goro::after_func(ctx, [conn] { conn->close(); });
//   ... if (stop()) { /* f will never run */ }
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "goro/channel.hpp"

namespace goro {

enum class ContextError { none, canceled, deadline_exceeded };

// "", "context canceled", "context deadline exceeded" (Go's error strings).
std::string_view to_string(ContextError e) noexcept;

// What goro::cause() returns for a context that ended without an explicit cause: the
// context's own error (what() is to_string(error())).
struct ContextDone : std::runtime_error {
  explicit ContextDone(ContextError e) : std::runtime_error(std::string(to_string(e))), error_(e) {}
  ContextError error() const noexcept { return error_; }

 private:
  ContextError error_;
};

namespace detail {
struct ContextState;
struct ContextAccess;
std::uint64_t next_context_key_id() noexcept;

// One link of a context's value chain: immutable once made, shared by descendants.
struct ContextValue {
  ContextValue(std::uint64_t k, std::shared_ptr<const ContextValue> n) : key(k), next(std::move(n)) {}
  virtual ~ContextValue() = default;
  const std::uint64_t key;
  const std::shared_ptr<const ContextValue> next;
};
template <class T>
struct TypedContextValue final : ContextValue {
  template <class V>
  TypedContextValue(std::uint64_t k, std::shared_ptr<const ContextValue> n, V&& v)
      : ContextValue(k, std::move(n)), value(std::forward<V>(v)) {}
  const T value;
};
}  // namespace detail

// A key for Context values of type T. Each key object is distinct (copies are the same
// key); the name is for diagnostics only. Declare keys once, at namespace scope.
template <class T>
class ContextKey {
 public:
  explicit ContextKey(std::string_view name = {}) : id_(detail::next_context_key_id()), name_(name) {}
  std::uint64_t id() const noexcept { return id_; }
  const std::string& name() const noexcept { return name_; }

 private:
  std::uint64_t id_;
  std::string name_;
};

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

  // The value stored under `key` by this context or its nearest ancestor that has one
  // (a copy); nullopt when none has.
  template <class T>
  std::optional<T> value(const ContextKey<T>& key) const {
    for (const detail::ContextValue* v = values_.get(); v != nullptr; v = v->next.get())
      if (v->key == key.id()) return static_cast<const detail::TypedContextValue<T>*>(v)->value;
    return std::nullopt;
  }

 private:
  friend struct detail::ContextAccess;
  template <class T, class V>
  friend Context with_value(const Context& parent, const ContextKey<T>& key, V&& value);
  Context(std::shared_ptr<detail::ContextState> s, std::shared_ptr<const detail::ContextValue> v)
      : state_(std::move(s)), values_(std::move(v)) {}
  std::shared_ptr<detail::ContextState> state_;            // null: background
  std::shared_ptr<const detail::ContextValue> values_;     // null: no values
};

// A child of `parent` carrying `value` under `key` (Go's WithValue). It is cancelled
// exactly when its parent is: it has no cancel function of its own.
template <class T, class V>
Context with_value(const Context& parent, const ContextKey<T>& key, V&& value) {
  static_assert(std::is_constructible_v<T, V&&>, "the value must convert to the key's type");
  static_assert(std::is_copy_constructible_v<T>,
                "Context::value returns copies: store a std::shared_ptr for move-only values");
  return Context(parent.state_, std::make_shared<const detail::TypedContextValue<T>>(
                                    key.id(), parent.values_, std::forward<V>(value)));
}

// Cancels its context with ContextError::canceled. Idempotent; safe from any thread/task.
using CancelFunc = std::function<void()>;
// The same, recording a cause for goro::cause(); a null cause records ContextDone(canceled).
using CancelCauseFunc = std::function<void(std::exception_ptr cause)>;

std::pair<Context, CancelFunc> with_cancel(const Context& parent);
std::pair<Context, CancelFunc> with_timeout(const Context& parent, std::chrono::nanoseconds d);
std::pair<Context, CancelFunc> with_deadline(const Context& parent,
                                             std::chrono::steady_clock::time_point t);

// Go 1.20/1.21: the cause variants. with_cancel_cause's function cancels with a cause;
// with_deadline_cause / with_timeout_cause record `cause` if (and only if) the deadline is
// what ends the context.
std::pair<Context, CancelCauseFunc> with_cancel_cause(const Context& parent);
std::pair<Context, CancelFunc> with_deadline_cause(const Context& parent,
                                                   std::chrono::steady_clock::time_point t,
                                                   std::exception_ptr cause);
std::pair<Context, CancelFunc> with_timeout_cause(const Context& parent, std::chrono::nanoseconds d,
                                                  std::exception_ptr cause);

// Why `ctx` ended: nullptr while it is not done; else the cause it (or the ancestor whose
// cancellation reached it) was cancelled with; else ContextDone(ctx.err()).
std::exception_ptr cause(const Context& ctx);

// Runs f in a new task (spawned at `where`) once ctx is done, at once if it already is.
// The returned function stops that: true if it kept f from being started, false if f has
// been started or stopped already. It never waits for f. background() is never done: f
// never runs, and stop() returns true.
std::function<bool()> after_func(const Context& ctx, std::function<void()> f,
                                 std::source_location where = std::source_location::current());

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
