// Dynamic select over a run-time set of goro::SelectCase (Go's reflect.Select) and
// disabled cases, `.when(false)` (Go's nil-channel idiom), in both kinds of select.
#include "goro_test.hpp"

#include <array>
#include <numeric>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using goro::default_case;
using goro::recv_case;
using goro::SelectCase;
using goro::send_case;
using goro::diag::WaitReason;
using TimePoint = std::chrono::steady_clock::time_point;

// ------------------------------------------------------------------ dynamic select

TEST(SelectDynamic, ReturnsThePositionOfTheReadyCaseInTheRange) {
  std::vector<Channel<int>> chans;
  for (int i = 0; i < 5; ++i) chans.emplace_back(1);
  std::vector<std::optional<int>> got(chans.size());
  std::vector<SelectCase> cases;
  for (std::size_t i = 0; i < chans.size(); ++i) cases.push_back(recv_case(chans[i], got[i]));
  chans[3].send(42);
  EXPECT_EQ(goro::select(cases), 3u);
  EXPECT_EQ(got[3], 42);
  EXPECT_FALSE(got[0].has_value());
}

TEST(SelectDynamic, MixesElementTypesAndDirections) {
  Channel<int> ints(1);
  Channel<std::string> strings(1);
  std::optional<int> i;
  std::vector<SelectCase> cases;
  cases.push_back(recv_case(ints, i));
  cases.push_back(send_case(strings, std::string("hello")));
  EXPECT_EQ(goro::select(cases), 1u) << "only the send can proceed";
  EXPECT_EQ(strings.recv(), "hello");
}

TEST(SelectDynamic, ChoosesEveryReadyCaseSometimes) {
  constexpr int kCases = 4;
  std::array<Channel<int>, kCases> chans{Channel<int>(1), Channel<int>(1), Channel<int>(1),
                                         Channel<int>(1)};
  std::array<std::optional<int>, kCases> got;
  std::array<int, kCases> chosen{};
  for (int round = 0; round < 2000; ++round) {
    for (auto& ch : chans)
      if (ch.size() == 0) ch.send(round);
    std::vector<SelectCase> cases;
    for (int i = 0; i < kCases; ++i) cases.push_back(recv_case(chans[i], got[i]));
    ++chosen[goro::select(cases)];
  }
  for (int i = 0; i < kCases; ++i) EXPECT_GT(chosen[i], 0) << "case " << i << " never chosen";
  EXPECT_EQ(std::accumulate(chosen.begin(), chosen.end(), 0), 2000);
}

TEST(SelectDynamic, DefaultFiresWhenNothingIsReady) {
  Channel<int> empty(1);
  std::optional<int> v;
  std::vector<SelectCase> cases;
  cases.push_back(recv_case(empty, v));
  cases.push_back(default_case());
  EXPECT_EQ(goro::select(cases), 1u);
}

TEST(SelectDynamic, TwoEnabledDefaultsAreRejected) {
  std::vector<SelectCase> cases;
  cases.push_back(default_case());
  cases.push_back(default_case());
  EXPECT_THROW((void)goro::select(cases), std::invalid_argument);
  cases[1].set_enabled(false);
  EXPECT_EQ(goro::select(cases), 0u);
}

TEST(SelectDynamic, ManyCasesWakeOnTheOneThatBecomesReady) {
  constexpr std::size_t kCases = 20;  // beyond the select's inline storage
  std::vector<Channel<int>> chans(kCases);
  std::vector<std::optional<int>> got(kCases);
  Channel<std::size_t> result(1);
  const goro::TaskId id = goro::go_spawn([&chans, &got, result]() mutable {
    std::vector<SelectCase> cases;
    for (std::size_t i = 0; i < kCases; ++i) cases.push_back(recv_case(chans[i], got[i]));
    result.send(goro::select(cases));
  });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::select));
  chans[17].send(7);
  GT_ASSERT_RECV(fired, result);
  EXPECT_EQ(fired, 17u);
  EXPECT_EQ(got[17], 7);
}

TEST(SelectDynamic, KeepsATemporaryChannelAlive) {
  std::optional<TimePoint> fired;
  std::vector<SelectCase> cases;
  cases.push_back(recv_case(goro::after(1ms), fired));
  EXPECT_EQ(goro::select(cases), 0u);
  EXPECT_TRUE(fired.has_value());
}

TEST(SelectDynamic, ASpanOrArrayWorksToo) {
  Channel<int> ch(1);
  ch.send(1);
  std::optional<int> v;
  std::array<SelectCase, 2> cases{SelectCase(default_case()), SelectCase(recv_case(ch, v))};
  EXPECT_EQ(goro::select(std::span<SelectCase>(cases)), 1u);
  EXPECT_EQ(v, 1);
}

// ----------------------------------------------------------------- disabled cases

TEST(SelectDisabled, ADisabledReadyCaseIsNeverChosen) {
  Channel<int> a(1), b(1);
  for (int i = 0; i < 200; ++i) {
    if (a.size() == 0) a.send(1);
    b.send(2);
    std::optional<int> va, vb;
    ASSERT_EQ(goro::select(recv_case(a, va).when(false), recv_case(b, vb)), 1u);
    EXPECT_FALSE(va.has_value());
  }
  EXPECT_EQ(a.size(), 1u) << "the disabled case took nothing";
}

TEST(SelectDisabled, ADisabledSendSendsNothing) {
  Channel<int> ch(1);
  EXPECT_EQ(goro::select(send_case(ch, 5).when(false), default_case()), 1u);
  EXPECT_EQ(ch.size(), 0u);
  EXPECT_EQ(goro::select(send_case(ch, 5).when(true), default_case()), 0u);
  EXPECT_EQ(ch.recv(), 5);
}

TEST(SelectDisabled, ADisabledSendOnAClosedChannelDoesNotThrow) {
  Channel<int> closed(1);
  closed.close();
  EXPECT_EQ(goro::select(send_case(closed, 1).when(false), default_case()), 1u);
}

TEST(SelectDisabled, ADisabledDefaultMakesTheSelectBlock) {
  Channel<int> ch;
  Channel<std::size_t> result(1);
  const goro::TaskId id = goro::go_spawn([ch, result]() mutable {
    std::optional<int> v;
    result.send(goro::select(recv_case(ch, v), default_case().when(false)));
  });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::select));
  ch.send(3);
  GT_ASSERT_RECV(fired, result);
  EXPECT_EQ(fired, 0u);
}

// Go's merge of two channels: a drained input is switched off, the loop ends when both are.
TEST(SelectDisabled, SwitchingOffClosedInputsEndsAMergeLoop) {
  Channel<int> a(4), b(4);
  goro::go_spawn([a]() mutable {
    for (int i = 1; i <= 10; ++i) a.send(i);
    a.close();
  });
  goro::go_spawn([b]() mutable {
    for (int i = 100; i <= 110; ++i) b.send(i);
    b.close();
  });
  bool a_open = true, b_open = true;
  int sum = 0, received = 0;
  while (a_open || b_open) {
    std::optional<int> va, vb;
    if (goro::select(recv_case(a, va).when(a_open), recv_case(b, vb).when(b_open)) == 0) {
      if (!va) a_open = false; else { sum += *va; ++received; }
    } else {
      if (!vb) b_open = false; else { sum += *vb; ++received; }
    }
  }
  EXPECT_EQ(received, 21);
  EXPECT_EQ(sum, 55 + 1155);
}

TEST(SelectDisabled, EveryCaseDisabledAndNoDefaultBlocksForeverAsSelectNoCases) {
  goro::Config cfg;
  cfg.leak_policy = goro::LeakPolicy::off;
  bool variadic_blocked = false, dynamic_blocked = false;
  goro::run(
      [&] {
        Channel<int> ready(1);
        ready.send(1);
        const goro::TaskId variadic = goro::go_spawn([ready]() mutable {
          std::optional<int> v;
          (void)goro::select(recv_case(ready, v).when(false), default_case().when(false));
        });
        const goro::TaskId dynamic = goro::go_spawn([ready]() mutable {
          std::optional<int> v;
          std::vector<SelectCase> cases;
          cases.push_back(recv_case(ready, v).when(false));
          (void)goro::select(cases);
        });
        variadic_blocked = gt::wait_blocked(variadic, WaitReason::select_no_cases);
        dynamic_blocked = gt::wait_blocked(dynamic, WaitReason::select_no_cases);
      },
      cfg);  // run() unwinds the two blocked tasks
  EXPECT_TRUE(variadic_blocked);
  EXPECT_TRUE(dynamic_blocked);
}

TEST(SelectDisabled, AStoredCaseCanBeSwitchedBackOn) {
  Channel<int> ch(1);
  ch.send(9);
  std::optional<int> v;
  std::vector<SelectCase> cases;
  cases.push_back(recv_case(ch, v).when(false));
  cases.push_back(default_case());
  EXPECT_FALSE(cases[0].enabled());
  EXPECT_EQ(goro::select(cases), 1u);
  cases[0].set_enabled(true);
  EXPECT_EQ(goro::select(cases), 0u);
  EXPECT_EQ(v, 9);
}

}  // namespace

namespace {

TEST(SelectDynamic, StoredCasesAlsoWorkInTheVariadicSelect) {
  goro::Channel<int> ch(1);
  ch.send(4);
  std::optional<int> v;
  goro::SelectCase off = goro::recv_case(ch, v).when(false);
  goro::SelectCase on = goro::recv_case(ch, v);
  EXPECT_EQ(goro::select(off, on), 1u);
  EXPECT_EQ(v, 4);
}

}  // namespace
