// /metrics (goro/metrics.hpp): the Prometheus process_* metrics, promtool's check, and
// the provably-leaked count, which scrapes reuse instead of rerunning the analysis.
#include <goro/goro.hpp>
#include <goro/metrics.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "goro_test.hpp"
#include "leak_count.hpp"

namespace {

using goro::diag::internal::leak_count_analyses;

std::string scrape() {
  std::ostringstream out;
  goro::diag::write_metrics(out);
  return out.str();
}

// The value of the sample line `name` (exactly), or NaN when it is missing.
double metric(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  return std::nan("");
}

// Restores the default reuse rule after a test that lengthened it.
struct MinInterval {
  explicit MinInterval(std::chrono::steady_clock::duration d) {
    goro::diag::internal::set_leak_count_min_interval(d);
    goro::diag::internal::invalidate_leak_count();
  }
  ~MinInterval() { goro::diag::internal::set_leak_count_min_interval({}); }
};

TEST(Metrics, IncludesThePrometheusProcessMetrics) {
  const std::string text = scrape();
  for (const char* family : {"process_cpu_seconds_total", "process_virtual_memory_bytes",
                             "process_resident_memory_bytes", "process_start_time_seconds",
                             "process_open_fds", "process_max_fds"})
    EXPECT_NE(text.find(std::string("# HELP ") + family + " "), std::string::npos) << family << "\n" << text;
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos) << text;
  EXPECT_GE(metric(text, "process_cpu_seconds_total"), 0) << text;
  EXPECT_GT(metric(text, "process_resident_memory_bytes"), 0) << text;
  EXPECT_GE(metric(text, "process_virtual_memory_bytes"), metric(text, "process_resident_memory_bytes"));
  EXPECT_GE(metric(text, "process_open_fds"), 3) << text;  // stdin, stdout, stderr at least
  EXPECT_GE(metric(text, "process_max_fds"), metric(text, "process_open_fds")) << text;
  // Started at most a day ago and not in the future (the clocks agree to a second or so).
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(metric(text, "process_start_time_seconds"), now + 2) << text;
  EXPECT_GE(metric(text, "process_start_time_seconds"), now - 86400) << text;
}

TEST(Metrics, OpenFdsCountsADescriptorTheProcessOpens) {
  const double before = metric(scrape(), "process_open_fds");
  const int fd = ::dup(1);
  ASSERT_GE(fd, 0);
  const double with = metric(scrape(), "process_open_fds");
  ::close(fd);
  EXPECT_EQ(with, before + 1);
}

TEST(Metrics, PromtoolAcceptsTheExposition) {
  if (gt::run_command("command -v promtool >/dev/null 2>&1").exit_code != 0)
    GTEST_SKIP() << "promtool is not installed (apt-get install prometheus)";
  goro::Channel<int> ch;
  const goro::TaskId blocked = goro::go_spawn([ch]() mutable { ch.send(1); });
  ASSERT_TRUE(gt::wait_blocked(blocked, goro::diag::WaitReason::chan_send));
  const std::string text = scrape();
  ch.recv();
  const std::string path = ::testing::TempDir() + "goro_metrics_" + std::to_string(getpid()) + ".txt";
  {
    std::ofstream f(path);
    f << text;
  }
  const gt::CommandResult check = gt::run_command("promtool check metrics < " + path + " 2>&1");
  std::remove(path.c_str());
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << text;
}

TEST(Metrics, ScrapesReuseTheLeakCountInsteadOfRerunningTheAnalysis) {
  const MinInterval reuse_for(std::chrono::hours(1));
  constexpr int kTasks = 2000;
  goro::Channel<int> inbox;  // stays reachable: none of the tasks is leaked
  for (int i = 0; i < kTasks; ++i) goro::go_spawn([inbox]() mutable { inbox.recv(); });
  ASSERT_TRUE(gt::eventually([&] {
    return metric(scrape(), "goro_tasks_blocked{reason=\"chan receive\"}") >= kTasks;
  }));

  goro::diag::internal::invalidate_leak_count();
  const std::uint64_t before = leak_count_analyses();
  const std::string first = scrape();
  EXPECT_EQ(leak_count_analyses(), before + 1);  // the first scrape analyses...
  for (int i = 0; i < 5; ++i) {
    const std::string again = scrape();
    EXPECT_EQ(metric(again, "goro_tasks_leaked"), 0) << again;
    EXPECT_GE(metric(again, "goro_tasks_blocked{reason=\"chan receive\"}"), kTasks) << again;
  }
  EXPECT_EQ(leak_count_analyses(), before + 1);  // ...the next ones reuse its count
  EXPECT_NE(first.find("# HELP goro_tasks_leaked "), std::string::npos);
  EXPECT_GE(metric(scrape(), "goro_tasks_leaked_age_seconds"), 0);

  goro::diag::internal::invalidate_leak_count();  // due again: the next scrape analyses
  scrape();
  EXPECT_EQ(leak_count_analyses(), before + 2);

  inbox.close();
  EXPECT_TRUE(gt::eventually([&] { return metric(scrape(), "goro_tasks") == 0; }));
}

TEST(Metrics, NoWaitingTaskMeansNoLeakAndNoAnalysis) {
  const MinInterval reuse_for(std::chrono::hours(1));
  const std::uint64_t before = leak_count_analyses();
  const std::string text = scrape();
  EXPECT_EQ(metric(text, "goro_tasks_leaked"), 0) << text;
  EXPECT_EQ(leak_count_analyses(), before);
}

}  // namespace
