// The examples (examples/leak_*.cpp, examples/fixed_*.cpp, errgroup_fetch.cpp) are tests
// too: each one is run as its own process, its output captured and checked.
//   * leak_*: exits 0 and prints a dump (goro::diag::dump_blocked) that names the right
//     reason and the example's own file:line of the blocked operation (the line marked
//     "// LEAK: blocks here" in its source), and lists the expected number of tasks;
//     run()'s exit report (leak policy: report) names that line on stderr too.
//   * fixed_*: exits 0 and says that goro::diag::find_leaks() found nothing.
// No timing thresholds: the examples wait (bounded) for their leak to form.
//
// Paths come from CMake: GORO_EXAMPLE_<NAME> (the binaries, built before this test)
// and GORO_EXAMPLES_SOURCE_DIR.
#include <gtest/gtest.h>

#include "goro_test.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace {

struct Run {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
  std::string all() const { return "--- stdout ---\n" + out + "--- stderr ---\n" + err; }
};

// Runs `binary` with no arguments; stdout through a pipe, stderr through a temp file.
Run run_example(const std::string& binary) {
  Run r;
  char err_path[] = "/tmp/goro_example_stderr_XXXXXX";
  int fd = ::mkstemp(err_path);
  if (fd < 0) {
    ADD_FAILURE() << "mkstemp failed";
    return r;
  }
  ::close(fd);
  const std::string cmd = "'" + binary + "' 2>'" + err_path + "'";
  auto [exit_code, out] = gt::run_command(cmd);
  if (exit_code < 0) {
    ADD_FAILURE() << "popen failed: " << cmd;
    ::unlink(err_path);
    return r;
  }
  r.exit_code = exit_code;
  r.out = std::move(out);
  std::ifstream err_file(err_path);
  std::stringstream err;
  err << err_file.rdbuf();
  r.err = err.str();
  ::unlink(err_path);
  return r;
}

// The 1-based line of `file` holding `marker`; 0 if none.
int marker_line(const std::string& file, const std::string& marker = "// LEAK: blocks here") {
  std::ifstream in(file);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n)
    if (line.find(marker) != std::string::npos) return n;
  return 0;
}

// Where the example's own "dump_blocked listed N task(s)" line (or "dump_tasks listed",
// for a wait other than a channel's) starts; npos if absent.
std::size_t listed_line(const std::string& out) {
  const auto pos = out.find("dump_blocked listed ");
  return pos != std::string::npos ? pos : out.find("dump_tasks listed ");
}

// The N of that line; -1 if absent.
long listed_count(const std::string& out) {
  const auto pos = listed_line(out);
  if (pos == std::string::npos) return -1;
  return std::strtol(out.c_str() + out.find(" listed ", pos) + 8, nullptr, 10);
}

// Runs a leaky example and checks its dump.
void expect_leak(const std::string& name, const std::string& binary, const std::string& reason,
                 long tasks, const std::string& channel = "") {
  const std::string source = std::string(GORO_EXAMPLES_SOURCE_DIR) + "/" + name + ".cpp";
  const int line = marker_line(source);
  ASSERT_GT(line, 0) << "no \"// LEAK: blocks here\" marker in " << source;
  const std::string site = name + ".cpp:" + std::to_string(line);

  const Run r = run_example(binary);
  EXPECT_EQ(r.exit_code, 0) << r.all();
  // The dump is what the example prints before its "dump_blocked listed" line.
  const auto end = listed_line(r.out);
  ASSERT_NE(end, std::string::npos) << r.all();
  const std::string dump = r.out.substr(0, end);
  EXPECT_NE(dump.find("[" + reason), std::string::npos) << "reason \"" << reason << "\" missing\n" << r.all();
  EXPECT_NE(dump.find(site), std::string::npos) << "wait site " << site << " missing\n" << r.all();
  // The leaked tasks are the only blocked ones, and the dump lists every one of them.
  EXPECT_EQ(listed_count(r.out), tasks) << r.all();
  // The channel it is stuck on, as the dump describes it (e.g. "buffered 4/4").
  if (!channel.empty()) {
    EXPECT_NE(dump.find(channel), std::string::npos) << "channel \"" << channel << "\" missing\n" << r.all();
  }
  // And when the main task returns, run() reports the leak (policy: report) on stderr.
  EXPECT_NE(r.err.find(site), std::string::npos) << "exit report without " << site << "\n" << r.all();
}

// Runs a fixed example: it must exit 0 and report no leaks.
void expect_no_leak(const std::string& binary) {
  const Run r = run_example(binary);
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_NE(r.out.find("no leaks"), std::string::npos) << r.all();
  EXPECT_EQ(r.out.find("LEAKED"), std::string::npos) << r.all();
}

TEST(Examples, LeakTimeout) {
  expect_leak("leak_timeout", GORO_EXAMPLE_LEAK_TIMEOUT, "chan send", 1, "unbuffered");
}
TEST(Examples, FixedTimeout) { expect_no_leak(GORO_EXAMPLE_FIXED_TIMEOUT); }

TEST(Examples, LeakStoppedConsumer) {
  expect_leak("leak_stopped_consumer", GORO_EXAMPLE_LEAK_STOPPED_CONSUMER, "chan send", 1, "unbuffered");
}
TEST(Examples, FixedStoppedConsumer) { expect_no_leak(GORO_EXAMPLE_FIXED_STOPPED_CONSUMER); }

TEST(Examples, LeakFullBuffer) {
  expect_leak("leak_full_buffer", GORO_EXAMPLE_LEAK_FULL_BUFFER, "chan send", 3, "buffered 4/4");
}
TEST(Examples, FixedFullBuffer) { expect_no_leak(GORO_EXAMPLE_FIXED_FULL_BUFFER); }

TEST(Examples, LeakSelect) {
  expect_leak("leak_select", GORO_EXAMPLE_LEAK_SELECT, "select", 1);
}
TEST(Examples, FixedSelect) { expect_no_leak(GORO_EXAMPLE_FIXED_SELECT); }

TEST(Examples, LeakConnNoDeadline) {
  expect_leak("leak_conn_no_deadline", GORO_EXAMPLE_LEAK_CONN_NO_DEADLINE, "IO wait", 1, "read fd ");
}
TEST(Examples, FixedConnNoDeadline) { expect_no_leak(GORO_EXAMPLE_FIXED_CONN_NO_DEADLINE); }

// goro::net: the echo server answers every client task byte for byte, then shuts down
// (Listener::close wakes its accept loop) with no task left.
TEST(Examples, EchoServer) {
  const auto r = run_example(GORO_EXAMPLE_ECHO_SERVER);
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_NE(r.out.find("echoed 800 messages over 8 connections"), std::string::npos) << r.all();
  EXPECT_NE(r.out.find("tasks left besides main: 0"), std::string::npos) << r.all();
}

// Task results and groups: the batch fails with the first error (the 404, never a
// cancellation it caused), cancels its context, and nothing is left running.
TEST(Examples, ErrgroupFetch) {
  const auto r = run_example(GORO_EXAMPLE_ERRGROUP_FETCH);  // (`Run` is gtest's, in here)
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_NE(r.out.find("batch failed: GET /missing: 404 not found"), std::string::npos) << r.all();
  EXPECT_NE(r.out.find("batch context cancelled: yes"), std::string::npos) << r.all();
  EXPECT_NE(r.out.find("home page: 16384 bytes"), std::string::npos) << r.all();
  EXPECT_NE(r.out.find("tasks left besides main: 0"), std::string::npos) << r.all();
}

}  // namespace
