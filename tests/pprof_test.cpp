// pprof profiles (goro/profile.hpp): the goroutine, block and goroutineleak profiles,
// read back by Go's own `go tool pprof` (-top, -traces, -list) when Go is installed
// (scripts/setup.sh --with-go), and checked structurally (gzip + strings) without it.
#include <goro/goro.hpp>
#include <goro/profile.hpp>

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "go_pprof.hpp"
#include "goro_test.hpp"

namespace {

using goro::diag::WaitReason;

// The functions whose wait lines the tests look for in pprof's output.
void send_forever(goro::Channel<int> ch) { ch.send(1); }
constexpr int kSendLine = __LINE__ - 1;
void recv_forever(goro::Channel<int> ch) { ch.recv(); }
constexpr int kRecvLine = __LINE__ - 1;
void recv_rounds(goro::Channel<int> ch, int rounds) {
  for (int i = 0; i < rounds; ++i) ch.recv();
}
constexpr int kRoundsLine = __LINE__ - 2;

std::string base_name() {
  std::string f = __FILE__;
  return f.substr(f.rfind('/') + 1);
}
std::string site(int line) { return base_name() + ":" + std::to_string(line); }

std::string profile(std::string_view name, int debug) {
  std::ostringstream out;
  EXPECT_TRUE(goro::diag::write_profile(out, name, debug));
  return out.str();
}

std::string gunzip(const std::string& gz) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out;
  char buf[16384];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  EXPECT_EQ(rc, Z_STREAM_END);
  return out;
}

// Three tasks blocked in send_forever, two in recv_forever (named "reader"); released at
// the end of the scope.
class BlockedTasks {
 public:
  BlockedTasks() {
    for (int i = 0; i < 3; ++i) {
      senders_.push_back(goro::go_spawn([ch = out_]() mutable { send_forever(ch); }));
    }
    spawn_line = __LINE__ - 2;
    for (int i = 0; i < 2; ++i)
      receivers_.push_back(goro::go_spawn(goro::SpawnOptions{"reader"}, [ch = in_]() mutable { recv_forever(ch); }));
    for (auto id : senders_) EXPECT_TRUE(gt::wait_blocked(id, WaitReason::chan_send));
    for (auto id : receivers_) EXPECT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
  }
  ~BlockedTasks() {
    for (std::size_t i = 0; i < senders_.size(); ++i) out_.recv();
    for (std::size_t i = 0; i < receivers_.size(); ++i) in_.send(0);
    EXPECT_TRUE(gt::eventually([&] {
      for (auto id : senders_)
        if (gt::task_info(id)) return false;
      for (auto id : receivers_)
        if (gt::task_info(id)) return false;
      return true;
    }));
  }
  int spawn_line = 0;

 private:
  goro::Channel<int> out_, in_;
  std::vector<goro::TaskId> senders_, receivers_;
};

TEST(Pprof, UnknownProfileOrDebugLevelIsRefused) {
  std::ostringstream out;
  EXPECT_FALSE(goro::diag::write_profile(out, "no-such-profile", 0));
  EXPECT_FALSE(goro::diag::write_profile(out, "goroutine", 3));
  EXPECT_FALSE(goro::diag::write_profile(out, "goroutine", -1));
  EXPECT_TRUE(out.str().empty());
}

TEST(Pprof, GoroutineProfileIsGzippedProtoNamingSitesAndLabels) {
  BlockedTasks blocked;
  const std::string gz = profile("goroutine", 0);
  ASSERT_GE(gz.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  const std::string raw = gunzip(gz);
  for (const char* s : {"goroutine", "count", "send_forever", "recv_forever", "chan send",
                        "chan receive", "reader", "leaked", "false", __FILE__})
    EXPECT_NE(raw.find(s), std::string::npos) << s;
}

TEST(Pprof, GoroutineTextAggregatesIdenticalStacks) {
  BlockedTasks blocked;
  const std::string text = profile("goroutine", 1);
  EXPECT_NE(text.find("goroutine profile: total "), std::string::npos) << text;
  // "3 @ 0x10 0x20" then labels, then the frames: wait site first, "created by" last.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      text, m,
      std::regex("\n3 @ 0x[0-9a-f]+ 0x[0-9a-f]+\n# labels: \\{\"leaked\":\"false\", "
                 "\"reason\":\"chan send\"\\}\n#\t0x[0-9a-f]+\t[^\n]*send_forever[^\n]*\t[^\n]*" +
                 site(kSendLine) + "\n#\t0x[0-9a-f]+\tcreated by [^\n]*" + site(blocked.spawn_line) + "\n")))
      << text;
  EXPECT_NE(text.find("\n2 @ "), std::string::npos) << text;
  EXPECT_NE(text.find("\"name\":\"reader\""), std::string::npos) << text;
}

TEST(Pprof, GoroutineDebug2IsTheGoDumpOfEveryTask) {
  BlockedTasks blocked;
  const std::string text = profile("goroutine", 2);
  EXPECT_NE(text.find("[chan send]:"), std::string::npos) << text;
  EXPECT_NE(text.find("[chan receive]:"), std::string::npos) << text;
  EXPECT_NE(text.find(base_name() + ".go:" + std::to_string(kSendLine)), std::string::npos) << text;
}

// The provable-leak analysis decides what is leaked; the profile lists exactly that.
TEST(Pprof, GoroutineLeakProfileListsLeakedTasksOnly) {
  BlockedTasks blocked;
  const auto leaked = goro::diag::leaked_tasks();
  const std::string text = profile("goroutineleak", 1);
  EXPECT_NE(text.find("goroutineleak profile: total " + std::to_string(leaked.size()) + "\n"),
            std::string::npos)
      << text;
  for (const auto& t : leaked) EXPECT_NE(text.find("\"leaked\":\"true\""), std::string::npos) << t.id;
  const std::string raw = gunzip(profile("goroutineleak", 0));
  EXPECT_NE(raw.find("goroutineleak"), std::string::npos);
}

TEST(Pprof, GoToolPprofReadsTheGoroutineProfile) {
  if (!gt::have_go()) GTEST_SKIP() << gt::kNoGo;
  BlockedTasks blocked;
  const std::string data = profile("goroutine", 0);

  // -top -lines: one row per wait line, with the number of tasks blocked there.
  const gt::CommandResult top_run = gt::go_pprof("-top -lines", data);
  ASSERT_EQ(top_run.exit_code, 0) << top_run.output;
  const std::string& top = top_run.output;
  EXPECT_NE(top.find("Type: goroutine"), std::string::npos) << top;
  EXPECT_EQ(gt::leading_number(gt::line_with(top, {site(kSendLine), "send_forever"})), 3) << top;
  EXPECT_EQ(gt::leading_number(gt::line_with(top, {site(kRecvLine), "recv_forever"})), 2) << top;

  // -traces: each aggregated stack with its count, labels, the wait site and the
  // "created by" frame below it.
  const gt::CommandResult traces_run = gt::go_pprof("-traces", data);
  ASSERT_EQ(traces_run.exit_code, 0) << traces_run.output;
  const std::string& traces = traces_run.output;
  std::smatch m;
  EXPECT_TRUE(std::regex_search(traces, m, std::regex(R"(reason:\s+chan send\n\s+3\s+[^\n]*send_forever\n\s+created by [^\n]*BlockedTasks)")))
      << traces;
  EXPECT_TRUE(std::regex_search(traces, m, std::regex(R"(name:\s+reader\n[\s\S]*?reason:\s+chan receive\n\s+2\s+[^\n]*recv_forever\n\s+created by )")))
      << traces;

  // -list: the source, annotated. pprof finds it from the absolute path in the profile
  // and -source_path (its default, the working directory, is ctest's build/.../tests,
  // and pprof's heuristic would strip the source path down to after "/tests/").
  const std::string file = __FILE__;
  const std::string checkout = file.substr(0, file.rfind("/tests/"));
  const gt::CommandResult list_run = gt::go_pprof("-source_path=" + checkout + " -list send_forever", data);
  ASSERT_EQ(list_run.exit_code, 0) << list_run.output;
  const std::string& list = list_run.output;
  EXPECT_NE(list.find("ROUTINE ======================== {anonymous}::send_forever in "), std::string::npos) << list;
  EXPECT_NE(list.find("send_forever(goro::Channel<int> ch) { ch.send(1); }"), std::string::npos) << list;
  EXPECT_TRUE(std::regex_search(list, m, std::regex("\\s3\\s+3\\s+" + std::to_string(kSendLine) + ":")))
      << list;
}

// A task that blocks in recv_rounds `rounds` times, once per round, then ends.
void run_rounds(int rounds) {
  goro::Channel<int> ch;
  goro::TaskId id = goro::go_spawn([ch, rounds]() mutable { recv_rounds(ch, rounds); });
  for (int i = 0; i < rounds; ++i) {
    // Send only once it is parked: each round is one blocking receive.
    ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
    ch.send(i);
  }
  ASSERT_TRUE(gt::eventually([&] { return !gt::task_info(id); }));
}

TEST(Pprof, BlockProfileRecordsOnlyWhileTheRateIsSet) {
  EXPECT_EQ(goro::diag::block_profile_rate(), 0);  // off by default
  goro::diag::reset_block_profile();
  constexpr int kRounds = 4;

  // Rate 0: a task that blocks kRounds times leaves no trace.
  run_rounds(kRounds);
  EXPECT_EQ(profile("block", 1).find(site(kRoundsLine)), std::string::npos);

  // Rate 1: every wait is recorded, once.
  goro::diag::set_block_profile_rate(1);
  EXPECT_EQ(goro::diag::block_profile_rate(), 1);
  run_rounds(kRounds);
  goro::diag::set_block_profile_rate(0);
  const std::string text = profile("block", 1);
  EXPECT_NE(text.find("--- contention:\ncycles/second=1000000000\n"), std::string::npos) << text;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex("\n[0-9]+ " + std::to_string(kRounds) +
                                                    " @ 0x[0-9a-f]+ 0x[0-9a-f]+\n#\t0x[0-9a-f]+\t[^\n]*recv_rounds[^\n]*" +
                                                    site(kRoundsLine) + "\n")))
      << text;

  // Off again: nothing more is added.
  run_rounds(kRounds);
  EXPECT_EQ(profile("block", 1), text);
  goro::diag::reset_block_profile();
  EXPECT_EQ(profile("block", 1).find(site(kRoundsLine)), std::string::npos);
}

TEST(Pprof, GoToolPprofReadsTheBlockProfile) {
  if (!gt::have_go()) GTEST_SKIP() << gt::kNoGo;
  goro::diag::reset_block_profile();
  goro::diag::set_block_profile_rate(1);
  constexpr int kRounds = 3;
  run_rounds(kRounds);
  goro::diag::set_block_profile_rate(0);
  const std::string data = profile("block", 0);
  goro::diag::reset_block_profile();

  const gt::CommandResult top_run = gt::go_pprof("-sample_index=contentions -top -lines", data);
  ASSERT_EQ(top_run.exit_code, 0) << top_run.output;
  const std::string& top = top_run.output;
  EXPECT_NE(top.find("Type: contentions"), std::string::npos) << top;
  EXPECT_EQ(gt::leading_number(gt::line_with(top, {site(kRoundsLine), "recv_rounds"})), kRounds) << top;
  const gt::CommandResult delay_run = gt::go_pprof("-sample_index=delay -top", data);
  ASSERT_EQ(delay_run.exit_code, 0) << delay_run.output;
  const std::string& delay = delay_run.output;
  EXPECT_NE(delay.find("Type: delay"), std::string::npos) << delay;
  EXPECT_NE(gt::line_with(delay, {"recv_rounds"}), "") << delay;
}

}  // namespace
