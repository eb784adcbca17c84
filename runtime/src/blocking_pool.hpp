// runtime/src/blocking_pool.hpp — the threads goro::blocking runs calls on (tokio's
// spawn_blocking pool): one pool per runtime, started on first use.
//
//   pool.submit(job);          // from park()'s release step: the task is switched out
//   ...on a pool thread: job->call->invoke(job->call); ready the task
//   pool.shutdown(bound);      // run()'s end, or exit for the default runtime: idle
//                              // threads exit, busy ones get `bound`
//
// Invariants and lock discipline:
// - mutex_ guards queue_, threads_, idle_, exited_, stopping_, cap_; work_ (a condition
//   variable on mutex_) wakes idle threads. No lock is held while a call runs.
// - A submitted job is taken by exactly one thread. The pool grows (a new thread) only
//   when no thread is idle and fewer than cap_ exist; otherwise the job queues, and a
//   thread that finishes a call takes the next one before going idle: so a queued job
//   always has a thread coming for it, and nothing deadlocks on a full pool.
// - An idle thread exits after kIdleTimeout without work; it leaves its id in exited_,
//   and the next submit (or shutdown) joins it, so every thread is joined.
// - A Job lives on the heap, shared by the pool thread and the task (refs: 2). The pool
//   thread writes the call's outcome into the task's frame before readying the task, and
//   touches only the Job after that; the task waits for `finished` only while run()
//   unwinds it (blocking.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <source_location>
#include <thread>
#include <unordered_map>
#include <vector>

namespace goro::detail {

struct BlockingCall;
struct TaskRecord;

struct BlockingJob {
  BlockingCall* call = nullptr;
  TaskRecord* task = nullptr;
  std::source_location where;
  std::atomic<bool> finished{false};  // invoke returned and the task was readied
  std::atomic<int> refs{2};
  void unref() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

class BlockingPool {
 public:
  static constexpr std::chrono::seconds kIdleTimeout{10};
  static constexpr unsigned kDefaultCap = 64;

  explicit BlockingPool(unsigned configured_cap) : configured_cap_(configured_cap) {}
  ~BlockingPool();  // only after shutdown() returned true

  // The cap: Config::blocking_threads, else $GORO_BLOCKING_THREADS (a whole number in
  // 1..10000), else kDefaultCap. Throws std::invalid_argument for a malformed variable.
  unsigned cap();
  void submit(BlockingJob* job);
  // Stops the pool: waits up to `bound` for running calls, joins every thread that
  // ended; true when all did (false: some are still running a call, reported with the
  // site of each call and left, and this object must then never be destroyed).
  // `ending` names what ended, for that report. Idempotent.
  bool shutdown(std::chrono::nanoseconds bound, const char* ending = "the end of goro::run");

 private:
  void thread_main();
  void join_exited_locked(std::unique_lock<std::mutex>& lock);

  const unsigned configured_cap_;
  std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable drained_;  // a thread exited (shutdown waits on it)
  std::deque<BlockingJob*> queue_;
  std::unordered_map<std::thread::id, std::thread> threads_;
  std::vector<std::thread::id> exited_;
  std::vector<const BlockingJob*> running_;  // for shutdown's report
  unsigned idle_ = 0;
  unsigned cap_ = 0;  // 0: not resolved yet
  bool stopping_ = false;
  bool abandoned_ = false;  // shutdown gave up on running calls: the object must live on
};

}  // namespace goro::detail
