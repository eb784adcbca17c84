// diag's hooks in a program that names no diag symbol: this executable links goro::goro
// and uses only the runtime's API, so nothing but goro_diag's link interface pulls diag's
// hook installer (diag/src/hooks.cpp) into it. It checks that the runtime's reports are
// diag's and that Config::trend_period starts diag's sampler, as in any goro::goro program.
#include <goro/runtime.hpp>
#include <goro/wait_group.hpp>
#include <gtest/gtest.h>


#include <chrono>
#include <string>

#include "log_capture.hpp"
#include "process_threads.hpp"

namespace {

TEST(DiagHooks, LeftoverReportIsDiagsDumpWithoutNamingDiag) {
  gt::LogCapture log;
  ASSERT_TRUE(log.attached());
  goro::WaitGroup never_done;
  never_done.add(1);
  const int code = goro::run(
      [&] {
        goro::go_spawn([&] { never_done.wait(); });
        while (goro::num_tasks() < 2) goro::yield();
        goro::sleep_for(std::chrono::milliseconds(1));  // lets it park
      },
      goro::Config{.leak_policy = goro::LeakPolicy::report});
  never_done.done();
  EXPECT_EQ(code, 0);
  const std::string text = log.text();
  EXPECT_NE(text.find("1 goro task was still alive"), std::string::npos) << text;
  EXPECT_NE(text.find("0 provably leaked"), std::string::npos) << "diag's report:\n" << text;
  EXPECT_NE(text.find("1 still blocked or running"), std::string::npos) << text;
  EXPECT_EQ(text.find("goro's diagnostics are not linked"), std::string::npos) << text;
}

TEST(DiagHooks, TrendPeriodStartsDiagsSampler) {
  goro::run([] {});
  const std::size_t before = gt::process_threads();
  const int code = goro::run([] { goro::sleep_for(std::chrono::milliseconds(5)); },
                             goro::Config{.trend_period = std::chrono::milliseconds(1)});
  EXPECT_EQ(code, 0);
  EXPECT_EQ(gt::process_threads(), before + 1) << "the sampler thread runs on after the runtime";
}

}  // namespace
