// goro/detail/channel_state.hpp — the shared state behind Channel<T> handles (Go's hchan).
//
// Invariants (as Go's runtime/chan.go), all under `lock`:
// - At least one of sendq and recvq holds no claimable waiter. (A select blocked on both
//   directions of one channel is the exception, as in Go; stale waiters of selects
//   already won elsewhere may sit in either queue and are dropped when met.)
// - Buffered: count > 0 implies recvq has no claimable waiter; count < capacity implies
//   sendq has none.
// - Unbuffered: a send completes only by handing its value to a receiver, directly
//   (waiter to waiter); count stays 0.
// - Once closed, both queues are empty and stay so: close() wakes every waiter, and no
//   operation queues on a closed channel.
// - Values move exactly once: into the ring, or straight from a sender's frame into a
//   receiver's std::optional, while holding the lock.
// The reference count (refs) is not under the lock: handles adjust it atomically, and the
// state is destroyed by whichever handle drops it to zero. refs = live handles + short-lived
// references diag takes while it reads a snapshot (the provable-leak analysis relies on
// every other reference being a recognisable handle: see ChanHandle).
// Hints: count, closed and the queues' heads are written under the lock with relaxed
// atomic stores (plain stores on x86), so select may read them without it to guess which
// case is ready (looks_ready_*). A guess is only a guess: the case is then attempted
// under its channel's lock, and a wrong guess falls back to the fully locked path.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <source_location>
#include <stdexcept>
#include <string>
#include <utility>

#include "goro/detail/channel_sites.hpp"
#include "goro/detail/futex_lock.hpp"
#include "goro/detail/park.hpp"
#include "goro/detail/schedule_point.hpp"

namespace goro {

// Thrown by a send on (or a send blocked at the close of) a closed channel, and by a
// close of a closed channel.
struct ChannelClosed : std::logic_error {
  using std::logic_error::logic_error;
};

namespace detail {

struct ChanBase {
  explicit ChanBase(std::size_t capacity) noexcept : cap(capacity) {}

  FutexLock lock;  // guards: count, head, tail, closed, recvq, sendq, the ring's slots
  // Immutable: its entry in the creation-site counters (channel_sites.hpp). Beside the
  // 4-byte lock, in what would otherwise be padding.
  std::uint32_t memory_site = 0;
  const std::size_t cap;
  std::size_t count = 0;
  std::size_t head = 0;  // next slot to receive from
  std::size_t tail = 0;  // next slot to send into
  bool closed = false;
  WaitQueue recvq;
  WaitQueue sendq;

  // For diagnostics; guarded by lock. Rarely set, so a pointer: every parked task of a
  // typical program holds a channel, and this keeps the state in a smaller malloc class.
  std::unique_ptr<std::string> name;

  // Lock-free guesses for select's fast path (see the invariants).
  bool looks_ready_to_recv() const noexcept {
    return hint(count) > 0 || hint(closed) || !sendq.looks_empty();
  }
  bool looks_ready_to_send() const noexcept {
    return hint(count) < cap || hint(closed) || !recvq.looks_empty();
  }
  // Writers of the hinted fields (under lock).
  void set_count(std::size_t n) noexcept { std::atomic_ref(count).store(n, std::memory_order_relaxed); }
  void set_closed() noexcept { std::atomic_ref(closed).store(true, std::memory_order_relaxed); }
  template <class V>
  static V hint(const V& field) noexcept {
    return std::atomic_ref(const_cast<V&>(field)).load(std::memory_order_relaxed);
  }

  std::atomic<long> refs{1};
  void (*destroy)(ChanBase*) noexcept = nullptr;
};

// The largest buffer a channel may have: 1 TiB. Larger is a bug (a wrapped size, a
// negative number converted to size_t), not a plan.
inline constexpr std::size_t kMaxChannelBufferBytes = std::size_t{1} << 40;
[[noreturn]] void throw_channel_capacity_out_of_range(std::size_t capacity, std::size_t elem_size,
                                                      const std::source_location& where);
// Checked before sizeof(T) * capacity is computed, so the product cannot wrap.
inline void check_channel_capacity(std::size_t capacity, std::size_t elem_size,
                                   const std::source_location& where) {
  if (capacity > kMaxChannelBufferBytes / elem_size) [[unlikely]]
    throw_channel_capacity_out_of_range(capacity, elem_size, where);
}

// Where a select's send case met the close.
struct SendOnClosedInSelect {
  std::size_t case_index;
  bool closed_while_waiting;  // false: closed already when the select polled it
};
// `where`: the send's (or select's) line; `select`: null for Channel::send.
[[noreturn]] void throw_send_on_closed(const std::source_location& where,
                                       const SendOnClosedInSelect* select = nullptr);
[[noreturn]] void throw_close_of_closed(const std::source_location& where);
// detail::park_queued on the channel's lock (c->lock held, w queued on q): out of line,
// so that every Channel<T> shares one copy of the parking protocol.
void park_on_channel(ChanBase* c, WaitQueue& q, Waiter& w, const WaitSite& site);

// True while `c` is an after() channel whose timer is still pending: that timer will send
// to it though it holds no handle (channel.cpp), so the provable-leak analysis counts it
// as one more reference.
bool has_pending_timer(const ChanBase* c) noexcept;

// Result of a non-blocking attempt made under the lock.
enum class Attempt { not_ready, done, closed };

template <class T>
struct ChanState : ChanBase {
  // `where`: the line that created the channel, for goro::diag::memory().
  explicit ChanState(std::size_t capacity,
                     const std::source_location& where = std::source_location::current())
      : ChanBase(capacity),
        ring(capacity ? static_cast<T*>(::operator new(sizeof(T) * capacity,
                                                       std::align_val_t(alignof(T))))
                      : nullptr) {
    destroy = [](ChanBase* self) noexcept { delete static_cast<ChanState*>(self); };
    memory_site = note_channel_created(where, footprint());
  }
  ~ChanState() {
    for (std::size_t i = 0; i < count; ++i) ring[(head + i) % cap].~T();
    if (ring) ::operator delete(ring, std::align_val_t(alignof(T)));
    note_channel_destroyed(memory_site, footprint());
  }
  // The bytes this channel allocated: its state and its buffer (not what the buffered
  // values own elsewhere).
  std::size_t footprint() const noexcept { return sizeof(ChanState) + sizeof(T) * cap; }

  T* const ring;

  void ring_push(T&& v) {
    ::new (&ring[tail]) T(std::move(v));
    tail = tail + 1 == cap ? 0 : tail + 1;
    set_count(count + 1);
  }
  void ring_pop_into(std::optional<T>& out) {
    out.emplace(std::move(ring[head]));
    ring[head].~T();
    head = head + 1 == cap ? 0 : head + 1;
    set_count(count - 1);
  }

  // --- operations under `lock` ---

  // Receive without blocking. On done, `out` holds the value, or nullopt if closed.
  Attempt try_recv_locked(std::optional<T>& out, Waiter** to_wake) {
    if (Waiter* sender = sendq.pop_claimable()) {
      if (cap == 0) {
        out.emplace(std::move(*static_cast<T*>(sender->elem)));
      } else {
        // Full buffer with a blocked sender: take the head, append the sender's value.
        ring_pop_into(out);
        ring_push(std::move(*static_cast<T*>(sender->elem)));
      }
      sender->success = true;
      *to_wake = sender;
      return Attempt::done;
    }
    if (count > 0) {
      ring_pop_into(out);
      return Attempt::done;
    }
    if (closed) {
      out.reset();
      return Attempt::done;
    }
    return Attempt::not_ready;
  }

  // Send without blocking; the value is moved from only on done.
  Attempt try_send_locked(T& value, Waiter** to_wake) {
    if (closed) return Attempt::closed;
    if (Waiter* receiver = recvq.pop_claimable()) {
      static_cast<std::optional<T>*>(receiver->elem)->emplace(std::move(value));
      receiver->success = true;
      *to_wake = receiver;
      return Attempt::done;
    }
    if (count < cap) {
      ring_push(std::move(value));
      return Attempt::done;
    }
    return Attempt::not_ready;
  }

  // --- the blocking operations ---

  void send(T& value, const std::source_location& where) {
    schedule_point();
    lock.lock();
    Waiter* peer = nullptr;
    switch (try_send_locked(value, &peer)) {
      case Attempt::done:
        lock.unlock();
        if (peer) wake(*peer);
        return;
      case Attempt::closed:
        lock.unlock();
        throw_send_on_closed(where);
      case Attempt::not_ready:
        break;
    }
    Waiter self;
    init_waiter(self);
    self.elem = &value;
    self.chan = this;
    self.sending = true;
    sendq.push_back(&self);
    park_on_channel(this, sendq, self, {diag::WaitReason::chan_send, where, this});
    if (!self.success) throw_send_on_closed(where);  // woken by close
  }

  std::optional<T> recv(const std::source_location& where) {
    std::optional<T> result;
    schedule_point();
    lock.lock();
    Waiter* peer = nullptr;
    if (try_recv_locked(result, &peer) == Attempt::done) {
      lock.unlock();
      if (peer) wake(*peer);
      return result;
    }
    Waiter self;
    init_waiter(self);
    self.elem = &result;
    self.chan = this;
    recvq.push_back(&self);
    park_on_channel(this, recvq, self, {diag::WaitReason::chan_recv, where, this});
    return result;  // nullopt when woken by close
  }

  void close(const std::source_location& where) {
    WaitQueue to_wake;
    schedule_point();
    {
      lock.lock();
      if (closed) {
        lock.unlock();
        throw_close_of_closed(where);
      }
      set_closed();
      while (Waiter* r = recvq.pop_claimable()) {
        static_cast<std::optional<T>*>(r->elem)->reset();
        r->success = false;
        to_wake.push_back(r);
      }
      while (Waiter* s = sendq.pop_claimable()) {
        s->success = false;
        to_wake.push_back(s);
      }
      lock.unlock();
    }
    while (Waiter* w = to_wake.pop_front()) wake(*w);
  }
};

// Bit pattern mixed into every live handle's tag word (see ChanHandle). Its top bits make
// `state ^ address ^ kHandleMagic` a non-canonical address, so no pointer-valued word
// ever looks like a tag.
inline constexpr std::uintptr_t kHandleMagic = 0xC6A7'1E5D'0B3F'9A41ull;

// The tag a live handle at `self` pointing to `state` carries.
inline std::uintptr_t handle_tag(const void* self, const ChanBase* state) noexcept {
  return reinterpret_cast<std::uintptr_t>(state) ^ reinterpret_cast<std::uintptr_t>(self) ^
         kHandleMagic;
}

// The one place where handles take, share and drop references to a channel's state.
//
// Layout contract with the provable-leak analysis (diag/src/provable.cpp), which finds
// handles by scanning the memory of blocked tasks:
// - A live handle at address A is the word pair {state_, tag_} with
//   tag_ == handle_tag(A, state_), and holds exactly one of state_->refs.
// - A moved-from or destroyed handle has tag_ == 0. The destructor clears it with a
//   volatile store: the compiler may not drop it as a dead store, so a dead handle's
//   bytes never pass for a live one.
// Binding the tag to the handle's own address means a byte copy of a handle made without
// its constructor (a register spill, a memcpy) does not validate anywhere else, so each
// live handle is found at most once, and only where it really is.
class ChanHandle {
 public:
  ChanHandle(const ChanHandle& other) noexcept : state_(other.state_) {
    retain();
    tag_ = tag_for(state_);
  }
  ChanHandle(ChanHandle&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {
    other.tag_ = 0;
    tag_ = tag_for(state_);
  }
  ChanHandle& operator=(const ChanHandle& other) noexcept {
    if (state_ != other.state_) {
      ChanHandle copy(other);
      swap(copy);
    }
    return *this;
  }
  ChanHandle& operator=(ChanHandle&& other) noexcept {
    if (this != &other) {
      ChanBase* old = state_;
      state_ = std::exchange(other.state_, nullptr);
      other.tag_ = 0;
      tag_ = tag_for(state_);
      drop(old);
    }
    return *this;
  }
  ~ChanHandle() {
    release();
    // Not `tag_ = 0`: GCC removes stores into an object whose lifetime ends.
    *static_cast<volatile std::uintptr_t*>(&tag_) = 0;
  }

  void swap(ChanHandle& other) noexcept {
    std::swap(state_, other.state_);
    tag_ = tag_for(state_);
    other.tag_ = other.tag_for(other.state_);
  }
  ChanBase* base() const noexcept { return state_; }
  friend bool operator==(const ChanHandle& a, const ChanHandle& b) noexcept {
    return a.state_ == b.state_;
  }

 protected:
  explicit ChanHandle(ChanBase* fresh) noexcept : state_(fresh), tag_(tag_for(fresh)) {}
  ChanBase* checked() const {
    if (state_ == nullptr)
      throw std::logic_error("goro::Channel: use of a moved-from channel handle");
    return state_;
  }

 private:
  std::uintptr_t tag_for(const ChanBase* state) const noexcept {
    return state ? handle_tag(this, state) : 0;
  }
  void retain() noexcept {
    if (state_) state_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  static void drop(ChanBase* state) noexcept {
    if (state && state->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) state->destroy(state);
  }
  void release() noexcept {
    drop(state_);
    state_ = nullptr;
  }
  ChanBase* state_;
  std::uintptr_t tag_;
};

}  // namespace detail
}  // namespace goro
