// goro/channel.hpp — typed channels with Go's semantics.
//
// A Channel<T> is a cheap, copyable handle to shared state; copies talk to the same
// channel. Unbuffered channels are rendezvous points; buffered ones block only when full
// (send) or empty (recv). Works from tasks (they park) and plain threads (they block).
//
//   goro::Channel<std::string> lines(16);          // buffered, capacity 16
//   goro::go_spawn([lines]() mutable {
//     lines.send("hello");
//     lines.close();
//   });
//   for (std::string& line : lines) std::cout << line << "\n";   // until closed+drained
//
// Errors: send on a closed channel, a send blocked when the channel is closed, and a
// second close() throw goro::ChannelClosed naming the call site; a capacity whose
// buffer could not exist (more than 1 TiB) throws std::length_error.
#pragma once

#include <cstddef>
#include <iterator>
#include <optional>
#include <string>
#include <source_location>
#include <type_traits>

#include "goro/detail/channel_state.hpp"

namespace goro {

template <class T>
class Channel : public detail::ChanHandle {
 public:
  using value_type = T;

  // Unbuffered. (`where`, here and below, is the line creating the channel, for
  // goro::diag::memory(); leave it defaulted.)
  Channel(std::source_location where = std::source_location::current()) : Channel(0, where) {}
  // Throws std::length_error (Go: "makechan: size out of range") when the buffer of
  // capacity elements would exceed detail::kMaxChannelBufferBytes.
  explicit Channel(std::size_t capacity,
                   std::source_location where = std::source_location::current())
      : detail::ChanHandle(
            (detail::check_channel_capacity(capacity, sizeof(T), where),
             new detail::ChanState<T>(capacity, where))) {}

  // Blocks until a receiver takes the value (unbuffered) or there is room (buffered).
  void send(T value, std::source_location where = std::source_location::current()) {
    state()->send(value, where);
  }
  // Blocks until a value arrives; std::nullopt once the channel is closed and drained.
  std::optional<T> recv(std::source_location where = std::source_location::current()) {
    return state()->recv(where);
  }
  // Wakes all blocked receivers (they get nullopt) and senders (they throw ChannelClosed).
  void close(std::source_location where = std::source_location::current()) {
    state()->close(where);
  }

  // Extensions (Go spells these as a select with a default case): never block.
  // try_send returns false when the send would block; throws ChannelClosed if closed.
  bool try_send(T value, std::source_location where = std::source_location::current()) {
    auto* c = state();
    c->lock.lock();
    detail::Waiter* peer = nullptr;
    detail::Attempt a = c->try_send_locked(value, &peer);
    c->lock.unlock();
    if (a == detail::Attempt::closed) detail::throw_send_on_closed(where);
    if (peer) detail::wake(*peer);
    return a == detail::Attempt::done;
  }
  // Returns false when a receive would block; true with `out` filled (nullopt: closed).
  bool try_recv(std::optional<T>& out) {
    auto* c = state();
    c->lock.lock();
    detail::Waiter* peer = nullptr;
    detail::Attempt a = c->try_recv_locked(out, &peer);
    c->lock.unlock();
    if (peer) detail::wake(*peer);
    return a == detail::Attempt::done;
  }

  std::size_t size() const {
    auto* c = state();
    std::lock_guard guard(c->lock);
    return c->count;
  }
  std::size_t capacity() const { return state()->cap; }

  // Extension: a name that diagnostics show for this channel (all handles share it).
  void set_name(std::string name) {
    auto* c = state();
    auto owned = std::make_unique<std::string>(std::move(name));
    std::lock_guard guard(c->lock);
    c->name.swap(owned);  // the old name is freed after the lock is released
  }
  std::string name() const {
    auto* c = state();
    std::lock_guard guard(c->lock);
    return c->name ? *c->name : std::string();
  }
  bool closed() const {
    auto* c = state();
    std::lock_guard guard(c->lock);
    return c->closed;
  }

  // Range-for: receives until the channel is closed and drained. The wait site recorded
  // for every receive is the line of the for statement. The element is an lvalue
  // (`for (auto& v : ch)` works) except for move-only T, where it is an rvalue so that
  // `for (T v : ch)` moves it out.
  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using reference = std::conditional_t<std::is_copy_constructible_v<T>, T&, T&&>;
    iterator() = default;
    iterator(Channel* ch, std::source_location where) : ch_(ch), where_(where) { ++*this; }
    reference operator*() const { return static_cast<reference>(*current_); }
    T* operator->() const { return &*current_; }
    iterator& operator++() {
      current_ = ch_->recv(where_);
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) {
      return !it.current_.has_value();
    }

   private:
    Channel* ch_ = nullptr;
    std::source_location where_;
    mutable std::optional<T> current_;
  };
  iterator begin(std::source_location where = std::source_location::current()) {
    return iterator(this, where);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

  detail::ChanState<T>* state() const { return static_cast<detail::ChanState<T>*>(checked()); }
  // Internal: a handle owning the one reference a state starts with (goro's own channel
  // kinds, such as after()'s, construct their state themselves).
  static Channel adopt(detail::ChanState<T>* fresh) noexcept { return Channel(fresh, AdoptTag{}); }

 private:
  struct AdoptTag {};
  Channel(detail::ChanState<T>* fresh, AdoptTag) noexcept : detail::ChanHandle(fresh) {}
};

}  // namespace goro
