// The runtime's life cycle at its edges: spawning once the process exit has begun, a task
// that swallows the runtime's unwind, an exception escaping the main task with
// PanicPolicy::log_and_continue, and readable exception types in the panic log.
// Cases that end a process or could hang one run in a child (this binary, one DISABLED_
// test) under `timeout`, so a regression fails instead of hanging.
#include "goro_test.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using goro::Channel;

gt::CommandResult run_child(const std::string& child) {
  return gt::run_command("GORO_TEST_NO_LEAK_LISTENER=1 timeout 120 /proc/" +
                         std::to_string(::getpid()) +
                         "/exe --gtest_also_run_disabled_tests --gtest_filter=LifecycleChild." +
                         child + " 2>&1");
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// ------------------------------------------------------------- spawning during exit

// Registered before the default runtime exists, so it runs after the runtime's own exit
// handler has stopped it: the situation of a static destructor that spawns.
void spawn_during_exit() {
  try {
    goro::go_spawn([] {});
    std::printf("late spawn: accepted\n");
  } catch (const std::logic_error& e) {
    std::printf("late spawn: std::logic_error: %s\n", e.what());
  }
  std::fflush(stdout);
}

TEST(LifecycleChild, DISABLED_SpawnFromAnExitHandler) {
  std::atexit(spawn_during_exit);
  Channel<int> started(1);
  goro::go_spawn([started]() mutable { started.send(1); });  // starts the default runtime
  GT_ASSERT_RECV(v, started);
}

TEST(Lifecycle, SpawnAfterExitBeganThrowsLogicError) {
  const auto r = run_child("DISABLED_SpawnFromAnExitHandler");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("late spawn: accepted"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("late spawn: std::logic_error: goro::go_spawn at "), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("lifecycle_test.cpp"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("the process is exiting"), std::string::npos) << r.output;
}

// ----------------------------------------------------------- a swallowed unwind

TEST(LifecycleChild, DISABLED_TaskSwallowsTheUnwind) {
  std::atomic<int> catches{0};
  const int rc = goro::run(
      [&] {
        Channel<int> never;
        const auto id = goro::go_spawn([never, &catches]() mutable {
          for (;;) {
            try {
              never.recv();
            } catch (...) {  // wrong: swallows goro::detail::TaskUnwind
              catches.fetch_add(1);
            }
          }
        });
        ASSERT_TRUE(gt::wait_blocked(id, goro::diag::WaitReason::chan_recv));
      },
      goro::Config{.leak_policy = goro::LeakPolicy::off});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(catches.load(), 1) << "the task was resumed after it swallowed the unwind";
  std::printf("run returned\n");
}

TEST(Lifecycle, ASwallowedUnwindIsReportedOnceAndRunFinishes) {
  const auto r = run_child("DISABLED_TaskSwallowsTheUnwind");
  EXPECT_EQ(r.exit_code, 0) << "124: run() never returned\n" << r.output;
  EXPECT_NE(r.output.find("run returned"), std::string::npos) << r.output;
  EXPECT_EQ(count_of(r.output, "did not rethrow it"), 1u) << r.output;
  EXPECT_NE(r.output.find("(spawned at "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("lifecycle_test.cpp:"), std::string::npos) << r.output;
}

// A catch (...) that cleans up with a goro call and rethrows is not swallowing.
TEST(Lifecycle, CatchAllThatRethrowsAfterAGoroCallUnwinds) {
  std::atomic<int> unwound{0};
  const int rc = goro::run(
      [&] {
        Channel<int> never;
        Channel<int> cleanup(1);
        const auto id = goro::go_spawn([never, cleanup, &unwound]() mutable {
          gt::DtorCounter counter(unwound);
          try {
            never.recv();
          } catch (...) {
            cleanup.send(1);  // a goro call inside the handler, then rethrow
            throw;
          }
        });
        ASSERT_TRUE(gt::wait_blocked(id, goro::diag::WaitReason::chan_recv));
      },
      goro::Config{.leak_policy = goro::LeakPolicy::off});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(unwound.load(), 1);
}

// ------------------------------------------- exceptions escaping the main task

TEST(Lifecycle, LogAndContinueRethrowsTheMainTasksException) {
  try {
    goro::run([] { throw std::runtime_error("main failed"); },
              goro::Config{.on_panic = goro::PanicPolicy::log_and_continue});
    FAIL() << "run() returned normally";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "main failed");
  }
}

TEST(Lifecycle, LogAndContinueRethrowsAfterDealingWithLeftovers) {
  std::atomic<int> unwound{0};
  EXPECT_THROW(goro::run(
                   [&] {
                     Channel<int> never;
                     const auto id = goro::go_spawn([never, &unwound]() mutable {
                       gt::DtorCounter counter(unwound);
                       never.recv();
                     });
                     ASSERT_TRUE(gt::wait_blocked(id, goro::diag::WaitReason::chan_recv));
                     throw 7;
                   },
                   goro::Config{.leak_policy = goro::LeakPolicy::off,
                                .on_panic = goro::PanicPolicy::log_and_continue}),
               int);
  EXPECT_EQ(unwound.load(), 1) << "the leftover task was not unwound before the rethrow";
}

TEST(Lifecycle, LogAndContinueKeepsOtherTasksExceptionsInTheLog) {
  const int rc = goro::run(
      [] {
        Channel<int> done;
        goro::go_spawn([done]() mutable {
          struct Closer {
            Channel<int> ch;
            ~Closer() { ch.close(); }
          } closer{done};
          throw std::runtime_error("task failed");
        });
        EXPECT_FALSE(done.recv());
      },
      goro::Config{.on_panic = goro::PanicPolicy::log_and_continue});
  EXPECT_EQ(rc, 0);
}

// ------------------------------------------------------------ the panic log

TEST(LifecycleDeathTest, PanicLogNamesTheExceptionTypeReadably) {
  EXPECT_DEATH(
      {
        goro::run([] {
          Channel<int> never;
          goro::go_spawn([] { throw std::runtime_error("boom"); });
          never.recv();
        });
      },
      "uncaught exception: std::runtime_error: boom");
}

TEST(LifecycleDeathTest, PanicLogNamesANonStdExceptionType) {
  EXPECT_DEATH(
      {
        goro::run([] {
          Channel<int> never;
          goro::go_spawn([] { throw 42; });
          never.recv();
        });
      },
      "an exception of type int \\(not derived from std::exception\\)");
}

}  // namespace
