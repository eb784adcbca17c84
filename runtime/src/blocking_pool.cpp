// runtime/src/blocking_pool.cpp — goro::blocking's pool; see blocking_pool.hpp for the
// invariants and goro/blocking.hpp for what callers are promised.
#include "blocking_pool.hpp"
#include "goro/deadlock.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "external_waits.hpp"
#include "thread_registry.hpp"
#include "goro/blocking.hpp"
#include "goro/detail/park.hpp"
#include "goro/detail/timer.hpp"
#include "log.hpp"
#include "scheduler.hpp"

namespace goro::detail {

namespace {
// How long a task that run() unwinds waits for its call to return before leaving its
// stack alone (the call may still use it).
constexpr std::int64_t kUnwindWaitNs = 2'000'000'000;

std::string site_text(const std::source_location& where) {
  return std::string(where.file_name()) + ":" + std::to_string(where.line()) + " in " + where.function_name();
}
}  // namespace

BlockingPool::~BlockingPool() = default;

unsigned BlockingPool::cap() {
  std::lock_guard guard(mutex_);
  if (cap_ != 0) return cap_;
  unsigned cap = configured_cap_;
  if (cap == 0) {
    cap = kDefaultCap;
    if (const char* env = std::getenv("GORO_BLOCKING_THREADS"); env != nullptr && *env != '\0') {
      char* end = nullptr;
      errno = 0;
      const long long v = std::strtoll(env, &end, 10);
      if (errno != 0 || end == env || *end != '\0' || v < 1 || v > 10000)
        throw std::invalid_argument(std::string("goro::blocking: GORO_BLOCKING_THREADS=\"") + env +
                                    "\" is not a whole number from 1 to 10000; set it to the most "
                                    "threads the blocking pool may use, or unset it (default 64)");
      cap = static_cast<unsigned>(v);
    }
  }
  cap_ = cap;
  return cap_;
}

void BlockingPool::join_exited_locked(std::unique_lock<std::mutex>& lock) {
  std::vector<std::thread> ended;
  for (std::thread::id id : exited_) {
    auto it = threads_.find(id);
    ended.push_back(std::move(it->second));
    threads_.erase(it);
  }
  exited_.clear();
  if (ended.empty()) return;
  lock.unlock();
  for (std::thread& t : ended) t.join();  // each has left thread_main: quick
  lock.lock();
}

void BlockingPool::submit(BlockingJob* job) {
  std::unique_lock lock(mutex_);
  join_exited_locked(lock);
  queue_.push_back(job);
  if (queue_.size() <= idle_) {
    work_.notify_one();
  } else if (threads_.size() < cap_) {
    try {
      std::thread thread(
          [this, note = note_thread_created("goro blocking pool")] { thread_main(); });
      const std::thread::id id = thread.get_id();
      threads_.emplace(id, std::move(thread));
    } catch (const std::system_error& e) {
      // Runs in park's release step, which must not throw: the job waits for a thread.
      logger().error("goro::blocking: cannot start a blocking-pool thread ({}); the call at {} waits "
                     "for one of the {} running ones", e.what(), site_text(job->where), threads_.size());
    }
  }
  // else: every thread is busy; the first to finish takes this job.
}

void BlockingPool::thread_main() {
  // A call in flight is counted as an ExternalWait; between calls the thread wakes nobody.
  goro::NeverWakesTasks bystander;
  std::unique_lock lock(mutex_);
  for (;;) {
    while (queue_.empty()) {
      if (stopping_) {
        exited_.push_back(std::this_thread::get_id());
        drained_.notify_all();
        return;
      }
      ++idle_;
      const bool timed_out = work_.wait_for(lock, kIdleTimeout) == std::cv_status::timeout;
      --idle_;
      if (timed_out && queue_.empty()) {
        exited_.push_back(std::this_thread::get_id());
        drained_.notify_all();
        return;
      }
    }
    BlockingJob* job = queue_.front();
    queue_.pop_front();
    running_.push_back(job);
    lock.unlock();
    job->call->invoke(job->call);
    TaskRecord* task = job->task;
    lock.lock();
    running_.erase(std::find(running_.begin(), running_.end(), job));
    lock.unlock();
    ready_task(task);  // the outcome is in the task's frame: publish it
    job->finished.store(true, std::memory_order_release);
    job->unref();
    lock.lock();
  }
}

bool BlockingPool::shutdown(std::chrono::nanoseconds bound, const char* ending) {
  std::unique_lock lock(mutex_);
  if (abandoned_) return false;
  stopping_ = true;
  work_.notify_all();
  const auto give_up = std::chrono::steady_clock::now() + bound;
  for (;;) {
    join_exited_locked(lock);
    if (threads_.empty()) return true;
    if (drained_.wait_until(lock, give_up) == std::cv_status::timeout) {
      join_exited_locked(lock);
      if (threads_.empty()) return true;
      break;
    }
  }
  std::string calls;
  for (const BlockingJob* job : running_) calls += "\n  goro::blocking called at " + site_text(job->where);
  logger().error(
      "goro: {} blocking-pool thread(s) still running a call {} after {}; they are left "
      "running and their tasks' stacks are kept (leaked). Make the call return (a timeout on "
      "the blocking operation) before that.{}",
      threads_.size(),
      std::chrono::duration_cast<std::chrono::milliseconds>(bound).count() >= 1000
          ? std::to_string(std::chrono::duration_cast<std::chrono::seconds>(bound).count()) + " s"
          : std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(bound).count()) + " ms",
      ending, calls);
  for (auto& [id, thread] : threads_) thread.detach();
  threads_.clear();
  abandoned_ = true;  // the detached threads still use this object: never free it
  return false;
}

// ------------------------------------------------------------------------ run_blocking

namespace {

struct JobRef {
  BlockingJob* job;
  ~JobRef() { job->unref(); }
};

// Destroyed while run() unwinds the task (TaskUnwind out of park): the call may still
// run and use the task's stack, so wait for it; after kUnwindWaitNs, report it and park
// for good (run() reports the task as one it could not unwind, and keeps its stack).
struct WaitForCallIfUnwound {
  BlockingJob* job;
  const WaitSite* site;
  ~WaitForCallIfUnwound() {
    if (std::uncaught_exceptions() == 0) return;  // returned normally: the call is done
    const std::int64_t give_up = now_ns() + kUnwindWaitNs;
    while (!job->finished.load(std::memory_order_acquire) && now_ns() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (job->finished.load(std::memory_order_acquire)) return;
    logger().error(
        "goro::run: a goro::blocking call at {} was still running 2 s after run() began "
        "unwinding its task; the task is left parked so the call can keep using its stack",
        site_text(job->where));
    for (;;) park(*site, nullptr, nullptr);  // during unwinding: parks for good
  }
};

struct SubmitArgs {
  BlockingPool* pool;
  BlockingJob* job;
};

}  // namespace

void run_blocking(BlockingCall& call, const std::source_location& where) {
  Worker* w = this_worker();
  BlockingPool& pool = w->rt->blocking_pool();
  (void)pool.cap();  // a malformed $GORO_BLOCKING_THREADS throws here, at the caller
  auto* job = new BlockingJob;
  job->call = &call;
  job->task = w->current;
  job->where = where;
  JobRef ref{job};
  ExternalWait in_flight;
  const WaitSite site{diag::WaitReason::syscall, where};
  WaitForCallIfUnwound wait_if_unwound{job, &site};
  SubmitArgs args{&pool, job};
  // Submitted from park's release step, so the pool cannot ready a task still running.
  park(site, [](void* p) {
    auto* a = static_cast<SubmitArgs*>(p);
    a->pool->submit(a->job);
  }, &args);
}

}  // namespace goro::detail
