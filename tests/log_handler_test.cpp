// Where goro's log messages go: the handler of goro/log.hpp receives a real goro warning
// (the tasks still alive when a goro::run ends), an empty handler sends messages back to
// stderr, and an application's spdlog sink on the "goro" logger receives them too.
#include <goro/goro.hpp>
#include <goro/log.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "log_capture.hpp"

namespace {

// Ends a goro::run with one task still parked, which goro reports as a warning.
void run_leaving_one_task(const char* task_name) {
  goro::WaitGroup never_done;
  never_done.add(1);
  const int code = goro::run(
      [&] {
        goro::go_spawn(goro::SpawnOptions{.name = task_name}, [&] { never_done.wait(); });
        while (goro::num_tasks() < 2) goro::yield();
        goro::sleep_for(std::chrono::milliseconds(1));  // lets it park
      },
      goro::Config{.leak_policy = goro::LeakPolicy::report});
  never_done.done();
  EXPECT_EQ(code, 0);
}

struct Received {
  goro::LogLevel level;
  std::string message;
};

class LogHandler : public ::testing::Test {
 protected:
  void SetUp() override {
    goro::set_log_handler([this](goro::LogLevel level, std::string_view message) {
      std::lock_guard lock(mutex_);
      received_.push_back({level, std::string(message)});
    });
  }
  void TearDown() override { goro::set_log_handler(nullptr); }

  std::vector<Received> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  std::mutex mutex_;
  std::vector<Received> received_;
};

TEST_F(LogHandler, ReceivesTheLeftoverTasksWarning) {
  ::testing::internal::CaptureStderr();
  run_leaving_one_task("handler's stuck waiter");
  const std::string on_stderr = ::testing::internal::GetCapturedStderr();

  std::vector<Received> reports;
  for (const Received& r : received())
    if (r.message.find("still alive") != std::string::npos) reports.push_back(r);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].level, goro::LogLevel::warn);
  EXPECT_EQ(reports[0].message.rfind("1 goro task was still alive", 0), 0u)
      << "the text alone, no timestamp or level: " << reports[0].message;
  EXPECT_NE(reports[0].message.find("handler's stuck waiter"), std::string::npos) << reports[0].message;
  EXPECT_EQ(on_stderr.find("still alive"), std::string::npos) << "not on stderr as well:\n" << on_stderr;
}

TEST_F(LogHandler, EmptyHandlerRestoresStderr) {
  goro::set_log_handler(nullptr);
  ::testing::internal::CaptureStderr();
  run_leaving_one_task("stderr's stuck waiter");
  const std::string on_stderr = ::testing::internal::GetCapturedStderr();

  EXPECT_TRUE(received().empty());
  EXPECT_NE(on_stderr.find("1 goro task was still alive"), std::string::npos) << on_stderr;
  EXPECT_NE(on_stderr.find("stderr's stuck waiter"), std::string::npos) << on_stderr;
}

TEST(LogSpdlog, SinkOnTheGoroLoggerReceivesWarnings) {
  gt::LogCapture log;  // adds an ostream sink to spdlog::get("goro")
  ASSERT_TRUE(log.attached());
  ::testing::internal::CaptureStderr();
  run_leaving_one_task("sink's stuck waiter");
  ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.text().find("sink's stuck waiter"), std::string::npos) << log.text();
}

}  // namespace
