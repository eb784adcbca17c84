// runtime/src/bubble.cpp — goro::testing::bubble and wait_blocked: the driver loop of a
// bubble (bubble.hpp states its invariants and lock discipline), its virtual clock, and
// the schedule points of exploration (goro/detail/schedule_point.hpp).
#include "bubble.hpp"


#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <typeinfo>

#include "goro/bubble.hpp"
#include "goro/detail/park.hpp"
#include "diag_hooks.hpp"
#include "goro/detail/schedule_point.hpp"
#include "goro/detail/timer.hpp"
#include "park_hooks.hpp"
#include "registry.hpp"
#include "sanitizers.hpp"
#include "scheduler.hpp"
#include "switch.hpp"
#include "wait_record.hpp"

namespace goro::detail {

std::atomic<int> g_bubbles_live{0};
std::atomic<int> g_exploring_bubbles{0};

namespace {

thread_local Bubble* t_bubble = nullptr;

// A bubble whose body returned lets its tasks run on; past this much virtual time they
// count as leaked (a Ticker nobody stops would otherwise keep the clock moving forever).
constexpr std::int64_t kAfterBodyLimitNs = 24LL * 3600 * 1'000'000'000;

constexpr std::int64_t epoch_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             goro::testing::kBubbleEpoch.time_since_epoch())
      .count();
}

// Parked on something only a task of the bubble can release (bubble.hpp: "durably").
constexpr bool waits_durably(diag::WaitReason r) noexcept {
  return r != diag::WaitReason::io_wait && r != diag::WaitReason::syscall;
}

std::string describe(const TaskRecord& t) {
  std::string s = "task " + std::to_string(t.id);
  if (t.name) s += " \"" + std::string(task_name(t)) + "\"";
  s += std::string(" (spawned at ") + t.spawn_site.file_name() + ":" +
       std::to_string(t.spawn_site.line()) + ")";
  return s;
}

std::string describe(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return demangled(typeid(e).name()) + ": " + e.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

std::string virtual_time(std::int64_t ns) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "+%.3fs", static_cast<double>(ns - epoch_ns()) / 1e9);
  return buf;
}

}  // namespace

std::int64_t bubble_now_ns() noexcept {
  const Bubble* b = t_bubble;
  return b != nullptr ? b->now() : -1;
}

Bubble::Bubble(BubblePolicy policy) : policy_(policy), now_(epoch_ns()), rng_(policy.seed) {
  if (policy_.kind == BubblePolicy::Kind::pct) {
    // d - 1 change points; the i-th drops the running task to priority d - 1 - i, below
    // every initial priority (>= d).
    for (int i = 0; i + 1 < policy_.pct_depth; ++i)
      change_points_.push_back(1 + next_random() % static_cast<std::uint64_t>(policy_.pct_steps));
    next_low_priority_ = policy_.pct_depth - 1;
  }
}

Bubble::~Bubble() = default;

std::uint64_t Bubble::next_random() noexcept {  // splitmix64
  std::uint64_t z = (rng_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint32_t Bubble::random32() noexcept { return static_cast<std::uint32_t>(next_random() >> 32); }

std::int64_t Bubble::priority_of(TaskRecord* t) {
  auto [it, fresh] = priority_.try_emplace(t->id, 0);
  if (fresh) it->second = policy_.pct_depth + static_cast<std::int64_t>(next_random() >> 2);
  return it->second;
}

void Bubble::run(std::function<void()>& body) {
  if (this_worker() != nullptr)
    throw std::logic_error(
        "goro::testing::bubble: called from a goro task (or a worker thread); call it from a "
        "plain thread, such as the test's own, and spawn from inside the body instead");
  Config cfg;
  cfg.workers = 1;
  cfg.leak_policy = LeakPolicy::off;                // the bubble reports leaks itself
  cfg.on_panic = PanicPolicy::log_and_continue;    // task_threw() sees every exception
  rt_ = std::make_unique<Runtime>(cfg, /*is_default=*/false);
  rt_->bubble = this;
  rt_->start();  // fills workers_[0]; a bubble's start() runs no thread
  worker_ = rt_->workers_[0].get();
  worker_->tsan_fiber = sanitizers::tsan_current_fiber();

  struct Enter {
    Bubble* b;
    explicit Enter(Bubble* bubble) : b(bubble) {
      g_bubbles_live.fetch_add(1, std::memory_order_relaxed);
      if (b->exploring()) g_exploring_bubbles.fetch_add(1, std::memory_order_relaxed);
      t_bubble = b;
      set_this_worker(b->worker_);
    }
    ~Enter() {
      set_this_worker(nullptr);
      t_bubble = nullptr;
      if (b->exploring()) g_exploring_bubbles.fetch_sub(1, std::memory_order_relaxed);
      g_bubbles_live.fetch_sub(1, std::memory_order_relaxed);
    }
  } enter(this);

  SpawnOptions opts{.name = "main"};
  std::function<void()>* fn = &body;
  TaskRecord* t = rt_->create_task(
      &opts, std::source_location::current(), sizeof(MainClosure), alignof(MainClosure),
      [](void* storage, void* src) {
        ::new (storage) MainClosure{*static_cast<std::function<void()>**>(src)};
      },
      &fn, closure_ops<MainClosure>);
  main_id_ = t->id;
  rt_->set_main_task(main_id_);
  rt_->ready(t);
  drive();  // throws BubbleFailure after unwinding, on a failure
  unwind_and_close();
  if (main_exception_) std::rethrow_exception(main_exception_);
}

void Bubble::drive() {
  for (;;) {
    std::string failure;
    {
      std::lock_guard guard(mu_);
      failure = failure_;
    }
    if (!failure.empty()) fail(failure);
    const bool body_done = rt_->main_done.load(std::memory_order_acquire) != 0;
    if (body_done) {
      if (body_returned_at_ < 0) body_returned_at_ = now_;
      if (main_exception_ || rt_->live_tasks() == 0) return;
    }
    if (rt_->next_timer_ns() <= now_) run_due_timers();
    if (TaskRecord* t = pick()) {
      if (++picks_ > policy_.max_picks && policy_.max_picks != 0)
        fail("livelock: " + std::to_string(policy_.max_picks) +
             " scheduling decisions without the bubble ending (tasks that keep yielding, or "
             "a select loop on a closed channel?)");
      run_one(t);
      continue;
    }
    if (waits_outside()) {
      wait_outside();
      continue;
    }
    // Every other task is durably blocked: wait_blocked() returns before time moves.
    if (TaskRecord* waiter = std::exchange(wait_blocked_waiter_, nullptr)) {
      rt_->ready(waiter);
      continue;
    }
    const std::int64_t next = rt_->next_timer_ns();
    if (next != TimerHeap::kEmpty) {
      if (body_done && next - body_returned_at_ > kAfterBodyLimitNs)
        fail("leak: the body returned at " + virtual_time(body_returned_at_) + ", and " +
             std::to_string(rt_->live_tasks()) +
             " task(s) still ran on timers 24 hours (virtual) later; a Ticker or a "
             "periodic loop nobody stops? Stop them before the body returns.");
      now_ = std::max(now_, next);
      run_due_timers();
      continue;
    }
    if (body_done)
      fail("leak: the body returned at " + virtual_time(body_returned_at_) + ", but " +
           std::to_string(rt_->live_tasks()) +
           " task(s) remain, every one durably blocked with no timer pending: nothing can "
           "ever wake them. Close their channels, cancel their contexts, or wait for them "
           "(WaitGroup) before the body returns.");
    fail("deadlock: every task of the bubble, the body's included, is durably blocked at " +
         virtual_time(now_) + " and no timer is pending: none can ever run again.");
  }
}

TaskRecord* Bubble::pick() {
  std::lock_guard guard(mu_);
  if (runnable_.empty()) return nullptr;
  std::size_t i = 0;
  switch (policy_.kind) {
    case BubblePolicy::Kind::fifo:
      break;
    case BubblePolicy::Kind::random:
      i = static_cast<std::size_t>(next_random() % runnable_.size());
      break;
    case BubblePolicy::Kind::pct: {
      std::int64_t best = priority_of(runnable_[0]);
      for (std::size_t k = 1; k < runnable_.size(); ++k)
        if (const std::int64_t p = priority_of(runnable_[k]); p > best) {
          best = p;
          i = k;
        }
      break;
    }
  }
  TaskRecord* t = runnable_[i];
  runnable_.erase(runnable_.begin() + static_cast<std::ptrdiff_t>(i));
  return t;
}

void Bubble::run_one(TaskRecord* t) {
  // Only t can end during execute(); it was freed if the live count did not grow by the
  // tasks it spawned.
  const std::uint64_t spawned = worker_->spawned.load(std::memory_order_relaxed);
  const std::int64_t live = worker_->live_delta.load(std::memory_order_relaxed);
  rt_->execute(worker_, t);
  const auto grew = static_cast<std::int64_t>(worker_->spawned.load(std::memory_order_relaxed) - spawned);
  const bool freed = worker_->live_delta.load(std::memory_order_relaxed) < live + grew;
  // Its wait began now in virtual time (park stamped the real clock's copy).
  if (!freed && t->state.load(std::memory_order_relaxed) == TaskState::parked)
    t->blocked_since_ns.store(now_, std::memory_order_relaxed);
}

bool Bubble::run_due_timers() {
  // now_ns() reads now_ on this thread, so the runtime's own pass fires what is due.
  return rt_->run_due_timers(worker_);
}

bool Bubble::waits_outside() const {
  // Called with runnable_ empty. A ready() from another thread changes a task's state and
  // queues it under mu_, so under mu_ a task is either queued or still parked.
  std::lock_guard guard(mu_);
  if (!runnable_.empty()) return true;  // raced in: not idle after all
  bool outside = false;
  const Runtime* rt = rt_.get();
  registry_for_each([&](const TaskRecord& t) {
    if (outside || t.runtime != rt) return;
    if (t.state.load(std::memory_order_acquire) != TaskState::parked) return;
    const WaitSite* site = t.wait_site.load(std::memory_order_acquire);
    if (site != nullptr && !waits_durably(site->reason)) outside = true;
  });
  return outside;
}

void Bubble::wait_outside() {
  if (rt_->netpoll().has_waiters()) {
    PollBatch batch;
    rt_->netpoll().poll_now(batch);
    for (int i = 0; i < batch.count; ++i) rt_->ready(batch.tasks[i]);
    if (batch.count > 0) return;
  }
  std::unique_lock lock(mu_);
  outside_ready_.wait_for(lock, std::chrono::milliseconds(1),
                          [&] { return !runnable_.empty() || !failure_.empty(); });
}

void Bubble::ready(TaskRecord* t) noexcept {
  const bool outsider = t_bubble != this;
  if (outsider) [[unlikely]] {
    std::lock_guard guard(mu_);
    const WaitSite* site = t->wait_site.load(std::memory_order_acquire);
    if (site != nullptr && waits_durably(site->reason) && failure_.empty()) {
      try {
        failure_ = describe(*t) + ", durably blocked (" + std::string(diag::to_string(site->reason)) +
                   " at " + site->where.file_name() + ":" + std::to_string(site->where.line()) +
                   "), was woken by a thread outside the bubble (a plain thread, or a task "
                   "of another runtime). The bubble cannot control such wake-ups: share goro "
                   "objects only among the tasks of one bubble.";
      } catch (...) {
        failure_ = "a durably blocked task was woken from outside the bubble";
      }
    }
    t->state.store(TaskState::runnable, std::memory_order_relaxed);
    clear_wait(t);
    if (!rt_->unwinding()) runnable_.push_back(t);
    outside_ready_.notify_one();
    return;
  }
  t->state.store(TaskState::runnable, std::memory_order_relaxed);
  clear_wait(t);
  if (rt_->unwinding()) return;  // the unwinder resumes it
  std::lock_guard guard(mu_);
  runnable_.push_back(t);
}

void Bubble::requeue(TaskRecord* t) noexcept {
  std::lock_guard guard(mu_);
  runnable_.push_back(t);
}

void Bubble::task_threw(TaskRecord* t, std::exception_ptr error) noexcept {
  if (t->id == main_id_) {
    main_exception_ = std::move(error);
    return;
  }
  std::lock_guard guard(mu_);
  if (!failure_.empty()) return;
  try {
    failure_ = describe(*t) + " ended with an uncaught exception: " + describe(error);
  } catch (...) {
    failure_ = "a task ended with an uncaught exception";
  }
}

void Bubble::schedule_point(TaskRecord* current) noexcept {
  if (rt_->unwinding()) return;
  ++steps_;
  bool yield = false;
  if (policy_.kind == BubblePolicy::Kind::random) {
    yield = (next_random() & 1) != 0;
  } else if (policy_.kind == BubblePolicy::Kind::pct) {
    try {
      for (std::uint64_t point : change_points_)
        if (point == steps_) priority_[current->id] = next_low_priority_--;
      const std::int64_t mine = priority_of(current);
      std::lock_guard guard(mu_);
      for (TaskRecord* other : runnable_)
        if (priority_of(other) > mine) yield = true;
    } catch (...) {  // out of memory for the priority table: just do not yield
      yield = false;
    }
  }
  if (yield) task_yield_nothrow();
}

void Bubble::wait_blocked(std::source_location where) {
  Worker* w = this_worker();
  TaskRecord* self = w != nullptr ? w->current : nullptr;
  if (self == nullptr || self->runtime != rt_.get())
    throw std::logic_error(
        "goro::testing::wait_blocked: called outside a task of this bubble; call it from the "
        "body of goro::testing::bubble (or a task it spawned)");
  if (wait_blocked_waiter_ != nullptr)
    throw std::logic_error("goro::testing::wait_blocked: " + describe(*wait_blocked_waiter_) +
                           " is waiting in it already; only one task of a bubble may wait "
                           "at a time (as Go's synctest.Wait)");
  wait_blocked_waiter_ = self;
  park(WaitSite{diag::WaitReason::bubble_wait, where}, nullptr, nullptr);
}

void Bubble::fail(const std::string& reason) {
  std::string message = "goro::testing::bubble: " + reason + "\n";
  // On this thread coarse_now_ns() is the virtual clock: the ages are virtual too.
  message += live_task_report(rt_.get(), 0);
  unwind_and_close();
  throw goro::testing::BubbleFailure(message);
}

void Bubble::unwind_and_close() {
  wait_blocked_waiter_ = nullptr;
  rt_->stop_workers();  // no thread to join: marks the runtime stopping
  if (rt_->live_tasks() > 0) {
    unwind_newest_first();
    rt_->unwind_all_tasks();  // what blocked again while unwinding, and the timers
  }
  if (rt_->live_tasks() > 0)
    (void)rt_.release();  // tasks that could not be unwound still point at it
  else
    rt_.reset();
}

// Tasks of a test capture the body's locals by reference: a task must unwind before the
// task that spawned it, whose frame it may point into, and the body's task last. Task
// ids grow with every spawn here (one worker), so newest first is children first.
void Bubble::unwind_newest_first() {
  if (!rt_->unwinding_.exchange(true, std::memory_order_seq_cst))
    g_park_hooks.fetch_add(kParkHookUnwindingRuntime, std::memory_order_seq_cst);
  {
    std::lock_guard guard(mu_);
    runnable_.clear();  // the registry is the list of what is left
  }
  const Runtime* rt = rt_.get();
  std::vector<TaskId> ids;
  registry_for_each([&](const TaskRecord& t) {
    if (t.runtime == rt) ids.push_back(t.id);
  });
  std::sort(ids.begin(), ids.end(), std::greater<>());
  for (TaskId id : ids) {
    TaskRecord* task = nullptr;  // looked up again: an earlier one may have ended
    registry_for_each([&](const TaskRecord& t) {
      if (t.runtime == rt && t.id == id) task = const_cast<TaskRecord*>(&t);
    });
    if (task == nullptr) continue;
    const TaskState s = task->state.load(std::memory_order_relaxed);
    if (s != TaskState::parked && s != TaskState::runnable) continue;
    clear_wait(task);  // resumed without ready() (wait_record.hpp)
    rt_->execute(worker_, task);
  }
}

void schedule_point_slow() noexcept {
  Bubble* b = t_bubble;
  if (b == nullptr || !b->exploring()) return;
  Worker* w = this_worker();
  if (w == nullptr || w->current == nullptr || w->current->runtime->bubble != b) return;
  b->schedule_point(w->current);
}

std::uint32_t select_random() noexcept {
  Bubble* b = t_bubble;
  if (b != nullptr && b->exploring()) return b->random32();
  return fast_random();
}

}  // namespace goro::detail

namespace goro::testing {

void bubble(std::function<void()> body) {
  if (!body) throw std::invalid_argument("goro::testing::bubble: the body is empty");
  detail::Bubble b(detail::BubblePolicy{});
  b.run(body);
}

void wait_blocked(std::source_location where) {
  detail::Bubble* b = detail::t_bubble;
  if (b == nullptr)
    throw std::logic_error(
        "goro::testing::wait_blocked: called outside a bubble; call it from the body of "
        "goro::testing::bubble (or a task it spawned)");
  b->wait_blocked(where);
}

std::chrono::steady_clock::time_point now() noexcept {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(detail::now_ns()));
}

bool in_bubble() noexcept { return detail::t_bubble != nullptr; }

}  // namespace goro::testing
