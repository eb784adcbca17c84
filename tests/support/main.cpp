// main() for goro's test executables: GoogleTest, plus
//   * a per-test hang watchdog: a test that runs far longer than any test should
//     (minutes, not seconds) is named on stderr with goro's dump of blocked tasks,
//     and the process aborts, so that a hang becomes a visible failure;
//   * goro's leak listener (goro::gtest), when the library provides it: a test
//     that leaves tasks behind in the default runtime fails.
#include <goro/goro.hpp>
#if GORO_TEST_HAVE_GTEST_INTEGRATION
#include <goro/testing.hpp>
#endif

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

namespace {

#if defined(GORO_ASAN) || defined(GORO_TSAN)
constexpr std::chrono::seconds kHangLimit{300};
#else
constexpr std::chrono::seconds kHangLimit{120};
#endif

// Deliberately leaked (reachable from a global): the watchdog thread is detached
// and may outlive main's locals.
struct WatchdogState {
  std::mutex mu;
  std::condition_variable cv;
  bool armed = false;
  std::string test;
  std::chrono::steady_clock::time_point deadline;
};
WatchdogState* g_watchdog = nullptr;

void watchdog_loop(WatchdogState* s) {
  goro::NeverWakesTasks watchdog;  // it only aborts a hung test: no deadlock waits for it
  std::unique_lock<std::mutex> lk(s->mu);
  for (;;) {
    if (!s->armed) {
      s->cv.wait(lk);
      continue;
    }
    auto deadline = s->deadline;
    if (s->cv.wait_until(lk, deadline) == std::cv_status::timeout && s->armed &&
        std::chrono::steady_clock::now() >= s->deadline) {
      std::fprintf(stderr,
                   "\n[goro test watchdog] %s has not finished after %lld s: it hangs.\n"
                   "[goro test watchdog] blocked tasks:\n",
                   s->test.c_str(), static_cast<long long>(kHangLimit.count()));
      std::fflush(stderr);
      goro::diag::dump_blocked(std::cerr);
      std::cerr.flush();
      std::abort();
    }
  }
}

class HangWatchdog : public ::testing::EmptyTestEventListener {
 public:
  void OnTestStart(const ::testing::TestInfo& info) override {
    std::lock_guard<std::mutex> lk(g_watchdog->mu);
    g_watchdog->armed = true;
    g_watchdog->test = std::string(info.test_suite_name()) + "." + info.name();
    g_watchdog->deadline = std::chrono::steady_clock::now() + kHangLimit;
    g_watchdog->cv.notify_all();
  }
  void OnTestEnd(const ::testing::TestInfo&) override {
    std::lock_guard<std::mutex> lk(g_watchdog->mu);
    g_watchdog->armed = false;
    g_watchdog->cv.notify_all();
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  GTEST_FLAG_SET(death_test_style, "threadsafe");

  g_watchdog = new WatchdogState;
  std::thread(watchdog_loop, g_watchdog).detach();

  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  listeners.Append(new HangWatchdog);
#if GORO_TEST_HAVE_GTEST_INTEGRATION
  if (std::getenv("GORO_TEST_NO_LEAK_LISTENER") == nullptr)
    listeners.Append(goro::testing::make_leak_listener());
#endif
  return RUN_ALL_TESTS();
}
