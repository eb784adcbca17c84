// Limits that turn running out of tasks or memory into a diagnosis: a spawn past
// Config::max_tasks / max_stack_bytes, or without memory for its stack, throws
// goro::ResourceExhausted at its call site (naming the limit, the live count and the
// spawn sites holding the most tasks), and spawning works again once tasks finish; the
// soft limit warns once per doubling; the environment variables work and are validated.
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "goro_test.hpp"

namespace {

using gt::ScopedEnv;

// Spawns tasks that wait on `gate` until a spawn throws ResourceExhausted (or `cap`
// spawns succeeded); returns how many succeeded and the exception's message.
struct SpawnUntilExhausted {
  int spawned = 0;
  std::string message;
};
SpawnUntilExhausted spawn_until_exhausted(goro::Channel<int> gate, goro::WaitGroup& wg, int cap) {
  SpawnUntilExhausted result;
  for (; result.spawned < cap; ++result.spawned) {
    try {
      wg.add(1);
      goro::go_spawn([gate, &wg]() mutable {
        gate.recv();
        wg.done();
      });
    } catch (const goro::ResourceExhausted& e) {
      wg.done();
      result.message = e.what();
      break;
    }
  }
  return result;
}

// Tasks count against a limit until they are freed, a moment after their last line
// (wg.done()) ran: waits until only the calling task is left.
void wait_until_only_the_caller_is_left() {
  EXPECT_TRUE(gt::eventually([] { return goro::diag::tasks().size() <= 1; }));
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Limits, SpawnPastMaxTasksThrowsAtTheCallSiteNamingLimitCountAndSites) {
  std::string message;
  int line_a = 0, line_b = 0, line_c = 0, line_failing = 0;
  bool recovered = false;
  goro::run(
      [&] {
        goro::Channel<int> gate;
        goro::WaitGroup wg;
        auto parked = [gate, &wg]() mutable {
          gate.recv();
          wg.done();
        };
        // 1 main + 30 + 12 + 7 = 50 live tasks.
        wg.add(49);
        for (int i = 0; i < 30; ++i) { line_a = __LINE__; goro::go_spawn(parked); }
        for (int i = 0; i < 12; ++i) { line_b = __LINE__; goro::go_spawn(parked); }
        for (int i = 0; i < 7; ++i) { line_c = __LINE__; goro::go_spawn(parked); }
        try {
          line_failing = __LINE__; goro::go_spawn([] {});
          ADD_FAILURE() << "the 51st task was spawned";
        } catch (const goro::ResourceExhausted& e) {
          message = e.what();
        }
        // Recovery: once the tasks have finished, spawning works again, up to the limit.
        gate.close();
        wg.wait();
        wait_until_only_the_caller_is_left();
        goro::Channel<int> gate2;
        goro::WaitGroup wg2;
        const SpawnUntilExhausted again = spawn_until_exhausted(gate2, wg2, 1000);
        recovered = again.spawned == 49 && contains(again.message, "max_tasks = 50");
        gate2.close();
        wg2.wait();
      },
      goro::Config{.max_tasks = 50});
  const std::string file = "limits_test.cpp:";
  EXPECT_TRUE(contains(message, "goro::go_spawn at ")) << message;
  EXPECT_TRUE(contains(message, file + std::to_string(line_failing))) << message;
  EXPECT_TRUE(contains(message, "50 live tasks")) << message;
  EXPECT_TRUE(contains(message, "max_tasks = 50")) << message;
  const auto a = message.find("30 at " + std::string(__FILE__) + ":" + std::to_string(line_a));
  const auto b = message.find("12 at " + std::string(__FILE__) + ":" + std::to_string(line_b));
  const auto c = message.find("7 at " + std::string(__FILE__) + ":" + std::to_string(line_c));
  ASSERT_NE(a, std::string::npos) << message;
  ASSERT_NE(b, std::string::npos) << message;
  ASSERT_NE(c, std::string::npos) << message;
  EXPECT_TRUE(a < b && b < c) << "sites by live tasks, most first: " << message;
  EXPECT_TRUE(recovered);
}

TEST(Limits, StackBytesLimitThrowsAndRecovers) {
  constexpr std::size_t kLimit = 1 << 20;
  SpawnUntilExhausted first, second;
  goro::run(
      [&] {
        for (SpawnUntilExhausted* round : {&first, &second}) {
          goro::Channel<int> gate;
          goro::WaitGroup wg;
          *round = spawn_until_exhausted(gate, wg, 1000);
          gate.close();
          wg.wait();
          wait_until_only_the_caller_is_left();
        }
      },
      goro::Config{.stack_size = 64 << 10, .max_stack_bytes = kLimit});
  // Each 64 KiB stack holds more than 64 KiB of address space (guard, rounding).
  EXPECT_GT(first.spawned, 0);
  EXPECT_LT(first.spawned, static_cast<int>(kLimit / (64 << 10)));
  EXPECT_TRUE(contains(first.message, "max_stack_bytes = " + std::to_string(kLimit)))
      << first.message;
  EXPECT_EQ(second.spawned, first.spawned) << "the stacks of finished tasks count no more";
}

TEST(Limits, SoftLimitWarnsOncePerDoublingWithTheTopSites) {
  goro::run([] {});  // goro's logger exists once a runtime has been made
  auto logger = spdlog::get("goro");
  ASSERT_NE(logger, nullptr);
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  logger->sinks().push_back(sink);
  goro::run(
      [&] {
        goro::Channel<int> gate;
        goro::WaitGroup wg;
        const SpawnUntilExhausted r = spawn_until_exhausted(gate, wg, 44);  // 45 with main
        EXPECT_EQ(r.spawned, 44);
        gate.close();
        wg.wait();
      },
      goro::Config{.soft_max_tasks = 10});
  logger->sinks().pop_back();
  const std::string text = log.str();
  std::size_t warnings = 0;
  for (auto at = text.find("past the soft limit"); at != std::string::npos;
       at = text.find("past the soft limit", at + 1))
    ++warnings;
  EXPECT_EQ(warnings, 3u) << "at 10, 20 and 40 live tasks:\n" << text;
  EXPECT_TRUE(contains(text, "soft_max_tasks = 10")) << text;
  EXPECT_TRUE(contains(text, "the next warning at 80")) << text;
  EXPECT_TRUE(contains(text, "limits_test.cpp:")) << "names the spawn site:\n" << text;
}

TEST(Limits, EnvironmentMaxTasksApplies) {
  ScopedEnv env("GORO_MAX_TASKS", "5");
  SpawnUntilExhausted r;
  goro::run([&] {
    goro::Channel<int> gate;
    goro::WaitGroup wg;
    r = spawn_until_exhausted(gate, wg, 1000);
    gate.close();
    wg.wait();
  });
  EXPECT_EQ(r.spawned, 4) << "the main task is one of the 5";
  EXPECT_TRUE(contains(r.message, "max_tasks = 5 (goro::Config::max_tasks or GORO_MAX_TASKS)"))
      << r.message;
}

TEST(Limits, InvalidEnvironmentValuesAreRefusedNamingVariableAndValue) {
  for (const char* name : {"GORO_MAX_TASKS", "GORO_SOFT_MAX_TASKS", "GORO_MAX_STACK_BYTES"}) {
    for (const char* value : {"lots", "-3", "10x", "", "99999999999999999999999"}) {
      ScopedEnv env(name, value);
      std::string what;
      try {
        goro::run([] {});
      } catch (const std::invalid_argument& e) {
        what = e.what();
      }
      EXPECT_TRUE(contains(what, std::string(name) + "=\"" + value + "\" is not valid"))
          << name << "=" << value << ": " << what;
    }
  }
}

// The process's address space now, from /proc/self/statm (pages).
std::size_t address_space_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  statm >> pages;
  return pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

TEST(LimitsDeathTest, OutOfAddressSpaceGivesResourceExhaustedThenRecovers) {
#if defined(GORO_ASAN) || defined(GORO_TSAN)
  GTEST_SKIP() << "sanitizers reserve terabytes of address space: RLIMIT_AS cannot apply";
#else
  // In a child process: an address-space limit 256 MiB above what the running runtime
  // uses; parked tasks are spawned until their stacks no longer fit.
  EXPECT_EXIT(
      {
        goro::run(
            [] {
              const rlimit limit{address_space_bytes() + (256u << 20), RLIM_INFINITY};
              if (::setrlimit(RLIMIT_AS, &limit) != 0) std::_Exit(3);
              goro::Channel<int> gate;
              goro::WaitGroup wg;
              const SpawnUntilExhausted r = spawn_until_exhausted(gate, wg, 1'000'000);
              std::fprintf(stderr, "spawned %d; ResourceExhausted: %s\n", r.spawned,
                           r.message.c_str());
              gate.close();
              wg.wait();
              wait_until_only_the_caller_is_left();
              if (r.message.empty()) std::_Exit(4);
              goro::Channel<int> gate2;
              goro::WaitGroup wg2;
              const SpawnUntilExhausted again = spawn_until_exhausted(gate2, wg2, 100);
              gate2.close();
              wg2.wait();
              std::fprintf(stderr, "after recovery: spawned %d\n", again.spawned);
              std::_Exit(again.spawned == 100 ? 42 : 5);
            },
            goro::Config{.workers = 1});
      },
      ::testing::ExitedWithCode(42),
      "ResourceExhausted: goro::go_spawn at .*limits_test\\.cpp:[0-9]+.*no memory for a new "
      "task's.*after recovery: spawned 100");
#endif
}

}  // namespace
