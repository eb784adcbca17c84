// channel/src/select.cpp — the type-erased core of goro::select. See goro/select.hpp for
// the algorithm; the invariants are those of channel_state.hpp plus:
// - Fast path: at most one channel lock is held, for one attempt at the first case
//   whose channel looks ready (channel_state.hpp's hints); nothing is queued.
// - Full path: every channel of the select is locked exactly once, in address order (so
//   two selects over the same channels cannot deadlock), and all are held while polling
//   and queuing.
// - The select's waiters are queued under those locks and the select parks holding none
//   of them: park() releases them all once the task is switched out.
// - Exactly one waker wins SelectState::done; it alone writes through its waiter's elem
//   and wakes the select.
// - Disabled cases (and the default) are never polled, locked or queued on: they take no
//   part after the poll order is drawn.
#include <algorithm>
#include <cstddef>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <memory>
#include <new>
#include <type_traits>

#include "goro/detail/park_on.hpp"
#include "goro/detail/schedule_point.hpp"
#include "goro/select.hpp"

namespace goro::detail {

namespace {

constexpr std::size_t kInline = 8;
static_assert(std::is_trivially_destructible_v<Waiter>, "waiters are never destroyed");

// The distinct channels of a select, sorted by address.
struct LockSet {
  ChanBase** chans;
  std::size_t n;
  void lock_all() const {
    for (std::size_t i = 0; i < n; ++i) chans[i]->lock.lock();
  }
  void unlock_all() const {
    for (std::size_t i = n; i-- > 0;) chans[i]->lock.unlock();
  }
};

void unlock_all(void* p) { static_cast<LockSet*>(p)->unlock_all(); }

[[noreturn]] void throw_send_on_closed_in_select(const std::source_location& where,
                                                  std::size_t case_index) {
  const SendOnClosedInSelect select{case_index, false};
  throw_send_on_closed(where, &select);
}

[[noreturn]] void block_forever(const std::source_location& where) {
  try {
    for (;;) park({diag::WaitReason::select_no_cases, where, nullptr}, nullptr, nullptr);
  } catch (const DeadlockDetected& deadlock) {
    throw_deadlock(deadlock.site);  // nothing else can ever wake a plain thread here
  }
}

}  // namespace

GORO_HOT_PATH std::size_t select_core(SelectCaseView* cases, std::size_t n,
                                        const std::source_location& where) {
  schedule_point();
  // Small selects live entirely on the stack. Waiters are constructed only when the
  // select has to queue (their storage stays raw on the fast path).
  std::uint32_t order_inline[kInline];
  ChanBase* chans_inline[kInline];
  alignas(Waiter) std::byte waiters_inline[kInline * sizeof(Waiter)];
  std::unique_ptr<std::byte[]> heap;
  std::uint32_t* order = order_inline;
  ChanBase** chans = chans_inline;
  Waiter* waiters = reinterpret_cast<Waiter*>(waiters_inline);
  if (n > kInline) {
    static_assert(alignof(Waiter) >= alignof(ChanBase*) && alignof(ChanBase*) >= alignof(std::uint32_t));
    heap.reset(new std::byte[n * (sizeof(Waiter) + sizeof(ChanBase*) + sizeof(std::uint32_t))]);
    waiters = reinterpret_cast<Waiter*>(heap.get());
    chans = reinterpret_cast<ChanBase**>(heap.get() + n * sizeof(Waiter));
    order = reinterpret_cast<std::uint32_t*>(heap.get() + n * (sizeof(Waiter) + sizeof(ChanBase*)));
  }

  // Poll order: a uniformly random permutation of the channel cases (Fisher-Yates). One
  // 32-bit draw serves eight cases: each index is the high half of random x range, and
  // the low half is the (still uniform) fraction left for the next one.
  std::size_t ncases = 0;
  std::size_t default_index = n;
  std::uint32_t random = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (cases[i].kind >= SelectCaseView::Kind::fallback) {  // default, or disabled
      if (cases[i].kind == SelectCaseView::Kind::fallback) default_index = i;
      continue;
    }
    if (ncases % 8 == 0) random = schedule_random();
    const std::uint64_t scaled = std::uint64_t{random} * (ncases + 1);
    const std::size_t j = static_cast<std::size_t>(scaled >> 32);
    random = static_cast<std::uint32_t>(scaled);
    order[ncases] = order[j];
    order[j] = static_cast<std::uint32_t>(i);
    ++ncases;
  }
  const bool has_default = default_index != n;
  if (ncases == 0) {
    if (has_default) return default_index;
    block_forever(where);
  }

  // Fast path: the first case, in poll order, whose channel looks ready is attempted
  // under that channel's lock alone (the usual case of a busy select: one lock instead of
  // all, no sort). Taking the first ready case of a random permutation keeps the choice
  // among ready cases uniform. A wrong guess costs one lock and falls through to the full
  // path, which decides under every lock.
  for (std::size_t k = 0; k < ncases; ++k) {
    SelectCaseView& c = cases[order[k]];
    const bool recv = c.kind == SelectCaseView::Kind::recv;
    if (!(recv ? c.chan->looks_ready_to_recv() : c.chan->looks_ready_to_send())) continue;
    Waiter* peer = nullptr;
    c.chan->lock.lock();
    const Attempt outcome = c.attempt(c.chan, c.elem, &peer);
    c.chan->lock.unlock();
    if (outcome == Attempt::done) {
      if (peer) wake(*peer);
      return order[k];
    }
    if (outcome == Attempt::closed) throw_send_on_closed_in_select(where, order[k]);
    break;
  }

  // Lock order: distinct channels by address (insertion sort: selects are small).
  for (std::size_t k = 0; k < ncases; ++k) {
    ChanBase* c = cases[order[k]].chan;
    std::size_t at = k;
    for (; at > 0 && std::less<ChanBase*>()(c, chans[at - 1]); --at) chans[at] = chans[at - 1];
    chans[at] = c;
  }
  LockSet locks{chans, static_cast<std::size_t>(std::unique(chans, chans + ncases) - chans)};

  locks.lock_all();
  for (std::size_t k = 0; k < ncases; ++k) {
    SelectCaseView& c = cases[order[k]];
    Waiter* peer = nullptr;
    switch (c.attempt(c.chan, c.elem, &peer)) {
      case Attempt::done:
        locks.unlock_all();
        if (peer) wake(*peer);
        return order[k];
      case Attempt::closed:
        locks.unlock_all();
        throw_send_on_closed_in_select(where, order[k]);
      case Attempt::not_ready:
        break;
    }
  }
  if (has_default) {
    locks.unlock_all();
    return default_index;
  }

  // Nothing ready: queue on every channel and park.
  SelectState state;
  std::size_t queued = 0;
  Waiter me;  // who waits (task or thread): looked up once, copied into each waiter
  init_waiter(me);
  // In poll order: when one channel appears in several cases, which of them a peer
  // meets first is then random too (Go's TestPseudoRandomSend).
  for (std::size_t k = 0; k < ncases; ++k) {
    const std::size_t i = order[k];
    Waiter& w = *::new (&waiters[queued++]) Waiter;
    w.task = me.task;
    w.thread = me.thread;
    w.select = &state;
    w.case_index = static_cast<std::uint32_t>(i);
    w.elem = cases[i].elem;
    w.chan = cases[i].chan;
    w.sending = cases[i].kind == SelectCaseView::Kind::send;
    (cases[i].kind == SelectCaseView::Kind::recv ? w.chan->recvq : w.chan->sendq).push_back(&w);
  }
  auto dequeue_losers = [&] {
    locks.lock_all();
    for (std::size_t k = 0; k < queued; ++k) {
      Waiter& w = waiters[k];
      (cases[w.case_index].kind == SelectCaseView::Kind::recv ? w.chan->recvq : w.chan->sendq)
          .remove(&w);
    }
    locks.unlock_all();
  };
  park_or_leave({diag::WaitReason::select, where, nullptr, waiters, static_cast<std::uint32_t>(queued)},
                unlock_all, &locks, [&] {
                  dequeue_losers();
                  // With every waiter off its queue under all the locks, no peer can claim
                  // the select any more; one that did before is about to wake us.
                  return state.done.load(std::memory_order_acquire) != 0;
                });
  dequeue_losers();
  Waiter* winner = state.winner;
  const std::size_t fired = winner->case_index;
  if (cases[fired].kind == SelectCaseView::Kind::send && !winner->success) {
    const SendOnClosedInSelect select{fired, true};
    throw_send_on_closed(where, &select);
  }
  return fired;
}

std::size_t select_range(SelectCaseView* views, std::size_t n, const std::source_location& where) {
  std::size_t defaults = 0;
  for (std::size_t i = 0; i < n; ++i) defaults += views[i].kind == SelectCaseView::Kind::fallback;
  if (defaults > 1)
    throw std::invalid_argument("goro::select at " + std::string(where.file_name()) + ":" +
                                std::to_string(where.line()) + ": " + std::to_string(defaults) +
                                " enabled default cases (a select takes at most one)");
  if (n > std::numeric_limits<std::uint32_t>::max())
    throw std::invalid_argument("goro::select at " + std::string(where.file_name()) + ":" +
                                std::to_string(where.line()) + ": more than 2^32 - 1 cases");
  return select_core(views, n, where);
}

}  // namespace goro::detail
