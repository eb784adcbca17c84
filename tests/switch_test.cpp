// Task switches (runtime/src/switch.hpp): what a task holds in registers and on its stack
// survives its parks and migrations, a new task starts on a stack aligned as the ABI
// requires, and a stack walk from inside a task ends at the task's first frame.
#include "goro_test.hpp"

#include <execinfo.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

using goro::Channel;

// Many values live across every switch: whatever the compiler keeps in callee-saved or
// vector registers, or spills, must come back intact. next(i) gives round i's input and
// after(v) ends the round; inlined into each caller, so the values stay live across them.
template <class Next, class After>
[[gnu::always_inline]] inline std::uint64_t mix(int rounds, Next next, After after) {
  std::uint64_t a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7;
  double x = 0.5, y = 1.25, z = -3.0;
  for (int i = 0; i < rounds; ++i) {
    const int v = next(i);
    a = a * 6364136223846793005ULL + static_cast<std::uint64_t>(v);
    b ^= a >> 7;
    c += b * 3;
    d = (d << 1) ^ c;
    e += d ^ (e >> 3);
    f = f * 31 + e;
    g ^= f + a;
    x = x * 0.5 + static_cast<double>(v);
    y += x * 0.25;
    z -= y * 0.125;
    after(v);
  }
  return a ^ b ^ c ^ d ^ e ^ f ^ g ^ static_cast<std::uint64_t>(static_cast<std::int64_t>(x + y + z));
}

std::uint64_t mix_across_switches(Channel<int>& in, Channel<int>& out, int rounds) {
  return mix(
      rounds, [&](int) { return in.recv().value(); }, [&](int v) { out.send(v + 1); });
}

std::uint64_t mix_serially(int first, int rounds) {
  // The same computation without switches: what the task must get.
  return mix(
      rounds, [first](int i) { return first + 2 * i; }, [](int) {});
}

void expect_values_survive(unsigned workers) {
  constexpr int kRounds = 20000;
  std::uint64_t got_even = 0, got_odd = 0;
  goro::run(
      [&] {
        Channel<int> to_odd, to_even;
        Channel<std::uint64_t> result(1);
        goro::go_spawn([&, to_odd, to_even, result]() mutable {
          result.send(mix_across_switches(to_odd, to_even, kRounds));
        });
        to_odd.send(0);
        got_even = mix_across_switches(to_even, to_odd, kRounds - 1);
        (void)to_even.recv();  // the odd task's last send
        got_odd = result.recv().value();
      },
      goro::Config{.workers = workers});
  EXPECT_EQ(got_odd, mix_serially(0, kRounds));
  EXPECT_EQ(got_even, mix_serially(1, kRounds - 1));
}

TEST(Switch, ValuesLiveAcrossSwitchesSurviveOnOneWorker) { expect_values_survive(1); }

TEST(Switch, ValuesLiveAcrossSwitchesSurviveWhenTasksMigrate) { expect_values_survive(2); }

// glibc's printf of a long double and the aligned vector stores the compiler emits for
// alignas(16) data both fault on a misaligned stack.
TEST(Switch, NewTaskStartsOnAnAlignedStack) {
  Channel<std::string> seen(1);
  goro::go_spawn([seen]() mutable {
    alignas(16) volatile char block[64];
    std::memset(const_cast<char*>(block), 1, sizeof block);
    char text[64];
    std::snprintf(text, sizeof text, "%.3Lf %d", static_cast<long double>(1.5),
                  static_cast<int>(reinterpret_cast<std::uintptr_t>(block) % 16));
    seen.send(text);
  });
  GT_ASSERT_RECV(text, seen);
  EXPECT_EQ(text, "1.500 0");
}

// A stack walk from inside a task stops at the task's entry instead of running off the
// stack into whatever lies above it.
TEST(Switch, StackWalkFromATaskEnds) {
  Channel<int> depth(1);
  goro::go_spawn([depth]() mutable {
    std::vector<void*> pcs(4096);
    depth.send(::backtrace(pcs.data(), static_cast<int>(pcs.size())));
  });
  GT_ASSERT_RECV(frames, depth);
  EXPECT_GT(frames, 0);
  EXPECT_LT(frames, 64);
}

// An exception thrown and caught inside a task, across frames that parked in between,
// unwinds through them normally.
TEST(Switch, ExceptionsUnwindThroughFramesThatParked) {
  Channel<int> ping, done(1);
  goro::go_spawn([ping, done]() mutable {
    int caught = 0;
    for (int i = 0; i < 100; ++i) {
      try {
        const int v = ping.recv().value();
        if (v % 2 == 0) throw std::runtime_error("even");
      } catch (const std::runtime_error&) {
        ++caught;
      }
    }
    done.send(caught);
  });
  for (int i = 0; i < 100; ++i) ping.send(i);
  GT_ASSERT_RECV(caught, done);
  EXPECT_EQ(caught, 50);
}

}  // namespace
