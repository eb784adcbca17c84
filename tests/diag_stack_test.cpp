// Captured stacks of parked tasks (Config::capture_stacks, GORO_TRACEBACK=1): a task
// blocked in a named helper shows that helper in diag::TaskInfo::stack and in both dump
// formats (panicparse still reads the Go format); a lambda task body shows its file and
// line (this binary has debug info and no -rdynamic); with capture off the stack is empty.
#include <goro/goro.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <dlfcn.h>
#include <unistd.h>
#include <vector>

#include "go_pprof.hpp"
#include "goro_test.hpp"

// Not inlined: a frame of its own, named by the debug info (or the symbol table).
constexpr int kHelperRecvLine = __LINE__ + 2;
__attribute__((noinline)) void blocked_in_helper(goro::Channel<int> ch) {
  (void)ch.recv();
  asm volatile("" ::: "memory");  // no tail call: the helper's frame stays on the stack
}

namespace {

using goro::diag::WaitReason;

std::string joined(const std::vector<std::string>& frames) {
  std::string s;
  for (const auto& f : frames) s += "  " + f + "\n";
  return s;
}

// Spawns a task blocked in blocked_in_helper on `ch`; returns its snapshot once parked.
goro::diag::TaskInfo spawn_blocked_in_helper(goro::Channel<int> ch, goro::TaskId* id) {
  *id = goro::go_spawn({.name = "helper"}, [ch] { blocked_in_helper(ch); });
  EXPECT_TRUE(gt::wait_blocked(*id, WaitReason::chan_recv));
  auto info = gt::task_info(*id);
  EXPECT_TRUE(info.has_value());
  return info.value_or(goro::diag::TaskInfo{});
}

// With capture on (however it was turned on): the stack starts at the helper (goro's
// own frames skipped), and both dump formats show it.
void expect_captured() {
  goro::Channel<int> ch;
  goro::TaskId id = 0;
  auto info = spawn_blocked_in_helper(ch, &id);
  ASSERT_FALSE(info.stack.empty());
  EXPECT_NE(info.stack.front().find("blocked_in_helper"), std::string::npos)
      << "stack:\n" << joined(info.stack);
  EXPECT_NE(info.stack.front().find("diag_stack_test.cpp:" + std::to_string(kHelperRecvLine) + " ["),
            std::string::npos)
      << "stack:\n" << joined(info.stack);
  for (const auto& frame : info.stack)
    EXPECT_EQ(frame.find("goro::detail::park"), std::string::npos) << joined(info.stack);

  std::ostringstream text;
  EXPECT_EQ(goro::diag::dump_blocked(text), 1u);
  std::string dump = text.str();
  auto at = dump.find("    at ");
  auto frame = dump.find("\n        blocked_in_helper(goro::Channel<int>) at ");
  EXPECT_NE(at, std::string::npos) << dump;
  EXPECT_NE(frame, std::string::npos) << dump;
  EXPECT_LT(at, frame) << "frames go under the wait site:\n" << dump;

  std::ostringstream go;
  goro::diag::dump_blocked(go, {.format = goro::diag::DumpFormat::go});
  EXPECT_NE(go.str().find("\nmain.blocked_in_helper(...)\n\t"), std::string::npos) << go.str();
  EXPECT_NE(go.str().find("diag_stack_test.cpp.go:" + std::to_string(kHelperRecvLine) + " +0x"),
            std::string::npos)
      << go.str();

  ch.close();
  EXPECT_TRUE(gt::eventually([&] { return !gt::task_info(id).has_value(); }));
  // Resumed tasks drop their stack with the rest of the wait record.
  EXPECT_TRUE(goro::diag::blocked_tasks().empty());
}

TEST(DiagStack, ConfigCapturesTheParkedTasksStack) {
  int rc = goro::run([] { expect_captured(); },
                     goro::Config{.leak_policy = goro::LeakPolicy::fail, .capture_stacks = true});
  EXPECT_EQ(rc, 0);
}

TEST(DiagStack, OffByDefault) {
  if (std::getenv("GORO_TRACEBACK") != nullptr) GTEST_SKIP() << "GORO_TRACEBACK is set";
  goro::run([] {
    goro::Channel<int> ch;
    goro::TaskId id = 0;
    auto info = spawn_blocked_in_helper(ch, &id);
    EXPECT_TRUE(info.stack.empty()) << joined(info.stack);
    std::ostringstream text;
    goro::diag::dump_blocked(text);
    EXPECT_EQ(text.str().find("\n        "), std::string::npos) << "no frames:\n" << text.str();
    ch.close();
    EXPECT_TRUE(gt::eventually([&] { return !gt::task_info(id).has_value(); }));
  });
}

// GORO_TRACEBACK is read once, at the first park, so the check runs in a fresh process:
// the test re-runs itself with the variable set, and that child does the capturing.
TEST(DiagStack, EnvTurnsCaptureOn) {
  const char* env = std::getenv("GORO_TRACEBACK");
  if (env != nullptr && std::string(env) == "1") {  // the child
    goro::run([] { expect_captured(); });
    return;
  }
  std::string cmd = "GORO_TRACEBACK=1 /proc/" + std::to_string(getpid()) +
                    "/exe --gtest_filter=DiagStack.EnvTurnsCaptureOn 2>&1";
  auto [status, output] = gt::run_command(cmd);
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("[  PASSED  ] 1 test"), std::string::npos) << output;
}

// A lambda task body, inlined into goro's task entry, is a frame of its own with its file
// and line, in a binary that does not export its functions (no -rdynamic): the grouped
// dump, the Go format and the goroutine profile (pprof's file:line) all show it.
TEST(DiagStack, LambdaTaskShowsItsFileAndLine) {
  // The test's premise: this executable's own functions are not in its dynamic symbols.
  EXPECT_EQ(dlsym(RTLD_DEFAULT, "_Z17blocked_in_helperN4goro7ChannelIiEE"), nullptr)
      << "linked with -rdynamic";
  goro::run(
      [] {
        goro::Channel<int> ch;
        constexpr int kLambdaRecvLine = __LINE__ + 1;
        const goro::TaskId id = goro::go_spawn({.name = "lambda"}, [ch]() mutable { (void)ch.recv(); });
        ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
        const std::string where = "diag_stack_test.cpp:" + std::to_string(kLambdaRecvLine);
        auto info = gt::task_info(id);
        ASSERT_TRUE(info.has_value());
        ASSERT_FALSE(info->stack.empty());
        // Inlined, the lambda is "operator()"; out of line, "<enclosing>::{lambda()#1}::operator()".
        EXPECT_NE(info->stack.front().find("operator() at "), std::string::npos) << joined(info->stack);
        EXPECT_NE(info->stack.front().find(where + " ["), std::string::npos) << joined(info->stack);
        for (const auto& frame : info->stack) {
          EXPECT_EQ(frame.find("goro::"), std::string::npos) << "goro's frames are left out:\n"
                                                            << joined(info->stack);
          EXPECT_EQ(frame.find("/goro/"), std::string::npos) << "goro's frames are left out:\n"
                                                            << joined(info->stack);
        }

        std::ostringstream text;
        goro::diag::dump_blocked(text);
        EXPECT_NE(text.str().find("\n        "), std::string::npos) << text.str();
        EXPECT_NE(text.str().find(where + " ["), std::string::npos) << text.str();

        std::ostringstream go;
        goro::diag::dump_blocked(go, {.format = goro::diag::DumpFormat::go});
        EXPECT_NE(go.str().find("diag_stack_test.cpp.go:" + std::to_string(kLambdaRecvLine) + " +0x"),
                  std::string::npos)
            << go.str();

        // The goroutine profile's frame: Function.filename and Line.line, as pprof shows them.
        std::ostringstream legacy;
        ASSERT_TRUE(goro::diag::write_profile(legacy, "goroutine", 1));
        EXPECT_NE(legacy.str().find(where + "\n"), std::string::npos) << legacy.str();
        if (gt::have_go()) {
          std::ostringstream proto;
          ASSERT_TRUE(goro::diag::write_profile(proto, "goroutine", 0));
          const gt::CommandResult traces = gt::go_pprof("-traces -lines", proto.str());
          EXPECT_EQ(traces.exit_code, 0) << traces.output;
          EXPECT_NE(traces.output.find(where), std::string::npos) << traces.output;
        }
        ch.close();
        EXPECT_TRUE(gt::eventually([&] { return !gt::task_info(id).has_value(); }));
      },
      goro::Config{.capture_stacks = true});
}

// panicparse reads the Go format with captured frames (files and lines), and still
// buckets the goroutines by stack.
TEST(DiagStack, PanicparseReadsCapturedFrames) {
  const char* pp = "/usr/bin/panicparse";
  if (access(pp, X_OK) != 0) GTEST_SKIP() << "panicparse is not installed (apt-get install panicparse)";
  goro::run(
      [pp] {
        const int kTasks = 3;
        goro::Channel<int> ch;
        std::vector<goro::TaskId> ids;
        for (int i = 0; i < kTasks; ++i) ids.push_back(goro::go_spawn([ch] { blocked_in_helper(ch); }));
        for (auto id : ids) ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
        std::string path = ::testing::TempDir() + "goro_stack_dump_" + std::to_string(getpid()) + ".txt";
        {
          std::ofstream f(path);
          EXPECT_EQ(goro::diag::dump_blocked(f, {.format = goro::diag::DumpFormat::go}),
                    static_cast<std::size_t>(kTasks));
        }
        std::ifstream in(path);
        std::string dump((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::string cmd = std::string(pp) + " -no-color -rebase=false -parse=false " + path + " 2>&1";
        auto [status, output] = gt::run_command(cmd);
        std::remove(path.c_str());
        EXPECT_EQ(status, 0) << output;
        // Buckets print as "<count>: <state> [...]".
        std::map<std::string, int> counts;
        std::istringstream lines(output);
        for (std::string line; std::getline(lines, line);) {
          std::size_t colon = line.find(": ");
          if (colon == 0 || colon == std::string::npos ||
              line.find_first_not_of("0123456789") != colon)
            continue;
          std::string state = line.substr(colon + 2);
          state = state.substr(0, state.find(" ["));
          counts[state] += std::stoi(line.substr(0, colon));
        }
        EXPECT_EQ(counts["chan receive"], kTasks) << output << "\ndump:\n" << dump;
        EXPECT_NE(output.find("blocked_in_helper"), std::string::npos) << output << "\ndump:\n" << dump;
        ch.close();
        for (auto id : ids) EXPECT_TRUE(gt::eventually([&] { return !gt::task_info(id).has_value(); }));
      },
      goro::Config{.capture_stacks = true});
}

// Snapshots (and dumps) from a plain thread while tasks park, resume and exit on two
// workers with capture on: no torn stack (TSan checks the hand-off of the buffer), and
// captured stacks are seen.
TEST(DiagStack, SnapshotsDuringChurnWithCapture) {
  std::atomic<bool> stop{false};
  std::atomic<int> snapshots{0}, stacks_seen{0};
  std::thread reader([&] {
    while (!stop.load()) {
      for (const auto& t : goro::diag::tasks())
        if (!t.stack.empty()) stacks_seen.fetch_add(1);
      std::ostringstream out;
      goro::diag::dump_blocked(out, {.format = snapshots.load() % 2 ? goro::diag::DumpFormat::go
                                                                     : goro::diag::DumpFormat::goro});
      snapshots.fetch_add(1);
    }
  });
  const int kRounds = gt::scaled(200, 10);
  const int kFan = gt::live_tasks(32);
  int rc = goro::run(
      [&] {
        const auto give_up = gt::Clock::now() + gt::kWatchdog;
        for (int r = 0; r < kRounds || snapshots.load() < 10 || stacks_seen.load() == 0; ++r) {
          ASSERT_LT(gt::Clock::now(), give_up) << "no captured stack seen during the churn";
          goro::Channel<int> ch;
          goro::WaitGroup wg;
          wg.add(kFan);
          for (int i = 0; i < kFan; ++i)
            goro::go_spawn([=, &wg]() mutable {
              if (i % 2) blocked_in_helper(ch); else ch.send(i);
              wg.done();
            });
          wg.wait();
        }
      },
      goro::Config{.workers = 2, .capture_stacks = true});
  stop = true;
  reader.join();
  EXPECT_EQ(rc, 0);
  EXPECT_GT(stacks_seen.load(), 0);
}

}  // namespace
