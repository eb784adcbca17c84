// The status page (goro/status_page.hpp): the wait-site table, its links and escaping, the
// dump behind a link, the trend plot — and a real browser (headless Chromium) rendering
// it, with a screenshot left in the build directory.
#include <goro/goro.hpp>
#include <goro/status_page.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;
using goro::diag::WaitReason;

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Three tasks blocked in recv() at one line, one in Mutex::lock at another.
struct Waiters {
  goro::Channel<int> ch;
  goro::Mutex mu;
  unsigned recv_line = 0, lock_line = 0;
  std::vector<goro::TaskId> ids;

  Waiters() {
    mu.lock();
    for (int i = 0; i < 3; ++i) {
      recv_line = __LINE__ + 1;
      ids.push_back(goro::go_spawn([c = ch]() mutable { (void)c.recv(); }));
    }
    lock_line = __LINE__ + 1;
    ids.push_back(goro::go_spawn([this] { mu.lock(); mu.unlock(); }));
    for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(gt::wait_blocked(ids[i], WaitReason::chan_recv));
    EXPECT_TRUE(gt::wait_blocked(ids[3], WaitReason::mutex));
  }
  ~Waiters() {
    ch.close();
    mu.unlock();
    EXPECT_TRUE(goro::diag::find_leaks().empty());
  }
  std::string recv_site() const { return std::string(__FILE__) + ":" + std::to_string(recv_line); }
};

goro::diag::StatusPageOptions no_sampler() {
  goro::diag::StatusPageOptions o;
  o.start_sampler = false;
  return o;
}

TEST(StatusPage, ListsEveryWaitSiteWithCountReasonAndALinkToItsDump) {
  Waiters w;
  const std::string page = goro::diag::status_page_html(no_sampler());
  EXPECT_EQ(page.rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(page.find("<table id=\"sites\">"), std::string::npos) << page;
  // The recv site: 3 tasks, first row (most crowded); the mutex site: 1 task.
  const std::string recv_row = "<tr><td class=\"n\">3</td><td>chan receive</td>";
  const std::string lock_row = "<tr><td class=\"n\">1</td><td>mutex</td>";
  ASSERT_NE(page.find(recv_row), std::string::npos) << page;
  ASSERT_NE(page.find(lock_row), std::string::npos) << page;
  EXPECT_LT(page.find(recv_row), page.find(lock_row)) << "most crowded site first";
  EXPECT_NE(page.find("href=\"site?reason=chan%20receive&amp;at=" + w.recv_site() + "\""),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("status_page_test.cpp:" + std::to_string(w.lock_line)), std::string::npos);
  EXPECT_NE(page.find("<p id=\"summary\">"), std::string::npos);
}

TEST(StatusPage, EscapesProgramTextSoFunctionNamesCannotInjectMarkup) {
  Waiters w;
  const std::string page = goro::diag::status_page_html(no_sampler());
  // The waiters block inside lambdas, whose names hold angle brackets.
  EXPECT_NE(page.find("&lt;lambda"), std::string::npos) << page;
  EXPECT_EQ(page.find("<lambda"), std::string::npos) << page;
}

TEST(StatusPage, SiteDumpTextIsTheDumpOfTheTasksAtThatSite) {
  Waiters w;
  const std::string dump = goro::diag::site_dump_text("chan receive", w.recv_site());
  EXPECT_NE(dump.find("3 tasks [chan receive"), std::string::npos) << dump;
  EXPECT_EQ(dump.find("[mutex"), std::string::npos) << dump;
  EXPECT_TRUE(goro::diag::site_dump_text("chan send", w.recv_site()).empty());
}

TEST(StatusPage, CountsProvablyLeakedTasksPerSite) {
  goro::run(
      [] {
        const unsigned line = __LINE__ + 3;
        {
          goro::Channel<int> lost;  // its only other handle goes away with this scope
          goro::go_spawn([lost]() mutable { (void)lost.recv(); });
        }
        ASSERT_TRUE(gt::eventually([] { return goro::diag::leaked_tasks().size() == 1; }));
        const std::string page = goro::diag::status_page_html(no_sampler());
        EXPECT_NE(page.find("<td class=\"n leaked\">1</td><td><a href=\"site?reason=chan%20receive&amp;at=" +
                            std::string(__FILE__) + ":" + std::to_string(line)),
                  std::string::npos)
            << page;
        EXPECT_NE(page.find("<span class=\"leaked\">1 provably leaked</span>"), std::string::npos) << page;
      },
      goro::Config{.leak_policy = goro::LeakPolicy::off});
}

TEST(StatusPage, PlotsTheTrendHistoryAsOneSeriesPerMeasure) {
  goro::diag::TrendOptions manual;
  manual.period = 0ms;
  goro::diag::start_trend(manual);
  goro::diag::reset_trend();
  {
    const std::string page = goro::diag::status_page_html(no_sampler());
    EXPECT_NE(page.find("<p id=\"no-trend\">"), std::string::npos) << "no history yet";
  }
  Waiters w;
  for (int i = 0; i < 4; ++i) goro::diag::sample_trend();
  const std::string page = goro::diag::status_page_html(no_sampler());
  EXPECT_NE(page.find("<svg id=\"trend\""), std::string::npos) << page;
  for (const char* id : {"live", "blocked", "leaked", "rss"}) {
    const auto at = page.find(std::string("id=\"series-") + id + "\"");
    ASSERT_NE(at, std::string::npos) << id;
    const auto points = page.find("points=\"", at);
    const auto end = page.find('"', points + 8);
    const std::string list = page.substr(points + 8, end - points - 8);
    EXPECT_EQ(occurrences(list, ","), 4u) << id << ": one point per sample";
    // Spread over the plot's width: the first and the last point differ in x.
    const double first_x = std::stod(list.substr(0, list.find(',')));
    const double last_x = std::stod(list.substr(list.rfind(' ', list.size() - 2) + 1));
    EXPECT_GT(last_x - first_x, 100.0) << id << ": " << list;
  }
  goro::diag::reset_trend();
}

TEST(StatusPage, StartsTheSamplerWhenAskedTo) {
  goro::diag::stop_trend();
  goro::diag::reset_trend();
  (void)goro::diag::status_page_html();  // start_sampler: true
  EXPECT_TRUE(gt::eventually([] { return !goro::diag::trend().empty(); }))
      << "the page started no sampler";
  goro::diag::stop_trend();
  goro::diag::reset_trend();
}

// A real browser: headless Chromium loads the page, its DOM keeps the table and the four
// plot series, and a screenshot (build/.../status_page.png) shows it.
TEST(StatusPage, HeadlessChromiumRendersTheTableAndThePlot) {
  if (std::system("command -v chromium >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "chromium is not installed (scripts/setup.sh --for-tests installs it)";
  goro::diag::TrendOptions manual;
  manual.period = 0ms;
  goro::diag::start_trend(manual);
  goro::diag::reset_trend();
  Waiters w;
  for (int i = 0; i < 5; ++i) goro::diag::sample_trend();
  const std::string html_path = std::string(GORO_TEST_OUTPUT_DIR) + "/status_page.html";
  const std::string png_path = std::string(GORO_TEST_OUTPUT_DIR) + "/status_page.png";
  std::ofstream(html_path) << goro::diag::status_page_html(no_sampler());
  std::remove(png_path.c_str());

  const std::string chromium =
      "timeout 120 chromium --headless --no-sandbox --disable-gpu --window-size=1100,900 ";
  const auto dom = gt::run_command(chromium + "--dump-dom file://" + html_path + " 2>/dev/null");
  ASSERT_EQ(dom.exit_code, 0) << dom.output;
  EXPECT_NE(dom.output.find("<table id=\"sites\">"), std::string::npos) << dom.output;
  for (const char* id : {"live", "blocked", "leaked", "rss"})
    EXPECT_NE(dom.output.find(std::string("<polyline class=\"series\" id=\"series-") + id), std::string::npos)
        << id << "\n" << dom.output;

  const auto shot = gt::run_command(chromium + "--screenshot=" + png_path + " file://" + html_path + " 2>&1");
  ASSERT_EQ(shot.exit_code, 0) << shot.output;
  std::ifstream png(png_path, std::ios::binary);
  ASSERT_TRUE(png.good()) << "no screenshot: " << shot.output;
  std::string bytes((std::istreambuf_iterator<char>(png)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_GT(bytes.size(), 10000u) << "a 1100x900 page with a table and a plot";
  std::printf("screenshot: %s\n", png_path.c_str());
  goro::diag::reset_trend();
}

}  // namespace
