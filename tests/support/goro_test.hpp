// Shared helpers for goro's own tests.
//
// Rules the tests follow (see tests/README.md):
//   * no timing thresholds: assertions are about order and counts only;
//   * nothing may hang: every wait that a bug could turn into a hang is either
//     bounded by a generous watchdog (a select against goro::after) whose firing
//     is an assertion failure, or is covered by the per-test hang watchdog that
//     tests/support/main.cpp installs (it prints the test and the blocked tasks,
//     then aborts);
//   * iteration counts scale down under sanitizers (GORO_ASAN / GORO_TSAN).
#pragma once

#include <goro/goro.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>
#include <sys/wait.h>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

namespace gt {

// Runs a shell command, returning its stdout (add 2>&1 to the command for stderr too)
// and exit code (128 + signal number when killed; -1 if it could not be started).
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
inline CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) r.output.append(buf, n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

#if defined(GORO_TSAN)
inline constexpr int kSlowdown = 20;
#elif defined(GORO_ASAN)
inline constexpr int kSlowdown = 5;
#else
inline constexpr int kSlowdown = 1;
#endif
inline constexpr bool kSanitized = kSlowdown > 1;

// n scaled down for sanitizer builds, never below `at_least`.
constexpr int scaled(int n, int at_least = 1) {
  int s = n / kSlowdown;
  return s < at_least ? at_least : s;
}

// TSan models every fiber as a thread and dies past 8128 live ones ("Thread limit
// exceeded"), so under TSan no test keeps more than this many tasks alive at once.
#if defined(GORO_TSAN)
inline constexpr int kMaxLiveTasks = 4000;
#else
inline constexpr int kMaxLiveTasks = 1 << 30;
#endif
constexpr int live_tasks(int n) { return n < kMaxLiveTasks ? n : kMaxLiveTasks; }

// How long a test waits for something that should happen "at once" before it
// declares a hang. Generous: the machine is shared and noisy. It is a watchdog,
// never a performance threshold.
inline constexpr std::chrono::seconds kWatchdog{kSanitized ? 120 : 30};

// Result of a receive bounded by the watchdog.
template <class T>
struct Timed {
  bool timed_out = false;
  std::optional<T> value;  // nullopt with !timed_out: the channel was closed
};

// Receives one value from `ch`, or gives up when `limit` passes.
template <class T>
Timed<T> recv_for(goro::Channel<T>& ch, std::chrono::nanoseconds limit = kWatchdog) {
  std::optional<T> v;
  std::optional<TimePoint> fired;
  auto timer = goro::after(limit);
  std::size_t i = goro::select(goro::recv_case(ch, v), goro::recv_case(timer, fired));
  Timed<T> r;
  r.timed_out = (i == 1);
  r.value = std::move(v);
  return r;
}

// Receives up to `n` values from `ch` (discarding them); stops early when the
// channel is closed and drained or the watchdog fires. Returns how many arrived.
template <class T>
std::size_t drain_n(goro::Channel<T>& ch, std::size_t n,
                    std::chrono::nanoseconds limit = kWatchdog) {
  auto timer = goro::after(limit);
  std::size_t got = 0;
  while (got < n) {
    std::optional<T> v;
    std::optional<TimePoint> fired;
    if (goro::select(goro::recv_case(ch, v), goro::recv_case(timer, fired)) == 1) break;
    if (!v) break;
    ++got;
  }
  return got;
}

// Polls until pred() is true; false when the watchdog passes first. Works on a
// plain thread and inside a task (goro::sleep_for parks a task).
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::nanoseconds limit = kWatchdog) {
  const auto deadline = Clock::now() + limit;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= deadline) return false;
    goro::sleep_for(1ms);
  }
}

// The diag record of task `id`, if it is alive.
inline std::optional<goro::diag::TaskInfo> task_info(goro::TaskId id) {
  for (auto& t : goro::diag::tasks())
    if (t.id == id) return t;
  return std::nullopt;
}

// Waits until task `id` is parked with `reason` (as diag::tasks() reports it).
// This is how a test knows, without any timing assumption, that an operation
// really blocked.
inline bool wait_blocked(goro::TaskId id, goro::diag::WaitReason reason,
                         std::chrono::nanoseconds limit = kWatchdog) {
  return eventually(
      [&] {
        auto t = task_info(id);
        return t && t->reason == reason;
      },
      limit);
}

// For plain threads, which diag does not list: give a blocked operation a
// moment to (wrongly) complete. Used only as "must still be blocked" checks,
// which a correct implementation passes however slow the machine is.
inline void settle() { std::this_thread::sleep_for(20ms); }

// Increments a counter when destroyed: proves that a task's stack was unwound.
struct DtorCounter {
  std::atomic<int>* count;
  explicit DtorCounter(std::atomic<int>& c) : count(&c) {}
  DtorCounter(const DtorCounter&) = delete;
  DtorCounter& operator=(const DtorCounter&) = delete;
  ~DtorCounter() { count->fetch_add(1); }
};

// A value type that counts its live instances: catches values that a channel
// copies too often, never destroys, or destroys twice.
struct Counted {
  static std::atomic<long>& live() {
    static std::atomic<long> n{0};
    return n;
  }
  int v = 0;
  explicit Counted(int x = 0) : v(x) { live().fetch_add(1); }
  Counted(const Counted& o) : v(o.v) { live().fetch_add(1); }
  Counted(Counted&& o) noexcept : v(o.v) { live().fetch_add(1); }
  Counted& operator=(const Counted&) = default;
  Counted& operator=(Counted&&) noexcept = default;
  ~Counted() { live().fetch_sub(1); }
};

// The message of the std::invalid_argument f() throws ("" and a test failure if none).
template <class F>
std::string invalid_argument_of(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "no std::invalid_argument thrown";
  return "";
}

// Sets an environment variable for one scope and restores its old value (or unsets it)
// afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace gt

// Asserts that a receive bounded by the watchdog got a value; binds it to `var`.
#define GT_ASSERT_RECV(var, ch)                                              \
  auto var##_timed = ::gt::recv_for(ch);                                    \
  ASSERT_FALSE(var##_timed.timed_out) << "watchdog fired receiving from " #ch; \
  ASSERT_TRUE(var##_timed.value.has_value()) << #ch " was closed";          \
  [[maybe_unused]] auto var = std::move(*var##_timed.value)
