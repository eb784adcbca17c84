// goro::blocking: the call runs on the blocking pool while the task parks ("syscall");
// values, references and exceptions come back; a full pool queues; plain threads call
// directly; the cap's environment variable is parsed strictly.
#include <goro/blocking.hpp>

#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;
using goro::diag::WaitReason;

goro::Config pool_of(unsigned threads, unsigned workers = 2) {
  goro::Config cfg;
  cfg.workers = workers;
  cfg.blocking_threads = threads;
  return cfg;
}

TEST(Blocking, ReturnsTheValueComputedOnAnotherThread) {
  goro::run([] {
    const auto caller = std::this_thread::get_id();
    std::thread::id ran_on;
    const int v = goro::blocking([&] {
      ran_on = std::this_thread::get_id();
      return 42;
    });
    EXPECT_EQ(v, 42);
    EXPECT_NE(ran_on, caller) << "f ran on the worker thread";
    std::string s = goro::blocking([] { return std::string(1000, 'x'); });
    EXPECT_EQ(s.size(), 1000u);
    int target = 1;
    int& ref = goro::blocking([&]() -> int& { return target; });
    EXPECT_EQ(&ref, &target);
    bool ran = false;
    goro::blocking([&] { ran = true; });
    EXPECT_TRUE(ran);
  });
}

TEST(Blocking, RethrowsTheCallsException) {
  goro::run([] {
    try {
      (void)goro::blocking([]() -> int { throw std::out_of_range("from the pool"); });
      ADD_FAILURE() << "no exception";
    } catch (const std::out_of_range& e) {
      EXPECT_STREQ(e.what(), "from the pool");
    }
  });
}

TEST(Blocking, TheTaskParksAsSyscallAndItsWorkerRunsOthers) {
  goro::run([] {
    goro::Channel<int> release_call;
    std::atomic<bool> in_call{false};
    goro::Channel<int> result(1);
    const goro::TaskId caller = goro::go_spawn([&] {
      result.send(goro::blocking([&] {
        in_call = true;
        // Blocks this pool thread until the main task (on the only worker) answers.
        return release_call.recv().value_or(-1);
      }));
    });
    ASSERT_TRUE(gt::wait_blocked(caller, WaitReason::syscall));
    auto info = gt::task_info(caller);
    ASSERT_TRUE(info);
    EXPECT_STREQ(info->wait_site.file_name(), __FILE__);
    EXPECT_TRUE(gt::eventually([&] { return in_call.load(); }));
    release_call.send(7);  // only possible because the worker was not blocked
    auto r = gt::recv_for(result);
    ASSERT_FALSE(r.timed_out);
    EXPECT_EQ(r.value, 7);
  }, pool_of(4, 1));
}

TEST(Blocking, AFullPoolQueuesCallsAndRunsThemAll) {
  constexpr unsigned kCap = 2;
  constexpr int kCalls = 12;
  goro::run([] {
    std::mutex m;
    std::set<std::thread::id> threads;
    std::atomic<int> running{0}, most{0};
    goro::WaitGroup wg;
    wg.add(kCalls);
    std::atomic<int> sum{0};
    for (int i = 0; i < kCalls; ++i) {
      goro::go_spawn([&, i] {
        sum += goro::blocking([&] {
          const int now = ++running;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          {
            std::lock_guard guard(m);
            threads.insert(std::this_thread::get_id());
          }
          std::this_thread::sleep_for(5ms);
          --running;
          return i;
        });
        wg.done();
      });
    }
    wg.wait();
    EXPECT_EQ(sum.load(), kCalls * (kCalls - 1) / 2);
    EXPECT_LE(most.load(), static_cast<int>(kCap));
    EXPECT_LE(threads.size(), std::size_t{2});
  }, pool_of(kCap));
}

TEST(Blocking, OnAPlainThreadCallsDirectly) {
  const auto me = std::this_thread::get_id();
  EXPECT_EQ(goro::blocking([&] { return std::this_thread::get_id(); }), me);
  EXPECT_THROW(goro::blocking([] { throw std::runtime_error("x"); }), std::runtime_error);
}

TEST(Blocking, AMalformedThreadCountIsRejectedAtTheCall) {
  ::setenv("GORO_BLOCKING_THREADS", "12abc", 1);
  goro::run([] {
    try {
      (void)goro::blocking([] { return 1; });
      ADD_FAILURE() << "GORO_BLOCKING_THREADS=12abc was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("GORO_BLOCKING_THREADS"), std::string::npos) << e.what();
    }
  });
  ::unsetenv("GORO_BLOCKING_THREADS");
}

// A task left in a blocking call when run() ends is reported and unwound once the call
// returns; the pool's threads are joined.
TEST(Blocking, ATaskLeftInACallAtRunsEndIsUnwoundAfterTheCallReturns) {
  std::atomic<bool> call_returned{false};
  std::atomic<bool> unwound{false};
  goro::Config cfg = pool_of(2);
  cfg.leak_policy = goro::LeakPolicy::report;
  goro::run([&] {
    const goro::TaskId t = goro::go_spawn([&] {
      struct Flag {
        std::atomic<bool>* f;
        ~Flag() { f->store(true); }
      } flag{&unwound};
      goro::blocking([&] {
        std::this_thread::sleep_for(200ms);
        call_returned = true;
      });
      goro::sleep_for(1h);
    });
    ASSERT_TRUE(gt::wait_blocked(t, WaitReason::syscall));
  }, cfg);
  EXPECT_TRUE(call_returned.load()) << "run() returned while the call still ran";
  EXPECT_TRUE(unwound.load());
}

// Run by the tests below in a child process: the default runtime's task is inside a
// blocking call (GORO_TEST_CALL_MS long) when the process exits.
TEST(BlockingAtExitChild, DISABLED_ExitsDuringACall) {
  const char* ms_text = std::getenv("GORO_TEST_CALL_MS");
  ASSERT_NE(ms_text, nullptr);
  const long ms = std::atol(ms_text);
  const goro::TaskId t = goro::go_spawn([ms] {
    goro::blocking([ms] {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      const char line[] = "the call returned\n";
      (void)!::write(1, line, sizeof line - 1);
    });
  });
  ASSERT_TRUE(gt::wait_blocked(t, WaitReason::syscall));
  std::exit(0);  // atexit: the default runtime shuts down
}

gt::CommandResult exit_during_a_call(int call_ms) {
  return gt::run_command("GORO_TEST_CALL_MS=" + std::to_string(call_ms) + " /proc/" +
                         std::to_string(::getpid()) +
                         "/exe --gtest_also_run_disabled_tests "
                         "--gtest_filter=BlockingAtExitChild.DISABLED_ExitsDuringACall 2>&1");
}

TEST(BlockingAtExit, TheDefaultRuntimesPoolIsJoinedAndARunningCallWaitedFor) {
  const gt::CommandResult r = exit_during_a_call(300);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("the call returned"), std::string::npos)
      << "the process exited while the call still ran:\n" << r.output;
  EXPECT_EQ(r.output.find("still running a call"), std::string::npos) << r.output;
}

TEST(BlockingAtExit, ACallOutlastingTheBoundIsReportedWithItsSite) {
  const gt::CommandResult r = exit_during_a_call(60'000);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("the call returned"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 blocking-pool thread(s) still running a call 2 s after the process's exit"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("goro::blocking called at"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("blocking_test.cpp"), std::string::npos) << "names the call's site:\n" << r.output;
}

}  // namespace
