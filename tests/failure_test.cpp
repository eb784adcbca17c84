// Failure behaviour: stack overflows and uncaught exceptions name the task; an idle
// runtime does not burn CPU.
#include <sys/resource.h>

#include <stdexcept>

#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;

// Recurses with a 512-byte frame, every byte written (so no byte below is skipped),
// until the stack is `limit` bytes deeper than at the first call (0: forever).
__attribute__((noinline)) int recurse(const volatile char* first, std::size_t limit) {
  volatile char frame[512];
  for (char& c : const_cast<char(&)[512]>(frame)) c = 1;
  if (limit != 0 && static_cast<std::size_t>(first - &frame[0]) > limit) return frame[0];
  return recurse(first, limit) + frame[511];
}

TEST(StackOverflowDeathTest, GuardPageNamesTheTask) {
  EXPECT_DEATH(
      {
        goro::run([] {
          goro::Channel<int> done;
          goro::go_spawn({.name = "deep-recursion"}, [done]() mutable {
            volatile char first = 0;
            recurse(&first, 0);
            done.send(1);
          });
          done.recv();
        });
      },
      "stack overflow in task [0-9]+ \"deep-recursion\" \\(spawned at .*failure_test\\.cpp:[0-9]+"
      ".*guard region");
}

#if defined(GORO_ASAN)
extern "C" int __asan_option_detect_stack_use_after_return;  // ASan's run-time flag
#endif

TEST(StackOverflowDeathTest, CanaryNamesTheTaskWhenGuardsRunOut) {
#if defined(GORO_ASAN)
  // recurse() measures its depth by the addresses of its frames, which ASan moves to a
  // heap "fake stack" when it checks for stack use after return.
  if (__asan_option_detect_stack_use_after_return != 0)
    GTEST_SKIP() << "needs real stack frames: run without ASAN_OPTIONS=detect_stack_use_after_return=1";
#endif
  EXPECT_DEATH(
      {
        ::setenv("GORO_STACK_GUARDS", "0", 1);  // read at the first stack carved
        const std::size_t stack = 96 * 1024;
        goro::run(
            [stack] {
              // A parked neighbour occupies the slot below, so the overflow lands in
              // memory that is mapped (its stack top), as it would in a busy service.
              goro::Channel<int> never;
              goro::go_spawn([never]() mutable { never.recv(); });
              goro::sleep_for(1ms);
              goro::Channel<int> done;
              goro::go_spawn({.name = "slightly-too-deep"}, [done, stack]() mutable {
                volatile char first = 0;
                // Past the usable stack (rounded up to pages), the unguarded slack below
                // it (4 pages) and the canary just under the slot: at most stack + 5
                // pages + 64 bytes.
                recurse(&first, stack + 5 * 4096 + 64 + 512);
                done.send(1);
              });
              done.recv();
            },
            goro::Config{.workers = 1, .stack_size = stack});
      },
#if defined(GORO_ASAN)
      // ASan sees the write into the poisoned frames of the parked neighbour first.
      "AddressSanitizer: stack-buffer-overflow.*recurse");
#else
      "stack overflow in task [0-9]+ \"slightly-too-deep\" \\(spawned at "
      ".*failure_test\\.cpp:[0-9]+.*canary");
#endif
}

TEST(PanicDeathTest, UncaughtExceptionIsLoggedWithTaskAndSiteThenTerminates) {
  EXPECT_DEATH(
      {
        goro::run([] {
          goro::Channel<int> never;
          goro::go_spawn({.name = "thrower"},
                         [] { throw std::runtime_error("disk on fire"); });
          never.recv();
        });
      },
      "task [0-9]+ \"thrower\" \\(spawned at .*failure_test\\.cpp:[0-9]+.*disk on fire");
}

TEST(Panic, LogAndContinueKeepsTheRuntimeGoing) {
  std::atomic<int> after{0};
  int code = goro::run(
      [&] {
        goro::WaitGroup wg;
        wg.add(2);
        goro::go_spawn([&] {
          wg.done();
          throw std::runtime_error("expected in this test");
        });
        goro::go_spawn([&] {
          goro::yield();
          after.fetch_add(1);
          wg.done();
        });
        wg.wait();
      },
      goro::Config{.on_panic = goro::PanicPolicy::log_and_continue});
  EXPECT_EQ(code, 0);
  EXPECT_EQ(after.load(), 1);
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// An idle runtime parks its workers: over 200 ms of idleness the process uses a small
// fraction of one core, not the two cores that busy-polling workers would burn.
TEST(Idle, IdleRuntimeUsesAlmostNoCpu) {
  goro::run(
      [] {
        // Some activity first, so workers have just been spinning.
        goro::WaitGroup wg;
        for (int i = 0; i < 1000; ++i) {
          wg.add(1);
          goro::go_spawn([&wg] { wg.done(); });
        }
        wg.wait();
        // A parked task and a far-away timer keep the runtime non-empty but idle.
        goro::Channel<int> stop;
        goro::go_spawn([stop]() mutable { stop.recv(); });
        goro::go_spawn([] { goro::sleep_for(1h); });
        std::this_thread::sleep_for(20ms);  // a plain-thread sleep: the task holds its worker
        const double before = cpu_seconds();
        const auto wall_before = std::chrono::steady_clock::now();
        std::this_thread::sleep_for(200ms);
        const double used = cpu_seconds() - before;
        const double wall =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
        // This task blocks its own worker thread in the OS sleep; the other workers are
        // idle. Busy-polling would use ~wall * (workers - 1) seconds.
        EXPECT_LT(used, 0.1 * wall) << "CPU seconds used while idle: " << used;
        stop.send(0);
      },
      goro::Config{.workers = 2, .leak_policy = goro::LeakPolicy::off});
}

}  // namespace

namespace {

std::size_t map_count() {
  std::FILE* f = std::fopen("/proc/self/maps", "r");
  if (f == nullptr) return 0;
  std::size_t lines = 0;
  for (int c; (c = std::fgetc(f)) != EOF;)
    if (c == '\n') ++lines;
  std::fclose(f);
  return lines;
}

// Spawning reuses pooled stacks and control blocks: once warm, thousands of spawns add no
// mapping (a syscall-per-spawn design would add one per task, or churn them). One worker,
// so tasks never migrate and the per-thread pools reach their steady state in the warm-up.
TEST(Pool, SteadyStateSpawnsAddNoMappings) {
  goro::run(
      [] {
        auto wave = [](int n) {
          goro::WaitGroup wg;
          for (int i = 0; i < n; ++i) {
            wg.add(1);
            goro::go_spawn([&wg] {
              goro::yield();  // really runs on a stack
              wg.done();
            });
            if (i % 64 == 63) wg.wait();  // keep few alive at once
          }
          wg.wait();
        };
        wave(2000);  // warm up the pools
        const std::size_t before = map_count();
        wave(gt::scaled(20000, 2000));
        EXPECT_EQ(map_count(), before);
      },
      goro::Config{.workers = 1});
}

}  // namespace
