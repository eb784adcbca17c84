// diag/src/provable.cpp — which blocked tasks provably can never wake ("provable leaks").
//
// Definition. A task parked on a channel operation or a select (diag::is_channel_wait) is
// leaked when no code that can still run can reach any channel it waits on. Every other
// task (running, runnable, in sleep, on a WaitGroup or Mutex, ...) is never called leaked,
// and all of its memory counts as a root. That includes tasks in IO wait and in syscall
// (goro::blocking): the OS or a pool thread can wake them, so what they hold may still run.
//
// Ingredients.
// - Handles are recognisable (goro/detail/channel_state.hpp): a live handle at address A
//   is the word pair {c, c ^ A ^ kHandleMagic} and holds one reference of c->refs; a dead
//   or moved-from one has a zero tag (cleared by a store the compiler cannot drop). So a
//   word pair that passes the check at A *is* a live handle at A, and no handle is found
//   twice (the tag binds it to its address; byte copies, spills and saved registers do
//   not validate elsewhere).
// - refs(c) = live handles of c + transient references taken without a handle (diag's
//   own snapshots, this analysis: it holds exactly one per channel and subtracts it).
// - A task's memory: the live part of its stack, [saved stack pointer, stack top), and its
//   closure (TaskRecord::closure, closure_ops->size bytes), both frozen while it is parked.
//
// The analysis (one pass). B = tasks parked (odd park_epoch) with a channel wait; L = B.
// found(c) = handles of c found in the memory of tasks of L. A channel is reachable when
// refs(c) > found(c): some handle of c (or some reference) lives outside L's memory — in a
// running or runnable task, a plain thread, a global, a heap object, a pending timer —
// where code that can run may use it. Tasks waiting on a reachable channel may wake: they
// leave L, their memory becomes a root, so found() drops and more channels may become
// reachable; repeat to the fixpoint. What is left is leaked.
//
// References to handles. C++ code can reach a handle without holding one: a task spawned
// with [&] holds the address of its spawner's local Channel. If that spawner is blocked
// (in L) and the referring task runs, the channel is reachable though every handle of it
// lies in L's memory. So the analysis also scans the memory of every task outside L —
// closures, and stacks ([saved sp, top) for suspended tasks, the whole slot for running
// ones but the one running the analysis, which is scanned from the analysis' caller's
// frame up) — for words pointing into the memory of a task of L; such a task is "exposed":
// its handles count as roots (a pointer between two tasks of L is harmless until its
// holder leaves L, which then exposes the target). This is the one place where the
// guarantee rests on what can be seen: a pointer to a handle inside a blocked task's
// memory that is held ONLY in a heap object, a global, a plain thread or a running
// task's registers is not seen. Such code (e.g. a Channel* stored in a heap struct that a
// running task uses while the Channel itself sits in a blocked task's frame) could get a
// false verdict. Holding a copy of the handle instead of its address is always safe.
//
// Why no false positive (given the above). Let t be reported. Each task of L had all of
// its handles counted (refs) and those found in L's memory are real, distinct handles
// there; refs(c) == found(c) for every channel c waited on by L therefore means every
// reference to c is a handle inside L's memory, and (pointer scan) no code outside L
// holds an address into that memory. The tasks of L cannot run (they are parked and no
// waker can reach their channels: waking needs an operation on the channel, through a
// handle or a raw pointer derived from one by its holder); so nothing can create a new
// handle of c, and the state is frozen: the leaked set is stable forever.
//
// Consistency while tasks run. Nothing is stopped. Each task is read under its registry
// shard lock (its record, closure and stack slot cannot be freed) and its stack is read
// racily, like a conservative GC scanner does (the scanners are not instrumented by
// ASan/TSan). The verdict is only reported when
//   - two full passes both find the task leaked, with the same refs for its channels;
//   - its park_epoch is the same odd value in pass 1, pass 2 and a final re-check made
//     after pass 2 read every refs() (so it stayed parked in the same park throughout, and
//     every read of its memory saw that frozen park), and its wait site is still set
//     (a waker clears it before readying the task, and clears it before it can drop its
//     own handle: our acquire load of refs() then sees that store);
//   - the fixpoint, recomputed on pass 2 with only the tasks passing those checks as
//     candidates, still keeps it (so no verdict depends on a task that moved).
// Channels seen by a pass are kept alive by the pass (one reference each), so addresses
// are never reused under it and refs() is never read from freed memory.
//
// Audit: every reference to a channel state is a handle, except the ones diag takes (which
// only make refs() larger: misses, never false verdicts). ChanHandle(ChanBase*) is only
// used with a fresh state (refs = 1); after()'s pending timer holds no handle, so it is
// counted here as one more reference (has_pending_timer); Context keeps a real handle in
// its (heap) state; select cases and waiters keep raw ChanState pointers, which are not
// references: the handle they came from is the caller's, counted where it lives, and
// outlives the select.
//
// Deliberate misses (only ever "not leaked", never a false "leaked"): handles in heap
// objects (even one owned by a leaked task), globals, plain threads; ASan's fake stack
// frames; Context's done channel while a Context or CancelFunc of it lives (its state is
// on the heap); tasks whose memory some visible word (even a stale one) points into.
// Stale words are mostly a stack slot's earlier owners' data, left in the frames a new
// task has not written yet; the first analysis turns on scrubbing of the top of recycled
// stacks (stack_pool.hpp), so that tasks spawned after it start clean; deeper stale words
// (below the top 1 KB) remain possible.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "goro/internal/inspect.hpp"
#include "snapshot.hpp"

namespace goro::diag::internal {

namespace {

using Addr = std::uintptr_t;
constexpr std::uint32_t kNone = UINT32_MAX;

struct Range {
  Addr lo = 0, hi = 0;  // [lo, hi)
};

// A task's closure and stack ranges; returns whether the stack range starts at a saved
// stack pointer (else it is the whole slot). Reads a field another thread writes (ctx):
// only trusted when the task's park_epoch is the same odd value before and after.
__attribute__((no_sanitize("address", "thread"), noinline)) bool memory_of(
    const detail::TaskRecord& t, bool suspended, Range* stack, Range* closure) {
  *closure = {};
  *stack = {};
  if (t.closure != nullptr && t.closure_ops != nullptr) {
    const auto lo = reinterpret_cast<Addr>(t.closure);
    *closure = {lo, lo + t.closure_ops->size};
  }
  if (t.stack == nullptr) return false;
  const detail::StackPool& pool = detail::StackPool::by_index(t.stack_pool_index);
  const auto bottom = reinterpret_cast<Addr>(pool.usable_bottom(t.stack));
  const auto top = reinterpret_cast<Addr>(pool.stack_top(t.stack));
  const auto sp = reinterpret_cast<Addr>(*static_cast<void* const volatile*>(&t.ctx));
  if (suspended && sp >= bottom && sp < top) {
    *stack = {sp, top};
    return true;
  }
  *stack = {bottom, top};  // running (or unknown): the whole slot
  return false;
}

// Appends (channel address, owner) for every live handle in r.
__attribute__((no_sanitize("address", "thread"), noinline)) void find_handles(
    Range r, std::uint32_t owner, std::vector<std::pair<Addr, std::uint32_t>>& out) {
  for (Addr a = (r.lo + 7) & ~Addr{7}; a + 16 <= r.hi; a += 8) {
    const Addr state = *reinterpret_cast<const volatile Addr*>(a);
    if (state == 0) continue;
    const Addr tag = *reinterpret_cast<const volatile Addr*>(a + 8);
    if (tag == (state ^ a ^ detail::kHandleMagic)) out.emplace_back(state, owner);
  }
}

// The memory ranges of the candidates, for "does this word point into one?". Most words
// do not: a hash set of the pages the ranges cover answers that with one probe, and only
// words in such a page are looked up among the sorted ranges.
class RangeIndex {
 public:
  void add(Range r, std::uint32_t owner) {
    if (r.lo < r.hi) entries_.push_back({r, owner});
  }
  void seal() {
    std::sort(entries_.begin(), entries_.end(),
              [](const Entry& a, const Entry& b) { return a.r.lo < b.r.lo; });
    std::size_t pages = 0;
    for (const Entry& e : entries_) pages += ((e.r.hi - 1) >> kPageShift) - (e.r.lo >> kPageShift) + 1;
    std::size_t slots = 16;
    while (slots < 2 * pages) slots *= 2;
    table_.assign(slots, 0);
    mask_ = slots - 1;
    for (const Entry& e : entries_)
      for (Addr page = e.r.lo >> kPageShift; page <= (e.r.hi - 1) >> kPageShift; ++page) {
        std::size_t i = slot_of(page);
        while (table_[i] != 0 && table_[i] != page + 1) i = (i + 1) & mask_;
        table_[i] = page + 1;
      }
  }
  std::uint32_t owner_of(Addr p) const {
    if (!page_listed(p >> kPageShift)) return kNone;
    auto it = std::upper_bound(entries_.begin(), entries_.end(), p,
                               [](Addr v, const Entry& e) { return v < e.r.lo; });
    if (it == entries_.begin()) return kNone;
    --it;
    return p < it->r.hi ? it->owner : kNone;
  }

 private:
  static constexpr int kPageShift = 12;
  struct Entry {
    Range r;
    std::uint32_t owner;
  };
  std::size_t slot_of(Addr page) const { return (page * 0x9E3779B97F4A7C15ull >> 17) & mask_; }
  bool page_listed(Addr page) const {
    if (table_.empty()) return false;
    for (std::size_t i = slot_of(page);; i = (i + 1) & mask_) {
      if (table_[i] == page + 1) return true;
      if (table_[i] == 0) return false;
    }
  }
  std::vector<Entry> entries_;
  std::vector<Addr> table_;  // open addressing: page + 1, 0 = empty
  std::size_t mask_ = 0;
};

// Calls hit(owner) for every word of r pointing into a candidate other than the scanned
// task itself. Most words of a stack point into that same stack or record (frame links,
// `this` of the task's own objects): `own_stack` and `own_record` filter them first.
template <class Hit>
__attribute__((no_sanitize("address", "thread"))) void find_pointers(Range r, const RangeIndex& index,
                                                                     Range own_stack, Range own_record,
                                                                     std::uint32_t self, Hit&& hit) {
  for (Addr a = (r.lo + 7) & ~Addr{7}; a + 8 <= r.hi; a += 8) {
    const Addr word = *reinterpret_cast<const volatile Addr*>(a);
    if (word - own_stack.lo < own_stack.hi - own_stack.lo) continue;
    if (word - own_record.lo < own_record.hi - own_record.lo) continue;
    const std::uint32_t owner = index.owner_of(word);
    if (owner != kNone && owner != self) hit(owner);
  }
}

struct Candidate {
  TaskId id;
  std::uint32_t epoch;
  std::size_t info_index;
  Range stack, closure;
};

// Compressed adjacency lists: row i is items[begin[i] .. begin[i+1]).
struct Rows {
  std::vector<std::uint32_t> begin, items;
  void build(std::size_t rows, const std::vector<std::pair<std::uint32_t, std::uint32_t>>& pairs) {
    begin.assign(rows + 1, 0);
    for (const auto& [row, item] : pairs) ++begin[row + 1];
    for (std::size_t i = 0; i < rows; ++i) begin[i + 1] += begin[i];
    items.resize(pairs.size());
    std::vector<std::uint32_t> at(begin.begin(), begin.end() - 1);
    for (const auto& [row, item] : pairs) items[at[row]++] = item;
  }
  template <class Fn>
  void each(std::uint32_t row, Fn&& fn) const {
    for (std::uint32_t k = begin[row]; k < begin[row + 1]; ++k) fn(items[k]);
  }
};

// One pass: a snapshot of every task plus what the analysis needs of the candidates.
struct Pass {
  std::vector<TaskInfo> infos;
  std::vector<Candidate> cands;
  std::vector<detail::ChanBase*> chans;  // each holds one reference taken by this pass
  std::unordered_map<const detail::ChanBase*, std::uint32_t> chan_index;
  std::vector<long> refs;                // refs() read after the scans, minus ours
  Rows waiters;      // channel -> candidates waiting on it
  Rows waits;        // candidate -> channels it waits on
  Rows handles;      // candidate -> channels of the handles found in its memory
  Rows points_into;  // candidate -> candidates its memory points into
  std::vector<char> exposed_from_outside;  // pointed into by memory of a non-candidate

  Pass() = default;
  Pass(const Pass&) = delete;
  Pass& operator=(const Pass&) = delete;
  ~Pass() {
    for (detail::ChanBase* c : chans)
      if (c->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) c->destroy(c);
  }
};

// `caller_sp`: the stack pointer of the task running the analysis (if any), whose own
// stack is live only above it. `earlier`: a pass still holding its references, or null.
void run_pass(Pass& p, Addr caller_sp, const Pass* earlier) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> wait_pairs;  // (candidate, channel)
  std::vector<std::pair<Addr, std::uint32_t>> found;                // (channel addr, candidate)
  p.infos = snapshot_tasks([&](const TaskVisit& v) {
    if (!is_channel_wait(v.info.reason) || (v.park_epoch & 1) == 0) return;
    Candidate c{v.record.id, v.park_epoch, v.info_index, {}, {}};
    if (!memory_of(v.record, true, &c.stack, &c.closure))
      return;  // no saved stack pointer: not a parked task after all (outside L)
    const auto index = static_cast<std::uint32_t>(p.cands.size());
    p.cands.push_back(c);
    for (detail::ChanBase* chan : v.waits) {
      auto [it, fresh] = p.chan_index.try_emplace(chan, static_cast<std::uint32_t>(p.chans.size()));
      if (fresh) {
        // Alive now (the snapshot holds a reference): keep it alive for the whole pass.
        chan->refs.fetch_add(1, std::memory_order_relaxed);
        p.chans.push_back(chan);
      }
      wait_pairs.emplace_back(index, it->second);
    }
    find_handles(c.stack, index, found);
    find_handles(c.closure, index, found);
  });
  const std::size_t n = p.cands.size();
  if (n == 0) return;

  std::vector<std::pair<std::uint32_t, std::uint32_t>> handle_pairs, channel_waiters;
  for (const auto& [addr, owner] : found) {
    // Compared by value only: a handle of a channel nobody here waits on is irrelevant.
    auto it = p.chan_index.find(reinterpret_cast<const detail::ChanBase*>(addr));
    if (it != p.chan_index.end()) handle_pairs.emplace_back(owner, it->second);
  }
  for (const auto& [cand, chan] : wait_pairs) channel_waiters.emplace_back(chan, cand);

  // References to the candidates' memory held by anyone else we can see.
  RangeIndex index;
  std::unordered_map<TaskId, std::uint32_t> by_id;
  for (std::uint32_t i = 0; i < n; ++i) {
    index.add(p.cands[i].stack, i);
    index.add(p.cands[i].closure, i);
    by_id.emplace(p.cands[i].id, i);
  }
  index.seal();
  p.exposed_from_outside.assign(n, 0);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> pointer_pairs;
  std::vector<std::uint32_t> last_seen_from(n, kNone);
  std::uint32_t scanner = 0;
  const TaskId self_task = current_task();
  detail::registry_for_each([&](const detail::TaskRecord& t) {
    ++scanner;
    auto it = by_id.find(t.id);
    const std::uint32_t self = it == by_id.end() ? kNone : it->second;
    auto hit = [&](std::uint32_t target) {
      if (last_seen_from[target] == scanner) return;
      last_seen_from[target] = scanner;
      if (self == kNone)
        p.exposed_from_outside[target] = 1;
      else
        pointer_pairs.emplace_back(self, target);
    };
    Range stack, closure;
    if (t.id == self_task && caller_sp != 0) {
      memory_of(t, false, &stack, &closure);
      stack.lo = std::max(stack.lo, caller_sp);
    } else if (self != kNone && t.park_epoch.load(std::memory_order_acquire) == p.cands[self].epoch) {
      stack = p.cands[self].stack;
      closure = p.cands[self].closure;
    } else {
      const detail::TaskState s = t.state.load(std::memory_order_acquire);
      memory_of(t, s == detail::TaskState::parked || s == detail::TaskState::runnable, &stack, &closure);
    }
    // The task's own record block (its record and, usually, its closure right after).
    const auto record = reinterpret_cast<Addr>(&t);
    const Range own_record{record, std::max(record + sizeof(detail::TaskRecord), closure.hi)};
    find_pointers(stack, index, stack, own_record, self, hit);
    find_pointers(closure, index, stack, own_record, self, hit);
  });

  // After every scan: the counts the fixpoint compares the found handles with.
  p.refs.resize(p.chans.size());
  for (std::size_t c = 0; c < p.chans.size(); ++c)
    p.refs[c] = p.chans[c]->refs.load(std::memory_order_acquire) - 1 -
                (earlier != nullptr && earlier->chan_index.count(p.chans[c]) ? 1 : 0) +
                (detail::has_pending_timer(p.chans[c]) ? 1 : 0);

  p.waits.build(n, wait_pairs);
  p.waiters.build(p.chans.size(), channel_waiters);
  p.handles.build(n, handle_pairs);
  p.points_into.build(n, pointer_pairs);
}

// The fixpoint: which candidates stay leaked when only those with allowed[i] may be.
std::vector<char> leaked_set(const Pass& p, const std::vector<char>& allowed) {
  const std::size_t n = p.cands.size(), m = p.chans.size();
  std::vector<char> in_l(allowed), exposed(p.exposed_from_outside);
  for (std::uint32_t i = 0; i < n; ++i)
    if (!in_l[i]) p.points_into.each(i, [&](std::uint32_t j) { exposed[j] = 1; });
  // A candidate's handles are subtracted ("hidden") while it is in L and not exposed.
  std::vector<long> found(m, 0);
  for (std::uint32_t i = 0; i < n; ++i)
    if (in_l[i] && !exposed[i]) p.handles.each(i, [&](std::uint32_t c) { ++found[c]; });
  std::vector<char> reachable(m, 0);
  std::vector<std::uint32_t> newly_reachable;
  for (std::uint32_t c = 0; c < m; ++c)
    if (p.refs[c] > found[c]) {
      reachable[c] = 1;
      newly_reachable.push_back(c);
    }
  auto unhide = [&](std::uint32_t i) {
    p.handles.each(i, [&](std::uint32_t c) {
      if (--found[c] < p.refs[c] && !reachable[c]) {
        reachable[c] = 1;
        newly_reachable.push_back(c);
      }
    });
  };
  auto expose = [&](std::uint32_t j) {
    if (exposed[j]) return;
    exposed[j] = 1;
    if (in_l[j]) unhide(j);
  };
  auto leave = [&](std::uint32_t i) {
    if (!in_l[i]) return;
    in_l[i] = 0;
    if (!exposed[i]) unhide(i);
    p.points_into.each(i, expose);  // now running code may follow those pointers
  };
  while (!newly_reachable.empty()) {
    const std::uint32_t c = newly_reachable.back();
    newly_reachable.pop_back();
    p.waiters.each(c, leave);
  }
  return in_l;
}

bool any(const std::vector<char>& v) {
  return std::find(v.begin(), v.end(), 1) != v.end();
}

}  // namespace

__attribute__((noinline)) std::vector<TaskInfo> tasks_with_verdicts() {
  // Everything below this frame is the analysis itself (scanned as dead stack otherwise).
  const auto caller_sp = reinterpret_cast<Addr>(__builtin_frame_address(0));
  // From now on tasks start on scrubbed stacks, free of their slot's earlier owners' words
  // (stack_pool.hpp): a stale pointer there would hide a leak from this scan.
  detail::StackPool::enable_scrubbing();
  Pass first;
  run_pass(first, caller_sp, nullptr);
  if (first.cands.empty()) return std::move(first.infos);
  const std::vector<char> first_leaked = leaked_set(first, std::vector<char>(first.cands.size(), 1));
  if (!any(first_leaked)) return std::move(first.infos);

  Pass second;
  run_pass(second, caller_sp, &first);
  const std::size_t n = second.cands.size();
  // Candidates of pass 2 that pass 1 also found leaked, in the same park, with the same
  // refs() for every channel they wait on.
  std::unordered_map<TaskId, std::uint32_t> first_by_id;
  for (std::uint32_t i = 0; i < first.cands.size(); ++i)
    if (first_leaked[i]) first_by_id.emplace(first.cands[i].id, i);
  std::vector<char> allowed(n, 0);
  std::unordered_map<TaskId, std::uint32_t> second_by_id;
  for (std::uint32_t i = 0; i < n; ++i) {
    auto it = first_by_id.find(second.cands[i].id);
    if (it == first_by_id.end() || first.cands[it->second].epoch != second.cands[i].epoch) continue;
    bool same_refs = true;
    second.waits.each(i, [&](std::uint32_t c) {
      auto f = first.chan_index.find(second.chans[c]);
      if (f == first.chan_index.end() || first.refs[f->second] != second.refs[c]) same_refs = false;
    });
    if (!same_refs) continue;
    allowed[i] = 1;
    second_by_id.emplace(second.cands[i].id, i);
  }
  // The final re-check, after pass 2 read every refs(): still in that park, not woken.
  // (The fence keeps every earlier racy read of task memory before these loads.)
  std::atomic_thread_fence(std::memory_order_acquire);
  detail::registry_for_each([&](const detail::TaskRecord& t) {
    auto it = second_by_id.find(t.id);
    if (it == second_by_id.end()) return;
    const Candidate& c = second.cands[it->second];
    if (t.park_epoch.load(std::memory_order_acquire) != c.epoch || !still_waiting(t))
      allowed[it->second] = 0;
    second_by_id.erase(it);
  });
  for (const auto& [id, i] : second_by_id) allowed[i] = 0;  // gone meanwhile
  const std::vector<char> leaked = leaked_set(second, allowed);
  for (std::uint32_t i = 0; i < n; ++i)
    if (leaked[i]) second.infos[second.cands[i].info_index].leaked = true;
  return std::move(second.infos);
}

void mark_provable_leaks(std::vector<TaskInfo>& tasks) {
  std::unordered_map<TaskId, bool> verdicts;
  for (const TaskInfo& t : tasks_with_verdicts())
    if (t.leaked) verdicts.emplace(t.id, true);
  for (TaskInfo& t : tasks) t.leaked = verdicts.count(t.id) > 0;
}

}  // namespace goro::diag::internal
