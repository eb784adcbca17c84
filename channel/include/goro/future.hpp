// goro/future.hpp — a task's result: async() runs a function as a task and hands back a
// Future whose get() parks until the task ends, then returns its value or rethrows its
// exception (in the spirit of Boost.Fiber's fibers::async).
//
//   goro::Future<std::string> page = goro::async([] { return fetch("/index.html"); });
//   do_other_work();
//   std::string body = page.get();   // parks the task (a plain thread blocks); rethrows
//                                    // what fetch threw
//
// - An exception escaping the function is captured for get(): it never reaches the
//   runtime's panic policy.
// - Future<void> works; T may be move-only. T may not be a reference (return a pointer
//   or std::reference_wrapper).
// - get() may be called once (the result is moved out); wait_for / wait_until / ready()
//   only look. A Future destroyed without get() leaks nothing: the task still runs to
//   its end and its result is destroyed then.
// - If the task never finishes because run() unwinds it at its end, get() throws
//   goro::BrokenFuture instead of waiting forever.
// - get() and wait_for() wait on the result channel: the dumps show the waiting task as
//   `chan receive` (or `select`, for wait_for) at the get()/wait_for() call site, and a
//   plain thread waiting there is covered by the deadlock detector.
//
// How: the task sends its outcome (value or exception) on a channel of capacity 1 and
// closes the channel when its closure is destroyed, so a waiter always wakes: with the
// outcome, or with the close of a task that ended without one.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <source_location>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "goro/channel.hpp"
#include "goro/context.hpp"
#include "goro/detail/park.hpp"
#include "goro/detail/timer.hpp"
#include "goro/runtime.hpp"
#include "goro/select.hpp"

namespace goro {

// Thrown by Future::get() when the task ended without a result: run() unwound it.
struct BrokenFuture : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {

template <class T>
using FutureValue = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
// Index 0: the value; index 1: the exception.
template <class T>
using FutureOutcome = std::variant<FutureValue<T>, std::exception_ptr>;

struct FutureChannelTag {};

[[noreturn]] inline void throw_broken_future(const std::source_location& where) {
  throw BrokenFuture(std::string("goro::Future::get at ") + where.file_name() + ":" +
                     std::to_string(where.line()) +
                     ": the task ended without a result (run() unwound it before it "
                     "finished); get() results before the main task returns");
}
[[noreturn]] inline void throw_future_no_state(const char* call) {
  throw std::logic_error(std::string("goro::Future::") + call +
                         ": no result to wait for (get() was already called, or the Future "
                         "was moved from or default-constructed)");
}

// The task's closure: runs fn, sends its outcome, and closes the channel when destroyed
// (after running, or unrun when run() discards the task).
template <class T, class Fn>
struct AsyncClosure {
  Fn fn;
  Channel<FutureOutcome<T>> outcome;

  AsyncClosure(Fn&& f, Channel<FutureOutcome<T>> ch) : fn(std::move(f)), outcome(std::move(ch)) {}
  AsyncClosure(AsyncClosure&&) = default;
  ~AsyncClosure() {
    if (outcome.base() != nullptr) outcome.close();  // moved-from closures hold no channel
  }

  void operator()() {
    try {
      if constexpr (std::is_void_v<T>) {
        std::invoke(fn);
        outcome.send(FutureOutcome<T>(std::in_place_index<0>));
      } else {
        outcome.send(FutureOutcome<T>(std::in_place_index<0>, std::invoke(fn)));
      }
    } catch (const TaskUnwind&) {
      throw;  // run() is unwinding the task: the closure's destructor closes the channel
    } catch (...) {
      outcome.send(FutureOutcome<T>(std::in_place_index<1>, std::current_exception()));
    }
  }
};

}  // namespace detail

template <class T>
class Future {
  static_assert(!std::is_reference_v<T>,
                "goro::Future<T&>: return a pointer or std::reference_wrapper instead");

 public:
  // No result to wait for (valid() is false), as a moved-from Future.
  Future() = default;
  // async()'s: the task's outcome channel.
  Future(detail::FutureChannelTag, Channel<detail::FutureOutcome<T>> ch)
      : channel_(std::move(ch)) {}
  Future(Future&& other) noexcept = default;
  Future& operator=(Future&& other) noexcept = default;
  Future(const Future&) = delete;
  Future& operator=(const Future&) = delete;

  // Parks until the task ends; returns its value or rethrows its exception. Once only:
  // afterwards valid() is false. Throws std::logic_error without a result to wait for,
  // goro::BrokenFuture when the task was unwound before it finished.
  T get(std::source_location where = std::source_location::current()) {
    if (!valid()) detail::throw_future_no_state("get");
    if (!outcome_) {
      outcome_ = channel_->recv(where);
      if (!outcome_) {
        channel_.reset();
        detail::throw_broken_future(where);
      }
    }
    detail::FutureOutcome<T> outcome = std::move(*outcome_);
    outcome_.reset();
    channel_.reset();
    if (outcome.index() == 1) std::rethrow_exception(std::get<1>(std::move(outcome)));
    if constexpr (!std::is_void_v<T>) return std::get<0>(std::move(outcome));
  }

  // True when get() would not park: the task has ended (with a value, an exception or
  // unwound). False without a result to wait for.
  bool ready() const {
    if (!valid()) return false;
    return outcome_.has_value() || channel_->size() > 0 || channel_->closed();
  }

  // True while get() has a result to wait for (not yet retrieved, not moved from).
  bool valid() const noexcept { return channel_ && channel_->base() != nullptr; }

  // Waits until ready() or until d has passed; true when ready. Any duration works:
  // negative is zero, too large for the clock waits without a deadline.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> d,
                std::source_location where = std::source_location::current()) {
    return wait_until_ns(detail::saturating_ns(d), where);
  }
  bool wait_until(std::chrono::steady_clock::time_point t,
                  std::source_location where = std::source_location::current()) {
    const auto now = detail::steady_now();
    if (t <= now) return wait_until_ns(std::chrono::nanoseconds::zero(), where);
    return wait_until_ns(detail::saturating_ns(t - now), where);
  }

 private:
  bool wait_until_ns(std::chrono::nanoseconds d, const std::source_location& where) {
    if (!valid()) detail::throw_future_no_state("wait_for");
    if (ready()) return true;
    if (d <= std::chrono::nanoseconds::zero()) return false;
    std::optional<detail::FutureOutcome<T>> got;
    if (d == std::chrono::nanoseconds::max()) {
      got = channel_->recv(where);
    } else {
      // A context rather than after(): its timer is removed as soon as we return.
      auto [deadline, cancel] = with_timeout(Context::background(), d);
      std::optional<std::monostate> expired;
      const std::size_t fired =
          select<detail::RecvCase<detail::FutureOutcome<T>>, detail::RecvCase<std::monostate>>(
              recv_case(*channel_, got), recv_case(deadline.done(), expired), where);
      cancel();
      if (fired == 1) return false;
    }
    // A value, or nullopt: the channel closed without one (get() reports it).
    if (got) outcome_ = std::move(got);
    return true;
  }

  // Empty: no result to wait for. (A moved-from Future keeps a moved-from handle.)
  std::optional<Channel<detail::FutureOutcome<T>>> channel_;
  std::optional<detail::FutureOutcome<T>> outcome_;  // received, not yet taken by get()
};

// Runs fn() as a task (spawned at `where`, named opts.name); the Future delivers its
// result. Plain threads may call it (the default runtime starts on first use).
template <class F>
auto async(SpawnOptions opts, F&& fn, std::source_location where = std::source_location::current())
    -> Future<std::invoke_result_t<F&>> {
  using T = std::invoke_result_t<F&>;
  using Fn = std::decay_t<F>;
  Channel<detail::FutureOutcome<T>> outcome(1);
  go_spawn(std::move(opts), detail::AsyncClosure<T, Fn>(Fn(std::forward<F>(fn)), outcome), where);
  return Future<T>(detail::FutureChannelTag{}, std::move(outcome));
}

template <class F>
auto async(F&& fn, std::source_location where = std::source_location::current())
    -> Future<std::invoke_result_t<F&>> {
  return async(SpawnOptions{}, std::forward<F>(fn), where);
}

}  // namespace goro
