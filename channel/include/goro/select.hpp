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
// Disabled cases (Go's nil-channel idiom): `.when(false)` switches a case off; it keeps its
// position but can never be chosen. A select whose cases are all disabled, with no
// default, blocks forever ("select (no cases)"), as in Go.
//
//   goro::select(goro::recv_case(input, v).when(!paused),     // not read while paused
//                goro::send_case(output, *pending).when(pending.has_value()));
//
// Dynamic select (Go's reflect.Select): a range of goro::SelectCase, built from the same
// recv_case/send_case/default_case, selects over a set of cases sized at run time and
// returns the position in the range.
//
//   std::vector<goro::SelectCase> cases;
//   std::vector<std::optional<int>> got(inputs.size());
//   for (std::size_t i = 0; i < inputs.size(); ++i) cases.push_back(goro::recv_case(inputs[i], got[i]));
//   std::size_t i = goro::select(cases);                      // got[i] holds what arrived
//
// Algorithm (Go's selectgo): lock every channel once, in address order; poll the cases in
// a random order and take the first ready one; otherwise queue a waiter on every channel,
// all sharing one SelectState, and park. A waker claims the select by CAS on its `done`
// flag; the others drop the select's stale waiters when they meet them, and the woken
// select removes the rest under the locks.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <ranges>
#include <source_location>
#include <type_traits>
#include <utility>
#include <vector>

#include "goro/channel.hpp"

namespace goro {

namespace detail {

// One case, type-erased for the non-template select core (channel/src/select.cpp).
struct SelectCaseView {
  // fallback (default) and disabled come last: select_core tells them apart from channel
  // cases with one comparison.
  enum class Kind : unsigned char { recv, send, fallback, disabled };
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
  bool enabled = true;

  // Switches the case off when `on` is false (Go's nil channel).
  RecvCase when(bool on) && {
    enabled = on;
    return std::move(*this);
  }
  static Attempt attempt(ChanBase* c, void* e, Waiter** w) {
    return static_cast<ChanState<T>*>(c)->try_recv_locked(*static_cast<std::optional<T>*>(e), w);
  }
  SelectCaseView view() {
    return {enabled ? SelectCaseView::Kind::recv : SelectCaseView::Kind::disabled, chan, out,
            &attempt};
  }
};

template <class T>
struct SendCase {
  ChanState<T>* chan;
  T value;
  std::optional<Channel<T>> owned;
  bool enabled = true;

  // Switches the case off when `on` is false (Go's nil channel): nothing is sent.
  SendCase when(bool on) && {
    enabled = on;
    return std::move(*this);
  }
  static Attempt attempt(ChanBase* c, void* e, Waiter** w) {
    return static_cast<ChanState<T>*>(c)->try_send_locked(*static_cast<T*>(e), w);
  }
  SelectCaseView view() {
    return {enabled ? SelectCaseView::Kind::send : SelectCaseView::Kind::disabled, chan, &value,
            &attempt};
  }
};

struct DefaultCase {
  bool enabled = true;
  // A disabled default makes the select block as if it had none.
  DefaultCase when(bool on) && {
    enabled = on;
    return *this;
  }
  SelectCaseView view() {
    return {enabled ? SelectCaseView::Kind::fallback : SelectCaseView::Kind::disabled, nullptr,
            nullptr, nullptr};
  }
};

template <class C>
concept SelectCaseLike = requires(C& c) {
  { c.view() } -> std::same_as<SelectCaseView>;
};

// The dynamic select over views[0, n): rejects a second enabled default case.
std::size_t select_range(SelectCaseView* views, std::size_t n, const std::source_location& where);

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

// One case of a dynamic select: a recv_case, send_case or default_case (optionally
// `.when(...)`), type-erased so that cases over different element types share a vector.
// Move-only. A send case keeps its value on the heap until the select sends it; a case
// built from a temporary channel handle keeps that handle alive.
class SelectCase {
  using Kind = detail::SelectCaseView::Kind;

 public:
  template <class T>
  SelectCase(detail::RecvCase<T>&& c)  // NOLINT(google-explicit-constructor): reads as a case
      : view_(c.view()), enabled_kind_(Kind::recv) {
    if (c.owned) owned_.emplace(std::move(static_cast<detail::ChanHandle&>(*c.owned)));
  }
  template <class T>
  SelectCase(detail::SendCase<T>&& c)  // NOLINT(google-explicit-constructor)
      : view_(c.view()),
        enabled_kind_(Kind::send),
        value_(new T(std::move(c.value)), [](void* p) { delete static_cast<T*>(p); }) {
    view_.elem = value_.get();
    if (c.owned) owned_.emplace(std::move(static_cast<detail::ChanHandle&>(*c.owned)));
  }
  SelectCase(detail::DefaultCase c)  // NOLINT(google-explicit-constructor)
      : view_(c.view()), enabled_kind_(Kind::fallback) {}

  // Switches the case off (or back on). A disabled case is never chosen.
  SelectCase&& when(bool on) && {
    set_enabled(on);
    return std::move(*this);
  }
  void set_enabled(bool on) noexcept { view_.kind = on ? enabled_kind_ : Kind::disabled; }
  bool enabled() const noexcept { return view_.kind != Kind::disabled; }

  detail::SelectCaseView view() const noexcept { return view_; }

 private:
  detail::SelectCaseView view_;
  Kind enabled_kind_;
  std::optional<detail::ChanHandle> owned_;
  std::unique_ptr<void, void (*)(void*)> value_{nullptr, [](void*) {}};
};

// `select(cases...)` runs the select when constructed and converts to the index of the
// case that fired. It is a class only so that it can take the caller's source location
// after a parameter pack.
template <class... Cases>
class select {
 public:
  explicit(false) select(Cases&&... cases,
                         std::source_location where = std::source_location::current()) {
    static_assert((detail::SelectCaseLike<std::remove_reference_t<Cases>> && ...),
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

// The dynamic select: `select(cases)` over a contiguous range of SelectCase (a vector, an
// array, a span). Returns the position in the range. At most one enabled default case.
template <class Range>
  requires std::ranges::contiguous_range<std::remove_reference_t<Range>> &&
           std::same_as<std::remove_cv_t<std::ranges::range_value_t<std::remove_reference_t<Range>>>,
                        SelectCase>
class select<Range> {
 public:
  explicit(false) select(Range&& cases, std::source_location where = std::source_location::current()) {
    const std::size_t n = std::ranges::size(cases);
    const SelectCase* first = std::ranges::data(cases);
    constexpr std::size_t kInline = 8;
    if (n <= kInline) {
      std::array<detail::SelectCaseView, kInline> views;
      for (std::size_t i = 0; i < n; ++i) views[i] = first[i].view();
      index_ = detail::select_range(views.data(), n, where);
    } else {
      std::vector<detail::SelectCaseView> views(n);
      for (std::size_t i = 0; i < n; ++i) views[i] = first[i].view();
      index_ = detail::select_range(views.data(), n, where);
    }
  }
  operator std::size_t() const noexcept { return index_; }
  std::size_t index() const noexcept { return index_; }

 private:
  std::size_t index_ = 0;
};

}  // namespace goro
