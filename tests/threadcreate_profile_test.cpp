// The threadcreate profile (goro/profile.hpp): the threads goro started and that run
// now, each under its creating call and a "created by <kind>" frame; Go's text format;
// `go tool pprof` as a reader.
#include <goro/goro.hpp>
#include <goro/profile.hpp>

#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>

#include "go_pprof.hpp"
#include "goro_test.hpp"

namespace {

std::string profile(std::string_view name, int debug) {
  std::ostringstream out;
  EXPECT_TRUE(goro::diag::write_profile(out, name, debug));
  return out.str();
}

// The count of the record whose "created by" frame names `kind` (0 if none).
long long count_created_by(const std::string& text, const std::string& kind) {
  std::smatch m;
  if (!std::regex_search(text, m,
                         std::regex("\n([0-9]+) @ 0x[0-9a-f]+ 0x[0-9a-f]+\n#\t0x[0-9a-f]+\t[^\n]*\n"
                                    "#\t0x[0-9a-f]+\tcreated by " + kind + "\\+0x0\t[^\n]*\n")))
    return 0;
  return std::stoll(m[1]);
}

long long total(const std::string& text) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("^threadcreate profile: total ([0-9]+)\n"))) return -1;
  return std::stoll(m[1]);
}

TEST(ThreadcreateProfile, ListsEveryWorkerThreadUnderItsCreatingCall) {
  goro::Config cfg;
  cfg.workers = 3;
  std::string text;
  goro::run([&] { text = profile("threadcreate", 1); }, cfg);
  EXPECT_EQ(count_created_by(text, "goro worker"), 3) << text;
  EXPECT_NE(text.find("goro::detail::Runtime::start()+0x0\t"), std::string::npos) << text;
  EXPECT_NE(text.find("proc.cpp:"), std::string::npos) << text;
  // Every listed thread is counted in the total (workers, the wait-clock ticker, ...).
  std::size_t sum = 0;
  const std::regex record("\n([0-9]+) @");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), record);
       it != std::sregex_iterator(); ++it)
    sum += std::stoul((*it)[1]);
  EXPECT_EQ(total(text), static_cast<long long>(sum)) << text;
  EXPECT_GE(total(text), 3) << text;
}

TEST(ThreadcreateProfile, ThreadsThatEndedAreNotListed) {
  goro::Config cfg;
  cfg.workers = 2;
  goro::run([] {}, cfg);  // its workers are joined when run() returns
  EXPECT_EQ(count_created_by(profile("threadcreate", 1), "goro worker"), 0);
}

TEST(ThreadcreateProfile, UnknownDebugLevelIsRefused) {
  std::ostringstream out;
  EXPECT_FALSE(goro::diag::write_profile("threadcreate", out, 3));
  EXPECT_TRUE(out.str().empty());
}

TEST(ThreadcreateProfile, GoToolPprofReadsTheThreadcreateProfile) {
  if (!gt::have_go()) GTEST_SKIP() << gt::kNoGo;
  goro::Config cfg;
  cfg.workers = 2;
  std::string data;
  goro::run([&] { data = profile("threadcreate", 0); }, cfg);

  const gt::CommandResult top = gt::go_pprof("-top", data);
  ASSERT_EQ(top.exit_code, 0) << top.output;
  EXPECT_NE(top.output.find("Type: threadcreate"), std::string::npos) << top.output;
  EXPECT_EQ(gt::leading_number(gt::line_with(top.output, {"Runtime::start"})), 2) << top.output;
  const gt::CommandResult raw = gt::go_pprof("-raw", data);
  ASSERT_EQ(raw.exit_code, 0) << raw.output;
  EXPECT_NE(raw.output.find("threadcreate/count"), std::string::npos) << raw.output;
  EXPECT_NE(gt::line_with(raw.output, {"created by goro worker"}), "") << raw.output;
}

}  // namespace
