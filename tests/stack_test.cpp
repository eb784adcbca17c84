// Task stacks: an overflow is stopped at the guard or reported naming the task, never
// silent; stack sizes per runtime (Config, GORO_STACK_SIZE) and per task (SpawnOptions)
// work, and nonsense sizes are refused.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;

// Sets an environment variable for one scope.
using gt::ScopedEnv;
using gt::invalid_argument_of;

// A frame far larger than the stack, of which only the low 8 KB are written (as snprintf
// into a big buffer does): that write lands tens of KB below the stack's bottom.
// Returns after `park` (if any) has received, with the buffer still live.
__attribute__((noinline)) int big_frame(goro::Channel<int>* park) {
  char buffer[100 * 1024];
  std::snprintf(buffer, 8192, "%08190d", 7);
  if (park != nullptr) park->recv();
  return buffer[8189];
}

// Recurses with sparse 2 KB frames (one byte written in each, so a short canary is
// easily skipped) until the stack is `limit` bytes deep (0: forever); returns the depth.
__attribute__((noinline)) int sparse_recurse(const volatile char* first, std::size_t limit) {
  volatile char frame[2048];
  frame[0] = 1;
  if (limit != 0 && static_cast<std::size_t>(first - &frame[0]) > limit) return frame[0];
  return sparse_recurse(first, limit) + frame[0];
}

// A program where a task with a big frame runs while a neighbour is parked: the
// neighbour's stack is the memory right below the big frame's stack.
void big_frame_program(bool park_inside) {
  goro::run(
      [park_inside] {
        goro::Channel<int> never;
        goro::go_spawn({.name = "neighbour"}, [never]() mutable { never.recv(); });
        goro::sleep_for(1ms);
        goro::Channel<int> done;
        goro::Channel<int> hold;
        goro::go_spawn({.name = "big-frame", .stack_size = 64 * 1024},
                       [done, hold, park_inside]() mutable {
                         done.send(big_frame(park_inside ? &hold : nullptr));
                       });
        done.recv();
        std::fprintf(stderr, "big frame returned: nothing stopped the overflow\n");
      },
      goro::Config{.workers = 1});
}

TEST(StackOverflowDeathTest, BigFrameIsStoppedAtTheGuardNamingTheTask) {
  EXPECT_DEATH(big_frame_program(false),
               "stack overflow in task [0-9]+ \"big-frame\" \\(spawned at "
               ".*stack_test\\.cpp:[0-9]+.*guard region");
}

TEST(StackOverflowDeathTest, BigFrameWithoutGuardIsReportedNamingTheTask) {
  // No guard regions at all (as for the stacks beyond the budget where guards cost map
  // entries): the task parks with its big frame live, and the park sees its stack
  // pointer below its stack.
  EXPECT_DEATH(
      {
        ::setenv("GORO_STACK_GUARDS", "0", 1);  // read at the first stack carved
        big_frame_program(true);
      },
#if defined(GORO_ASAN)
      "(stack overflow in task [0-9]+ \"big-frame\"|AddressSanitizer)");
#else
      "stack overflow in task [0-9]+ \"big-frame\" \\(spawned at "
      ".*stack_test\\.cpp:[0-9]+.*stack pointer is below its stack");
#endif
}

TEST(StackOverflowDeathTest, DeepRecursionWithoutGuardIsReportedNamingTheTask) {
  // Sparse frames skip the canary; the recursion runs through the stacks below until it
  // touches unmapped memory, and the fault handler sees the task's stack pointer.
  EXPECT_DEATH(
      {
        ::setenv("GORO_STACK_GUARDS", "0", 1);
        goro::run(
            [] {
              goro::Channel<int> never;
              for (int i = 0; i < 8; ++i)
                goro::go_spawn([never]() mutable { never.recv(); });
              goro::sleep_for(1ms);
              goro::Channel<int> done;
              goro::go_spawn({.name = "deep-sparse"}, [done]() mutable {
                volatile char first = 0;
                done.send(sparse_recurse(&first, 0));
              });
              done.recv();
            },
            goro::Config{.workers = 1});
      },
#if defined(GORO_ASAN)
      "(stack overflow in task [0-9]+ \"deep-sparse\"|AddressSanitizer)");
#else
      "stack overflow in task [0-9]+ \"deep-sparse\" \\(spawned at "
      ".*stack_test\\.cpp:[0-9]+.*(stack pointer is below its stack|canary)");
#endif
}

TEST(StackSize, TaskWithABigStackCanUseIt) {
  int depth_reached = 0;
  goro::run([&] {
    goro::Channel<int> done(1);
    // 1 MiB of frames, on a 2 MiB stack (the runtime's default is 64 KiB).
    goro::go_spawn({.name = "big-stack", .stack_size = 2 << 20}, [done]() mutable {
      volatile char first = 0;
      done.send(sparse_recurse(&first, 1 << 20));
    });
    depth_reached = gt::recv_for(done).value.value_or(0);
  });
  EXPECT_GE(depth_reached, (1 << 20) / 4096) << "the recursion did not finish";
}

TEST(StackSize, ConfigStackSizeAppliesToEveryTask) {
  int result = 0;
  goro::run(
      [&] {
        goro::Channel<int> done(1);
        goro::go_spawn([done]() mutable {
          volatile char first = 0;
          done.send(sparse_recurse(&first, 256 << 10));
        });
        result = gt::recv_for(done).value.value_or(0);
      },
      goro::Config{.stack_size = 512 << 10});
  EXPECT_GE(result, (256 << 10) / 4096) << "the recursion did not finish";
}

TEST(StackSize, EnvironmentStackSizeAppliesWhenConfigLeavesItUnset) {
  ScopedEnv env("GORO_STACK_SIZE", "512K");
  int result = 0;
  goro::run([&] {
    goro::Channel<int> done(1);
    goro::go_spawn([done]() mutable {
      volatile char first = 0;
      done.send(sparse_recurse(&first, 256 << 10));
    });
    result = gt::recv_for(done).value.value_or(0);
  });
  EXPECT_GE(result, (256 << 10) / 4096) << "the recursion did not finish";
}

TEST(StackSize, NonsenseConfigSizesAreRefusedNamingValueAndRange) {
  for (const std::size_t size : {std::size_t{1}, std::size_t{4096}, SIZE_MAX - 1}) {
    const std::string what =
        invalid_argument_of([size] { goro::run([] {}, goro::Config{.stack_size = size}); });
    EXPECT_NE(what.find("goro::Config::stack_size = " + std::to_string(size)), std::string::npos)
        << what;
    EXPECT_NE(what.find("16384"), std::string::npos) << what;
    EXPECT_NE(what.find("1073741824"), std::string::npos) << what;
  }
}

TEST(StackSize, NonsenseSpawnSizesAreRefusedAtTheSpawn) {
  std::string tiny, huge;
  goro::run([&] {
    tiny = invalid_argument_of([] { goro::go_spawn({.stack_size = 1}, [] {}); });
    huge = invalid_argument_of([] { goro::go_spawn({.stack_size = SIZE_MAX}, [] {}); });
  });
  EXPECT_NE(tiny.find("goro::SpawnOptions::stack_size (go_spawn at "), std::string::npos) << tiny;
  EXPECT_NE(tiny.find("stack_test.cpp"), std::string::npos) << tiny;
  EXPECT_NE(tiny.find(" = 1 is out of range"), std::string::npos) << tiny;
  EXPECT_NE(huge.find(" = " + std::to_string(SIZE_MAX) + " is out of range"), std::string::npos)
      << huge;
  EXPECT_NE(huge.find("1073741824"), std::string::npos) << huge;
}

TEST(StackSize, InvalidEnvironmentSizesAreRefusedNamingVariableAndValue) {
  for (const char* value : {"lots", "64Q", "-1", "1", "4G", "99999999999999999999999"}) {
    ScopedEnv env("GORO_STACK_SIZE", value);
    const std::string what = invalid_argument_of([] { goro::run([] {}); });
    EXPECT_NE(what.find("GORO_STACK_SIZE"), std::string::npos) << value << ": " << what;
    EXPECT_TRUE(what.find(value) != std::string::npos || what.find("out of range") != std::string::npos)
        << value << ": " << what;
  }
}

}  // namespace
