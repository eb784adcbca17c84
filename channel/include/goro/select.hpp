// goro/select.hpp — wait on several channel operations at once (Go's select).
//
//   std::optional<int> v;
//   std::optional<std::chrono::steady_clock::time_point> t;
//   switch (goro::select(goro::recv_case(results, v),
//                        goro::send_case(requests, 7),
//                        goro::recv_case(goro::after(100ms), t))) {
//     case 0: use(v); break;          // v is nullopt if `results` was closed
//     case 1: break;                  // 7 was sent
//     case 2: timed_out(); break;
//   }
//
// select blocks until one case can proceed and returns its 0-based position. Among several
// ready cases one is chosen uniformly at random. With default_case() it never blocks (the
// default's position is returned when nothing is ready). select() with no cases blocks
// forever. A send_case on a closed channel throws ChannelClosed. The same channel may
// appear in several cases. The wait site recorded for diagnostics is the select's line.
//
// Algorithm (Go's selectgo): lock every channel once, in address order; poll the cases in
// a random order and take the first ready one; otherwise queue a waiter on every channel,
// all sharing one SelectState, and park. A waker claims the select by CAS on its `done`
// flag; the others drop the select's stale waiters when they meet them, and the woken
// select removes the rest under the locks.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <source_location>
#include <type_traits>
#include <utility>

#include "goro/channel.hpp"

namespace goro {

namespace detail {

// One case, type-erased for the non-template select core (channel/src/select.cpp).
struct SelectCaseView {
  enum class Kind : unsigned char { recv, send, fallback };
  Kind kind;
  ChanBase* chan;  // nullptr for default
  void* elem;      // recv: std::optional<T>*; send: T*
  // Under the channel lock: try the operation now.
  Attempt (*attempt)(ChanBase*, void* elem, Waiter** to_wake);
};

std::size_t select_core(SelectCaseView* cases, std::size_t n, const std::source_location& where);

template <class T>
struct RecvCase {
  ChanState<T>* chan;
  std::optional<T>* out;
  std::optional<Channel<T>> owned;  // keeps a temporary handle (e.g. after()) alive

  SelectCaseView view() {
    return {SelectCaseView::Kind::recv, chan, out, [](ChanBase* c, void* e, Waiter** w) {
              return static_cast<ChanState<T>*>(c)->try_recv_locked(
                  *static_cast<std::optional<T>*>(e), w);
            }};
  }
};

template <class T>
struct SendCase {
  ChanState<T>* chan;
  T value;
  std::optional<Channel<T>> owned;

  SelectCaseView view() {
    return {SelectCaseView::Kind::send, chan, &value, [](ChanBase* c, void* e, Waiter** w) {
              return static_cast<ChanState<T>*>(c)->try_send_locked(*static_cast<T*>(e), w);
            }};
  }
};

struct DefaultCase {
  SelectCaseView view() { return {SelectCaseView::Kind::fallback, nullptr, nullptr, nullptr}; }
};

template <class C>
concept SelectCase = requires(C& c) {
  { c.view() } -> std::same_as<SelectCaseView>;
};

}  // namespace detail

// Fires on a value (out = the value) or on close (out = nullopt).
template <class T>
detail::RecvCase<T> recv_case(const Channel<T>& ch, std::optional<T>& out) {
  return {ch.state(), &out, std::nullopt};
}
template <class T>
detail::RecvCase<T> recv_case(Channel<T>&& ch, std::optional<T>& out) {
  auto* state = ch.state();
  return {state, &out, std::optional<Channel<T>>(std::move(ch))};
}

// Fires when the value is sent; a closed channel throws ChannelClosed.
template <class T>
detail::SendCase<T> send_case(const Channel<T>& ch, std::type_identity_t<T> value) {
  return {ch.state(), std::move(value), std::nullopt};
}
template <class T>
detail::SendCase<T> send_case(Channel<T>&& ch, std::type_identity_t<T> value) {
  auto* state = ch.state();
  return {state, std::move(value), std::optional<Channel<T>>(std::move(ch))};
}

// Makes the select non-blocking.
inline detail::DefaultCase default_case() { return {}; }

// `select(cases...)` runs the select when constructed and converts to the index of the
// case that fired. It is a class only so that it can take the caller's source location
// after a parameter pack.
template <class... Cases>
class select {
 public:
  explicit(false) select(Cases&&... cases,
                         std::source_location where = std::source_location::current()) {
    static_assert((detail::SelectCase<std::remove_reference_t<Cases>> && ...),
                  "goro::select takes recv_case(...), send_case(...) and default_case()");
    std::array<detail::SelectCaseView, sizeof...(Cases)> views{cases.view()...};
    index_ = detail::select_core(views.data(), views.size(), where);
  }
  operator std::size_t() const noexcept { return index_; }
  std::size_t index() const noexcept { return index_; }

 private:
  std::size_t index_ = 0;
};
template <class... Cases>
select(Cases&&...) -> select<Cases...>;

}  // namespace goro
