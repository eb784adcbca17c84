// GORO_* environment variables and Config values: the strict parser (runtime/src/env.hpp)
// and every variable the runtime reads. An invalid value makes run() (or the first
// go_spawn, or a plain thread's first goro wait) throw std::invalid_argument naming the
// variable, the value and the valid forms; it is never replaced by the default.
// Variables read once per process run in a child process (this binary, one DISABLED_
// test, the variable set on its command line).
#include "goro_test.hpp"

#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

#include "env.hpp"
#include "goro/metrics.hpp"

namespace {

using namespace std::chrono_literals;
namespace env = goro::detail::env;

using gt::ScopedEnv;
using gt::invalid_argument_of;

// Each rejection names the variable, the value as given and the valid forms.
void expect_names(const std::string& message, const std::string& name, const std::string& value) {
  EXPECT_NE(message.find(name + "=\"" + value + "\""), std::string::npos) << message;
  EXPECT_NE(message.find("Valid: "), std::string::npos) << message;
}

// ------------------------------------------------------------------ the parser

TEST(EnvParse, UnsignedAcceptsDecimalsInRange) {
  EXPECT_EQ(env::parse_unsigned("GORO_X", "1", 1, 8), 1u);
  EXPECT_EQ(env::parse_unsigned("GORO_X", "8", 1, 8), 8u);
  EXPECT_EQ(env::parse_unsigned("GORO_X", "0", 0, 0), 0u);
  EXPECT_EQ(env::parse_unsigned("GORO_X", "18446744073709551615", 0, UINT64_MAX), UINT64_MAX);
}

TEST(EnvParse, UnsignedRejectsEverythingElse) {
  for (const char* bad : {"", "0", "9", "-1", "+2", " 3", "3 ", "abc", "2x", "0x4", "1.0",
                          "99999999999999999999999"}) {
    SCOPED_TRACE(bad);
    expect_names(invalid_argument_of([&] { env::parse_unsigned("GORO_X", bad, 1, 8); }), "GORO_X", bad);
  }
  const std::string message = invalid_argument_of([] { env::parse_unsigned("GORO_X", "9", 1, 8); });
  EXPECT_NE(message.find("from 1 to 8"), std::string::npos) << message;
}

TEST(EnvParse, BoolTakesTheUsualWordsInAnyCase) {
  for (const char* yes : {"1", "true", "TRUE", "on", "On", "yes", "YES"}) EXPECT_TRUE(env::parse_bool("GORO_B", yes)) << yes;
  for (const char* no : {"0", "false", "False", "off", "OFF", "no", "No"}) EXPECT_FALSE(env::parse_bool("GORO_B", no)) << no;
  for (const char* bad : {"", "2", "maybe", "y", "onn", " on"}) {
    SCOPED_TRACE(bad);
    expect_names(invalid_argument_of([&] { env::parse_bool("GORO_B", bad); }), "GORO_B", bad);
  }
}

TEST(EnvParse, ChoiceIgnoresCaseAndListsTheChoices) {
  EXPECT_EQ(env::parse_choice("GORO_C", "off", {"off", "report", "fail"}), 0u);
  EXPECT_EQ(env::parse_choice("GORO_C", "Report", {"off", "report", "fail"}), 1u);
  EXPECT_EQ(env::parse_choice("GORO_C", "FAIL", {"off", "report", "fail"}), 2u);
  for (const char* bad : {"", "bogus", "fial", "fail ", "of"}) {
    SCOPED_TRACE(bad);
    const std::string message =
        invalid_argument_of([&] { env::parse_choice("GORO_C", bad, {"off", "report", "fail"}); });
    expect_names(message, "GORO_C", bad);
    EXPECT_NE(message.find("off, report, fail"), std::string::npos) << message;
  }
}

TEST(EnvParse, DurationTakesUnitsAndABareNumber) {
  const env::DurationRange any{0ns, 48h};
  EXPECT_EQ(env::parse_duration("GORO_D", "500ms", 1s, any), 500ms);
  EXPECT_EQ(env::parse_duration("GORO_D", "1.5s", 1s, any), 1500ms);
  EXPECT_EQ(env::parse_duration("GORO_D", "2m", 1s, any), 2min);
  EXPECT_EQ(env::parse_duration("GORO_D", "2min", 1s, any), 2min);
  EXPECT_EQ(env::parse_duration("GORO_D", "1h", 1s, any), 1h);
  EXPECT_EQ(env::parse_duration("GORO_D", "250us", 1s, any), 250us);
  EXPECT_EQ(env::parse_duration("GORO_D", "7ns", 1s, any), 7ns);
  EXPECT_EQ(env::parse_duration("GORO_D", "3", 1s, any), 3s);
  EXPECT_EQ(env::parse_duration("GORO_D", "3", 1ms, any), 3ms);
  EXPECT_EQ(env::parse_duration("GORO_D", "10MS", 1s, any), 10ms);
  EXPECT_EQ(env::parse_duration("GORO_D", "0", 1s, any), 0ns);
}

TEST(EnvParse, DurationRejectsEverythingElseWithoutOverflowing) {
  const env::DurationRange range{1ms, 24h};
  for (const char* bad : {"", "abc", "5x", "-1s", "+1s", "1e3s", "inf", "nan", ".", "1..5s",
                          "s", "1 s", "25h", "0.5ms", "99999999999999999999999h", "0"}) {
    SCOPED_TRACE(bad);
    const std::string message =
        invalid_argument_of([&] { env::parse_duration("GORO_D", bad, 1s, range, "on, off"); });
    expect_names(message, "GORO_D", bad);
    EXPECT_NE(message.find("from 1ms to 24h"), std::string::npos) << message;
    EXPECT_NE(message.find("or on, off"), std::string::npos) << message;
  }
}

TEST(EnvParse, BytesTakeAPowerOf1024Suffix) {
  EXPECT_EQ(env::parse_bytes("GORO_X", "0"), 0u);
  EXPECT_EQ(env::parse_bytes("GORO_X", "262144"), 262144u);
  for (const char* k : {"256K", "256k", "256KiB"}) EXPECT_EQ(env::parse_bytes("GORO_X", k), 256u << 10) << k;
  for (const char* m : {"3M", "3m", "3MiB"}) EXPECT_EQ(env::parse_bytes("GORO_X", m), 3u << 20) << m;
  for (const char* g : {"2G", "2g", "2GiB"}) EXPECT_EQ(env::parse_bytes("GORO_X", g), std::size_t{2} << 30) << g;
}

TEST(EnvParse, BytesAndCountsRejectEverythingElse) {
  for (const char* bad : {"", "-1", "+2", " 3", "3 ", "abc", "1.5K", "4KB", "4 K", "0x10",
                          "99999999999999999999999", "17179869184G"}) {
    SCOPED_TRACE(bad);
    const std::string message = invalid_argument_of([&] { env::parse_bytes("GORO_X", bad); });
    EXPECT_EQ(message, std::string("goro: GORO_X=\"") + bad +
                           "\" is not valid: give a number of bytes, optionally with a K, M or G "
                           "suffix (powers of 1024), e.g. 262144 or 256K");
  }
  for (const char* bad : {"", "-1", "abc", "4K", "1.0", "99999999999999999999999"}) {
    SCOPED_TRACE(bad);
    const std::string message = invalid_argument_of([&] { env::parse_count("GORO_X", bad); });
    EXPECT_EQ(message, std::string("goro: GORO_X=\"") + bad +
                           "\" is not valid: give a whole number, e.g. 100000 (0: no limit)");
  }
  EXPECT_EQ(env::parse_count("GORO_X", "100000"), 100000u);
}

TEST(EnvParse, ReadGivesNulloptWhenUnset) {
  ::unsetenv("GORO_TEST_UNSET_VARIABLE");
  EXPECT_FALSE(env::read_unsigned("GORO_TEST_UNSET_VARIABLE", 0, 1));
  EXPECT_FALSE(env::read_bool("GORO_TEST_UNSET_VARIABLE"));
  EXPECT_FALSE(env::read_choice("GORO_TEST_UNSET_VARIABLE", {"a"}));
  EXPECT_FALSE(env::read_duration("GORO_TEST_UNSET_VARIABLE", 1s, {0ns, 1h}));
  EXPECT_FALSE(env::read_count("GORO_TEST_UNSET_VARIABLE"));
  EXPECT_FALSE(env::read_bytes("GORO_TEST_UNSET_VARIABLE"));
  ScopedEnv set("GORO_TEST_UNSET_VARIABLE", "");
  EXPECT_THROW(env::read_bool("GORO_TEST_UNSET_VARIABLE"), std::invalid_argument);
}

// ------------------------------------------------- what the runtime reads per run()

TEST(EnvRuntime, InvalidMaxprocsFailsRun) {
  for (const char* bad : {"0", "-1", "abc", "2x", "100000", ""}) {
    SCOPED_TRACE(bad);
    ScopedEnv procs("GORO_MAXPROCS", bad);
    bool ran = false;
    expect_names(invalid_argument_of([&] { goro::run([&] { ran = true; }); }), "GORO_MAXPROCS", bad);
    EXPECT_FALSE(ran);
  }
}

// The workers of every live runtime, from the goro_workers metric.
long live_workers() {
  std::ostringstream out;
  goro::diag::write_metrics(out);
  const std::string text = out.str();
  const auto at = text.find("\ngoro_workers ");
  return at == std::string::npos ? -1 : std::stol(text.substr(at + 14));
}

TEST(EnvRuntime, ValidMaxprocsSetsTheWorkers) {
  ScopedEnv procs("GORO_MAXPROCS", "7");
  long workers = 0;
  EXPECT_EQ(goro::run([&] { workers = live_workers(); }), 0);
  EXPECT_GE(workers, 7);
}

TEST(EnvRuntime, ConfigWorkersAboveTheCapFailsRun) {
  const std::string message = invalid_argument_of(
      [] { goro::run([] {}, goro::Config{.workers = 100000}); });
  EXPECT_NE(message.find("Config::workers = 100000"), std::string::npos) << message;
  EXPECT_NE(message.find("1 to 1024"), std::string::npos) << message;
  EXPECT_EQ(goro::run([] {}, goro::Config{.workers = 2}), 0);
}

TEST(EnvRuntime, InvalidLeakcheckFailsRun) {
  for (const char* bad : {"bogus", "", "fial", "1"}) {
    SCOPED_TRACE(bad);
    ScopedEnv policy("GORO_LEAKCHECK", bad);
    const std::string message = invalid_argument_of([] { goro::run([] {}); });
    expect_names(message, "GORO_LEAKCHECK", bad);
    EXPECT_NE(message.find("off, report, fail"), std::string::npos) << message;
  }
}

TEST(EnvRuntime, LeakcheckIgnoresCase) {
  ScopedEnv policy("GORO_LEAKCHECK", "FAIL");
  const int rc = goro::run([] {
    goro::Channel<int> never;
    const auto id = goro::go_spawn([never]() mutable { never.recv(); });
    ASSERT_TRUE(gt::wait_blocked(id, goro::diag::WaitReason::chan_recv));
  });
  EXPECT_EQ(rc, 1) << "GORO_LEAKCHECK=FAIL must fail a run that leaks";
}

TEST(EnvRuntime, InvalidTrendFailsRun) {
  for (const char* bad : {"abc", "", "-1s", "5parsecs", "48h"}) {
    SCOPED_TRACE(bad);
    ScopedEnv trend("GORO_TREND", bad);
    expect_names(invalid_argument_of([] { goro::run([] {}); }), "GORO_TREND", bad);
  }
  ScopedEnv off("GORO_TREND", "OFF");
  EXPECT_EQ(goro::run([] {}), 0);
}

TEST(EnvRuntime, NegativeTrendPeriodInConfigFailsRun) {
  const std::string message = invalid_argument_of(
      [] { goro::run([] {}, goro::Config{.trend_period = std::chrono::milliseconds(-5)}); });
  EXPECT_NE(message.find("Config::trend_period"), std::string::npos) << message;
}

TEST(EnvRuntime, InvalidStackGuardsFailsRun) {
  ScopedEnv guards("GORO_STACK_GUARDS", "lots");
  expect_names(invalid_argument_of([] { goro::run([] {}); }), "GORO_STACK_GUARDS", "lots");
}

// ------------------------------------- variables read once per process: in a child

// Runs the DISABLED_ test `child` of this binary with `assignment` in its environment.
gt::CommandResult run_child(const std::string& assignment, const std::string& child) {
  return gt::run_command("GORO_TEST_NO_LEAK_LISTENER=1 " + assignment + " /proc/" +
                         std::to_string(::getpid()) +
                         "/exe --gtest_also_run_disabled_tests --gtest_filter=EnvChild." + child +
                         " 2>&1");
}

void expect_child_passed(const gt::CommandResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("[  PASSED  ] 1 test"), std::string::npos) << r.output;
}

TEST(EnvChild, DISABLED_RunThrowsNaming) {
  const char* name = std::getenv("GORO_TEST_EXPECTED_VARIABLE");
  ASSERT_NE(name, nullptr);
  const std::string message = invalid_argument_of([] { goro::run([] {}); });
  EXPECT_NE(message.find(std::string(name) + "=\""), std::string::npos) << message;
}

TEST(EnvProcess, InvalidDeadlockMsFailsRun) {
  for (const char* bad : {"abc", "-5", "1s", "99999999999999999"}) {
    SCOPED_TRACE(bad);
    expect_child_passed(run_child(std::string("GORO_DEADLOCK_MS=") + bad +
                                      " GORO_TEST_EXPECTED_VARIABLE=GORO_DEADLOCK_MS",
                                  "DISABLED_RunThrowsNaming"));
  }
}

TEST(EnvProcess, InvalidTracebackFailsRun) {
  expect_child_passed(run_child("GORO_TRACEBACK=maybe GORO_TEST_EXPECTED_VARIABLE=GORO_TRACEBACK",
                                "DISABLED_RunThrowsNaming"));
}

TEST(EnvChild, DISABLED_FirstSpawnThrows) {
  const std::string message = invalid_argument_of([] { goro::go_spawn([] {}); });
  EXPECT_NE(message.find("GORO_LEAKCHECK=\"bogus\""), std::string::npos) << message;
}

TEST(EnvProcess, InvalidLeakcheckFailsTheFirstSpawn) {
  expect_child_passed(run_child("GORO_LEAKCHECK=bogus", "DISABLED_FirstSpawnThrows"));
}

// No runtime at all: a plain thread's wait reads GORO_DEADLOCK_MS itself.
TEST(EnvChild, DISABLED_PlainThreadWaitThrows) {
  goro::Channel<int> never;
  const std::string message = invalid_argument_of([&] { (void)never.recv(); });
  EXPECT_NE(message.find("GORO_DEADLOCK_MS=\"abc\""), std::string::npos) << message;
  // The channel is intact: it still works afterwards.
  goro::Channel<int> buffered(1);
  buffered.send(3);
  EXPECT_EQ(buffered.recv(), 3);
}

TEST(EnvProcess, InvalidDeadlockMsFailsAPlainThreadWait) {
  expect_child_passed(run_child("GORO_DEADLOCK_MS=abc", "DISABLED_PlainThreadWaitThrows"));
}

#if defined(GORO_LEAKY_CHILD)
TEST(EnvProcess, InvalidLeakcheckFailedTestsStopsGtestMain) {
  const auto r = gt::run_command("GORO_LEAKCHECK_FAILED_TESTS=bogus " GORO_LEAKY_CHILD
                                 " --gtest_filter=NoSuchTest 2>&1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("GORO_LEAKCHECK_FAILED_TESTS=\"bogus\""), std::string::npos) << r.output;
}
#endif

}  // namespace
