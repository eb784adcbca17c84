// The runtime on its own: this executable links goro::runtime (goro_runtime) and nothing
// else of goro's, every object of it (CMake links it whole-archive). It builds only while
// the runtime names no channel or diag symbol, and it checks what the runtime does
// without diag's hooks: its reports fall back to a list of the tasks it knows.
#include <goro/mutex.hpp>
#include <goro/runtime.hpp>
#include <goro/wait_group.hpp>
#include <gtest/gtest.h>


#include <chrono>
#include <string>

#include "log_capture.hpp"
#include "process_threads.hpp"

namespace {

TEST(RuntimeOnly, TasksRunAndSynchronise) {
  int total = 0;
  const int code = goro::run([&] {
    goro::Mutex mu;
    goro::WaitGroup wg;
    for (int i = 1; i <= 10; ++i) {
      wg.add(1);
      goro::go_spawn([&, i] {
        goro::yield();
        {
          std::lock_guard guard(mu);
          total += i;
        }
        wg.done();  // after the unlock: mu dies with main's frame once wait() returns
      });
    }
    wg.wait();
  });
  EXPECT_EQ(code, 0);
  EXPECT_EQ(total, 55);
}

TEST(RuntimeOnly, LeftoverReportListsTasksWithoutDiag) {
  gt::LogCapture log;
  ASSERT_TRUE(log.attached());
  goro::WaitGroup never_done;
  never_done.add(1);
  goro::TaskId leaked = 0;
  const int code = goro::run(
      [&] {
        leaked = goro::go_spawn(goro::SpawnOptions{.name = "stuck waiter"},
                                [&] { never_done.wait(); });
        while (goro::num_tasks() < 2) goro::yield();
        goro::sleep_for(std::chrono::milliseconds(1));  // lets it park
      },
      goro::Config{.leak_policy = goro::LeakPolicy::report});
  never_done.done();
  EXPECT_EQ(code, 0);
  const std::string text = log.text();
  EXPECT_NE(text.find("1 goro task was still alive"), std::string::npos) << text;
  EXPECT_NE(text.find("goro's diagnostics are not linked"), std::string::npos) << text;
  EXPECT_NE(text.find("task " + std::to_string(leaked) + " \"stuck waiter\" spawned at "),
            std::string::npos) << text;
  EXPECT_NE(text.find("runtime_only_test.cpp:"), std::string::npos) << text;
  EXPECT_NE(text.find("[wait group] at "), std::string::npos) << text;
  EXPECT_EQ(text.find("provably leaked"), std::string::npos) << "diag's report, unlinked:\n" << text;
}

TEST(RuntimeOnly, TrendPeriodStartsNoSamplerWithoutDiag) {
  goro::run([] {});
  const std::size_t before = gt::process_threads();
  const int code = goro::run([] { goro::sleep_for(std::chrono::milliseconds(5)); },
                             goro::Config{.trend_period = std::chrono::milliseconds(1)});
  EXPECT_EQ(code, 0);
  EXPECT_EQ(gt::process_threads(), before) << "no thread outlives the runtime";
}

}  // namespace
