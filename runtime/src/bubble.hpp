// runtime/src/bubble.hpp — the bubble behind goro::testing::bubble and explore: a
// runtime whose one worker is the calling thread, whose clock is virtual, and whose
// scheduling decisions come from a policy (FIFO, or a seeded generator when exploring).
//
//   Bubble b(BubblePolicy{});        // fifo: bubble()
//   b.run(body);                     // throws BubbleFailure / body's exception
//
// How it plugs into the scheduler (each a one-branch hook in scheduler.cpp / park.cpp):
// - Runtime::start() fills workers_ but starts no thread when `bubble` is set; the
//   calling thread becomes workers_[0] and runs the loop in Bubble::drive().
// - Runtime::ready() hands every task to Bubble::ready() (the run set), and a yielding
//   task goes back there too (Runtime::execute); Bubble::pick() chooses what runs.
// - now_ns() / coarse_now_ns() return the virtual clock on the bubble's thread: every
//   goro timing there (timers, sleep, after, Timer/Ticker, Context, dump ages) is virtual.
//   Normal runtimes pay one relaxed load of g_bubbles_live and a branch not taken.
// - Runtime::quiescent() is false for a bubble: the bubble detects its own deadlocks.
// - run_task_body hands a bubble task's uncaught exception to Bubble::task_threw().
//
// Invariants:
// - Only the driver thread runs bubble tasks, fires its timers and moves its clock. Other
//   threads reach the bubble only through ready() (a goro::blocking call finishing, or
//   an outsider waking a task: an error when the task was durably blocked).
// - Virtual time moves only in drive(), only when the run set is empty, no task waits for
//   I/O or the blocking pool, and no wait_blocked() caller is due to be woken; it jumps to
//   the earliest pending timer and never goes back.
// - A decision (pick, yield at a schedule point, select_random) draws from rng_ only on
//   the driver thread, in an order fixed by the schedule so far: same seed, same schedule.
//
// Lock discipline: mu_ guards runnable_ and failure_ (ready() may come from any thread);
// the rest is the driver thread's. mu_ is a leaf lock: nothing is called while holding it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <source_location>
#include <string>
#include <unordered_map>
#include <vector>

#include "goro/runtime.hpp"

namespace goro::detail {

class Runtime;
struct Worker;
struct TaskRecord;

// Bubbles alive in the process: now_ns() takes its slow path only while this is nonzero.
extern std::atomic<int> g_bubbles_live;
// The virtual clock of the bubble the calling thread drives, or -1 when it drives none.
std::int64_t bubble_now_ns() noexcept;

struct BubblePolicy {
  enum class Kind : std::uint8_t { fifo, random, pct } kind = Kind::fifo;
  std::uint64_t seed = 0;
  int pct_depth = 3;
  int pct_steps = 64;
  // More scheduling decisions than this in one run: a livelock (0: no limit).
  std::uint64_t max_picks = 0;
};

class Bubble {
 public:
  explicit Bubble(BubblePolicy policy);
  ~Bubble();
  Bubble(const Bubble&) = delete;
  Bubble& operator=(const Bubble&) = delete;

  // Runs body as the main task on the calling thread; returns when every task has ended.
  void run(std::function<void()>& body);

  // --- hooks (scheduler.cpp) ---
  void ready(TaskRecord* t) noexcept;     // any thread
  void requeue(TaskRecord* t) noexcept;   // a task yielded (driver thread)
  void task_threw(TaskRecord* t, std::exception_ptr error) noexcept;  // driver thread

  // --- the driver thread's ---
  std::int64_t now() const noexcept { return now_; }
  bool exploring() const noexcept { return policy_.kind != BubblePolicy::Kind::fifo; }
  void schedule_point(TaskRecord* current) noexcept;
  std::uint32_t random32() noexcept;
  void wait_blocked(std::source_location where);
  std::uint64_t steps() const noexcept { return steps_; }

 private:
  void drive();
  TaskRecord* pick();
  void run_one(TaskRecord* t);
  bool waits_outside() const;  // some task waits for I/O or goro::blocking
  void wait_outside();
  bool run_due_timers();
  [[noreturn]] void fail(const std::string& reason);
  void unwind_and_close();
  void unwind_newest_first();
  std::int64_t priority_of(TaskRecord* t);
  std::uint64_t next_random() noexcept;

  BubblePolicy policy_;
  std::unique_ptr<Runtime> rt_;
  Worker* worker_ = nullptr;  // rt_->workers_[0]: the calling thread
  std::int64_t now_;
  std::int64_t body_returned_at_ = -1;
  TaskId main_id_ = 0;
  TaskRecord* wait_blocked_waiter_ = nullptr;
  std::exception_ptr main_exception_;

  mutable std::mutex mu_;
  std::condition_variable outside_ready_;  // a ready() from another thread
  std::vector<TaskRecord*> runnable_;      // guarded by mu_
  std::string failure_;                    // guarded by mu_: the first failure's reason

  std::uint64_t rng_;
  std::uint64_t steps_ = 0;
  std::uint64_t picks_ = 0;
  std::vector<std::uint64_t> change_points_;  // pct: steps where the running task drops
  std::int64_t next_low_priority_ = 0;        // pct: the next dropped task's priority
  std::unordered_map<TaskId, std::int64_t> priority_;  // pct, by task id
};

}  // namespace goro::detail
