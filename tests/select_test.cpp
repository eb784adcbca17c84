// select semantics (Go's spec; runtime/chan_test.go; test/chan/nonblock.go,
// select3.go, select4.go, select6.go, select7.go, doubleselect.go is in stress_test.cpp).
#include "goro_test.hpp"

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using goro::default_case;
using goro::recv_case;
using goro::send_case;
using goro::diag::WaitReason;
using TimePoint = std::chrono::steady_clock::time_point;

// ---------------------------------------------------------------------------
// default_case and the returned index

TEST(SelectDefault, OnlyDefault) { EXPECT_EQ(goro::select(default_case()), 0u); }

TEST(SelectDefault, NeverBlocksWhenNothingIsReady) {
  Channel<int> unbuf;
  Channel<int> empty(3);
  Channel<int> full(1);
  full.send(1);
  std::optional<int> v;
  EXPECT_EQ(goro::select(recv_case(unbuf, v), default_case()), 1u);
  EXPECT_EQ(goro::select(recv_case(empty, v), default_case()), 1u);
  EXPECT_EQ(goro::select(send_case(unbuf, 1), default_case()), 1u);
  EXPECT_EQ(goro::select(send_case(full, 2), default_case()), 1u);
  EXPECT_EQ(goro::select(default_case(), recv_case(unbuf, v), send_case(full, 3)), 0u);
  EXPECT_EQ(goro::select(recv_case(unbuf, v), default_case(), send_case(full, 3)), 1u);
  EXPECT_FALSE(v.has_value());
  EXPECT_EQ(full.size(), 1u);
  EXPECT_EQ(full.recv(), std::optional<int>(1));
}

TEST(SelectDefault, NeverBlocksInsideATask) {
  Channel<int> unbuf;
  Channel<std::size_t> result(1);
  goro::go_spawn([unbuf, result]() mutable {
    std::optional<int> v;
    result.send(goro::select(recv_case(unbuf, v), send_case(unbuf, 1), default_case()));
  });
  GT_ASSERT_RECV(idx, result);
  EXPECT_EQ(idx, 2u);
}

TEST(SelectDefault, AReadyCaseAlwaysBeatsDefault) {
  Channel<int> c(1);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(goro::select(send_case(c, i), default_case()), 0u) << i;
    std::optional<int> v;
    ASSERT_EQ(goro::select(default_case(), recv_case(c, v)), 1u) << i;
    ASSERT_EQ(v, std::optional<int>(i));
  }
}

TEST(SelectDefault, AWaitingPeerIsReady) {
  // An unbuffered channel with a parked receiver (or sender) is ready.
  Channel<int> c;
  Channel<int> got(1);
  auto r = goro::go_spawn([c, got]() mutable { got.send(*c.recv()); });
  ASSERT_TRUE(gt::wait_blocked(r, WaitReason::chan_recv));
  EXPECT_EQ(goro::select(send_case(c, 11), default_case()), 0u);
  GT_ASSERT_RECV(v, got);
  EXPECT_EQ(v, 11);

  auto s = goro::go_spawn([c]() mutable { c.send(12); });
  ASSERT_TRUE(gt::wait_blocked(s, WaitReason::chan_send));
  std::optional<int> w;
  EXPECT_EQ(goro::select(recv_case(c, w), default_case()), 0u);
  EXPECT_EQ(w, std::optional<int>(12));
}

TEST(Select, ReturnsThePositionOfTheCaseThatFired) {
  Channel<int> a, b;
  Channel<int> c(1);
  c.send(3);
  std::optional<int> va, vb, vc;
  EXPECT_EQ(goro::select(recv_case(a, va), recv_case(b, vb), recv_case(c, vc)), 2u);
  EXPECT_EQ(vc, std::optional<int>(3));
  EXPECT_FALSE(va.has_value());
  EXPECT_FALSE(vb.has_value());

  Channel<int> d(1);
  EXPECT_EQ(goro::select(recv_case(a, va), send_case(b, 1), send_case(d, 4)), 2u);
  EXPECT_EQ(d.recv(), std::optional<int>(4));
}

// test/chan/select4.go: the value lands in the fired case's output only.
TEST(Select, OnlyTheFiredCaseOutputIsSet) {
  Channel<int> c(1), c1;
  c.send(42);
  std::optional<int> x, y;
  EXPECT_EQ(goro::select(recv_case(c1, y), recv_case(c, x)), 1u);
  EXPECT_EQ(x, std::optional<int>(42));
  EXPECT_FALSE(y.has_value());
}

TEST(Select, BlocksUntilACaseIsReady) {
  Channel<int> a, b;
  Channel<std::pair<std::size_t, int>> result(1);
  auto id = goro::go_spawn([a, b, result]() mutable {
    std::optional<int> va, vb;
    std::size_t i = goro::select(recv_case(a, va), recv_case(b, vb));
    result.send({i, i == 0 ? va.value_or(-1) : vb.value_or(-1)});
  });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::select));
  EXPECT_EQ(result.size(), 0u);
  b.send(8);
  GT_ASSERT_RECV(r, result);
  EXPECT_EQ(r.first, 1u);
  EXPECT_EQ(r.second, 8);
}

TEST(Select, BlockedSendCaseCompletesWhenAReceiverArrives) {
  Channel<int> a, b;
  Channel<std::size_t> result(1);
  auto id = goro::go_spawn([a, b, result]() mutable {
    result.send(goro::select(send_case(a, 1), send_case(b, 2)));
  });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::select));
  EXPECT_EQ(a.recv(), std::optional<int>(1));
  GT_ASSERT_RECV(i, result);
  EXPECT_EQ(i, 0u);
  // b's case did not fire: nothing is waiting on b now.
  std::optional<int> v;
  EXPECT_EQ(goro::select(recv_case(b, v), default_case()), 1u);
}

// ---------------------------------------------------------------------------
// Closed channels in select

TEST(SelectClosed, RecvCaseOnClosedFiresWithNullopt) {
  Channel<int> closed, never;
  closed.close();
  for (int i = 0; i < 10; ++i) {
    std::optional<int> v = 5, w;
    EXPECT_EQ(goro::select(recv_case(never, w), recv_case(closed, v)), 1u);
    EXPECT_EQ(v, std::nullopt);
    std::optional<int> u = 6;
    EXPECT_EQ(goro::select(recv_case(closed, u), default_case()), 0u) << "closed beats default";
    EXPECT_EQ(u, std::nullopt);
  }
}

TEST(SelectClosed, RecvCaseDrainsBeforeNullopt) {
  Channel<int> c(2);
  c.send(1);
  c.send(2);
  c.close();
  std::optional<int> v;
  EXPECT_EQ(goro::select(recv_case(c, v)), 0u);
  EXPECT_EQ(v, std::optional<int>(1));
  EXPECT_EQ(goro::select(recv_case(c, v)), 0u);
  EXPECT_EQ(v, std::optional<int>(2));
  EXPECT_EQ(goro::select(recv_case(c, v)), 0u);
  EXPECT_EQ(v, std::nullopt);
}

TEST(SelectClosed, SendCaseOnClosedThrows) {
  Channel<int> c, other;
  c.close();
  EXPECT_THROW(goro::select(send_case(c, 7)), goro::ChannelClosed);
  std::optional<int> v;
  EXPECT_THROW(goro::select(recv_case(other, v), send_case(c, 7)), goro::ChannelClosed);
  // As in Go, a send to a closed channel is a ready case (that panics), so a
  // default case does not save it.
  EXPECT_THROW(goro::select(send_case(c, 7), default_case()), goro::ChannelClosed);
}

TEST(SelectClosed, BlockedRecvCaseWokenByClose) {
  Channel<int> a, b;
  Channel<std::pair<std::size_t, bool>> result(1);
  auto id = goro::go_spawn([a, b, result]() mutable {
    std::optional<int> va, vb = 1;
    std::size_t i = goro::select(recv_case(a, va), recv_case(b, vb));
    result.send({i, !vb.has_value()});
  });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::select));
  b.close();
  GT_ASSERT_RECV(r, result);
  EXPECT_EQ(r.first, 1u);
  EXPECT_TRUE(r.second);
}

TEST(SelectClosed, BlockedSendCaseThrowsWhenClosed) {
  Channel<int> a, b;
  Channel<int> result(1);  // 1: ChannelClosed, 0: returned, -1: other exception
  auto id = goro::go_spawn([a, b, result]() mutable {
    int r = 0;
    try {
      std::optional<int> vb;
      goro::select(send_case(a, 1), recv_case(b, vb));
    } catch (const goro::ChannelClosed&) {
      r = 1;
    } catch (...) {
      r = -1;
    }
    result.send(r);
  });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::select));
  a.close();
  GT_ASSERT_RECV(r, result);
  EXPECT_EQ(r, 1);
  // The select left no waiter behind on b.
  std::optional<int> v;
  EXPECT_EQ(goro::select(send_case(b, 1), default_case()), 1u);
}

// ---------------------------------------------------------------------------
// The same channel in several cases

TEST(SelectSameChannel, TwoRecvCasesTakeOneValue) {
  Channel<int> c(1);
  std::set<std::size_t> fired;
  for (int i = 0; i < 200; ++i) {
    c.send(i);
    std::optional<int> x, y;
    std::size_t idx = goro::select(recv_case(c, x), recv_case(c, y));
    fired.insert(idx);
    ASSERT_LT(idx, 2u);
    EXPECT_EQ(idx == 0 ? x : y, std::optional<int>(i));
    EXPECT_FALSE((idx == 0 ? y : x).has_value());
    EXPECT_EQ(c.size(), 0u);
  }
  EXPECT_EQ(fired.size(), 2u) << "one of two always-ready cases was never chosen in 200 tries";
}

TEST(SelectSameChannel, TwoSendCasesSendOneValue) {
  Channel<int> c(1);
  for (int i = 0; i < 100; ++i) {
    std::size_t idx = goro::select(send_case(c, 0), send_case(c, 1));
    EXPECT_EQ(c.size(), 1u);
    EXPECT_EQ(c.recv(), std::optional<int>(static_cast<int>(idx)));
  }
}

// test/chan/nonblock.go: "select should not get confused if it sees itself".
TEST(SelectSameChannel, SendAndRecvOnOneUnbufferedChannelDoNotPair) {
  Channel<int> c;
  std::optional<int> v;
  EXPECT_EQ(goro::select(send_case(c, 1), recv_case(c, v), default_case()), 2u);

  Channel<std::pair<std::size_t, int>> result(1);
  auto t1 = goro::go_spawn([c, result]() mutable {
    std::optional<int> v;
    std::size_t i = goro::select(send_case(c, 1), recv_case(c, v));
    result.send({i, v.value_or(-1)});
  });
  ASSERT_TRUE(gt::wait_blocked(t1, WaitReason::select));
  EXPECT_EQ(c.recv(), std::optional<int>(1));
  GT_ASSERT_RECV(r1, result);
  EXPECT_EQ(r1.first, 0u);

  auto t2 = goro::go_spawn([c, result]() mutable {
    std::optional<int> v;
    std::size_t i = goro::select(send_case(c, 1), recv_case(c, v));
    result.send({i, v.value_or(-1)});
  });
  ASSERT_TRUE(gt::wait_blocked(t2, WaitReason::select));
  c.send(2);
  GT_ASSERT_RECV(r2, result);
  EXPECT_EQ(r2.first, 1u);
  EXPECT_EQ(r2.second, 2);
}

// runtime/chan_test.go TestSelfSelect.
TEST(SelectSameChannel, SelfSelectNeverReceivesItsOwnValue) {
  const int iters = gt::scaled(1000, 100);
  for (std::size_t cap : {0u, 10u}) {
    Channel<int> c(cap);
    Channel<int> self_receives(2);
    Channel<int> done(2);
    for (int p = 0; p < 2; ++p)
      goro::go_spawn([c, self_receives, done, p, cap, iters]() mutable {
        int bad = 0;
        for (int i = 0; i < iters; ++i) {
          std::optional<int> v;
          std::size_t idx;
          if (p == 0 || i % 2 == 0)
            idx = goro::select(send_case(c, p), recv_case(c, v));
          else
            idx = goro::select(recv_case(c, v), send_case(c, p));
          if (cap == 0 && v && *v == p) ++bad;
          (void)idx;
        }
        self_receives.send(bad);
        done.send(1);
      });
    // The two tasks only talk to each other; with a buffer one of them may end
    // with values left over, which is fine.
    EXPECT_EQ(gt::drain_n(done, 2), 2u) << "capacity " << cap;
    EXPECT_EQ(self_receives.recv(), std::optional<int>(0));
    EXPECT_EQ(self_receives.recv(), std::optional<int>(0));
  }
}

// runtime/chan_test.go TestSelectDuplicateChannel: a task queued twice on one
// channel must dequeue itself cleanly when another case wins.
TEST(SelectSameChannel, DuplicateChannelDoesNotCorruptTheWaitQueue) {
  Channel<int> c, d, e;
  auto a = goro::go_spawn([c, d, e]() mutable {
    std::optional<int> x, y, z;
    goro::select(recv_case(c, x), recv_case(c, y), recv_case(d, z));
    e.send(9);
  });
  ASSERT_TRUE(gt::wait_blocked(a, WaitReason::select));
  Channel<int> b_got(1);
  auto b = goro::go_spawn([c, b_got]() mutable { b_got.send(*c.recv()); });
  ASSERT_TRUE(gt::wait_blocked(b, WaitReason::chan_recv));
  d.send(7);
  GT_ASSERT_RECV(nine, e);
  EXPECT_EQ(nine, 9);
  c.send(8);
  GT_ASSERT_RECV(eight, b_got);
  EXPECT_EQ(eight, 8);
}

// ---------------------------------------------------------------------------
// Handles: temporaries, const, conversions, move-only values

TEST(SelectHandles, AfterTemporary) {
  std::optional<TimePoint> t;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(goro::select(recv_case(goro::after(10ms), t)), 0u);
  ASSERT_TRUE(t.has_value());
  EXPECT_GE(*t, start + 10ms) << "after(10ms) fired early";

  Channel<int> never;
  std::optional<int> v;
  std::optional<TimePoint> t2;
  EXPECT_EQ(goro::select(recv_case(never, v), recv_case(goro::after(1ms), t2)), 1u);
  EXPECT_TRUE(t2.has_value());
  EXPECT_FALSE(v.has_value());
}

TEST(SelectHandles, AfterInsideATask) {
  Channel<std::size_t> result(1);
  goro::go_spawn([result]() mutable {
    Channel<int> never;
    std::optional<int> v;
    std::optional<TimePoint> t;
    result.send(goro::select(recv_case(never, v), recv_case(goro::after(2ms), t)));
  });
  GT_ASSERT_RECV(i, result);
  EXPECT_EQ(i, 1u);
}

TEST(SelectHandles, AfterChannelDeliversOnceThenStaysEmpty) {
  auto t = goro::after(1ms);
  EXPECT_EQ(t.capacity(), 1u) << "Go's time.After channel has a buffer of one";
  auto r = gt::recv_for(t);
  ASSERT_FALSE(r.timed_out);
  ASSERT_TRUE(r.value.has_value());
  std::optional<TimePoint> again;
  EXPECT_EQ(goro::select(recv_case(t, again), default_case()), 1u);
}

TEST(SelectHandles, ConstAndTemporaryChannelHandles) {
  const Channel<int> c(2);
  std::optional<int> v;
  EXPECT_EQ(goro::select(send_case(c, 5)), 0u);
  EXPECT_EQ(goro::select(recv_case(c, v)), 0u);
  EXPECT_EQ(v, std::optional<int>(5));
  EXPECT_EQ(goro::select(send_case(Channel<int>(1), 3)), 0u);
  Channel<int> shared(1);
  EXPECT_EQ(goro::select(send_case(Channel<int>(shared), 4)), 0u);  // a temporary copy of a handle
  EXPECT_EQ(shared.recv(), std::optional<int>(4));
}

TEST(SelectHandles, SendCaseValueConvertsToTheChannelType) {
  Channel<std::string> s(1);
  EXPECT_EQ(goro::select(send_case(s, "literal")), 0u);
  EXPECT_EQ(s.recv(), std::optional<std::string>("literal"));
  Channel<long long> l(1);
  EXPECT_EQ(goro::select(send_case(l, 3)), 0u);
  EXPECT_EQ(l.recv(), std::optional<long long>(3));
}

TEST(SelectHandles, MoveOnlyValues) {
  Channel<std::unique_ptr<int>> c(1);
  EXPECT_EQ(goro::select(send_case(c, std::make_unique<int>(4))), 0u);
  // Full: the default fires and the unsent value is simply destroyed.
  EXPECT_EQ(goro::select(send_case(c, std::make_unique<int>(5)), default_case()), 1u);
  std::optional<std::unique_ptr<int>> p;
  EXPECT_EQ(goro::select(recv_case(c, p)), 0u);
  ASSERT_TRUE(p.has_value());
  ASSERT_TRUE(*p);
  EXPECT_EQ(**p, 4);
}

TEST(SelectHandles, UnsentValuesAreDestroyedExactlyOnce) {
  const long before = gt::Counted::live().load();
  {
    Channel<gt::Counted> full(1), other;
    full.send(gt::Counted(1));
    for (int i = 0; i < 10; ++i) {
      EXPECT_EQ(goro::select(send_case(full, gt::Counted(2)), send_case(other, gt::Counted(3)),
                             default_case()),
                2u);
    }
    EXPECT_EQ(gt::Counted::live().load() - before, 1);
    std::optional<gt::Counted> out;
    EXPECT_EQ(goro::select(send_case(other, gt::Counted(4)), recv_case(full, out)), 1u);
    EXPECT_EQ(out->v, 1);
  }
  EXPECT_EQ(gt::Counted::live().load(), before);
}

// ---------------------------------------------------------------------------
// Fairness

// runtime/chan_test.go TestSelectFairness, with a very wide margin.
TEST(SelectFairness, TwoAlwaysReadyRecvCases) {
  const int trials = 10000;
  Channel<char> c1(trials + 1), c2(trials + 1), c3, c4;
  for (int i = 0; i < trials + 1; ++i) {
    c1.send(1);
    c2.send(2);
  }
  int cnt1 = 0, cnt2 = 0;
  for (int i = 0; i < trials; ++i) {
    std::optional<char> b;
    goro::select(recv_case(c3, b), recv_case(c4, b), recv_case(c1, b), recv_case(c2, b));
    ASSERT_TRUE(b.has_value());
    if (*b == 1)
      ++cnt1;
    else if (*b == 2)
      ++cnt2;
    else
      FAIL() << "unexpected value " << int(*b);
  }
  EXPECT_EQ(cnt1 + cnt2, trials);
  EXPECT_GE(cnt1, trials * 3 / 10) << cnt1 << " vs " << cnt2;
  EXPECT_LE(cnt1, trials * 7 / 10) << cnt1 << " vs " << cnt2;
}

TEST(SelectFairness, TwoAlwaysReadyRecvCasesInATask) {
  const int trials = 10000;
  Channel<char> c1(trials + 1), c2(trials + 1);
  for (int i = 0; i < trials + 1; ++i) {
    c1.send(1);
    c2.send(2);
  }
  Channel<int> result(1);
  goro::go_spawn([c1, c2, result, trials]() mutable {
    int cnt1 = 0;
    for (int i = 0; i < trials; ++i) {
      std::optional<char> b;
      if (goro::select(recv_case(c1, b), recv_case(c2, b)) == 0) ++cnt1;
    }
    result.send(cnt1);
  });
  GT_ASSERT_RECV(cnt1, result);
  EXPECT_GE(cnt1, trials * 3 / 10);
  EXPECT_LE(cnt1, trials * 7 / 10);
}

TEST(SelectFairness, TwoAlwaysReadySendCases) {
  const int trials = 10000;
  Channel<int> a(trials), b(trials);
  int first = 0;
  for (int i = 0; i < trials; ++i)
    if (goro::select(send_case(a, i), send_case(b, i)) == 0) ++first;
  EXPECT_EQ(a.size() + b.size(), static_cast<std::size_t>(trials));
  EXPECT_EQ(a.size(), static_cast<std::size_t>(first));
  EXPECT_GE(first, trials * 3 / 10);
  EXPECT_LE(first, trials * 7 / 10);
}

// runtime/chan_test.go TestPseudoRandomSend.
TEST(SelectFairness, PseudoRandomSend) {
  const int n = 100;
  for (std::size_t cap : {std::size_t{0}, static_cast<std::size_t>(n)}) {
    Channel<int> c(cap);
    Channel<std::vector<int>> got(1);
    goro::go_spawn([c, got, n]() mutable {
      std::vector<int> l;
      for (int i = 0; i < n; ++i) {
        goro::yield();
        l.push_back(*c.recv());
      }
      got.send(std::move(l));
    });
    for (int i = 0; i < n; ++i) goro::select(send_case(c, 1), send_case(c, 0));
    GT_ASSERT_RECV(l, got);
    int n0 = 0, n1 = 0;
    for (int i : l) (i == 0 ? n0 : n1)++;
    EXPECT_GT(n0, n / 10) << "capacity " << cap;
    EXPECT_GT(n1, n / 10) << "capacity " << cap;
  }
}

// ---------------------------------------------------------------------------
// Non-blocking selects (test/chan/nonblock.go), for several element types and
// buffer sizes 0 and 1: a non-blocking receive/send loop eventually pairs with a
// task that does a blocking send/receive.

template <class T>
void nonblock_case(T sent_by_main, T sent_by_task) {
  for (std::size_t buffer : {0u, 1u}) {
    SCOPED_TRACE(::testing::Message() << "buffer " << buffer);
    Channel<T> c(buffer);
    Channel<bool> sync;
    std::optional<T> v;
    ASSERT_EQ(goro::select(recv_case(c, v), default_case()), 1u) << "blocked sender";

    // A receiver task; the main loop sends without blocking until it is taken.
    goro::go_spawn([c, sync, sent_by_main]() mutable { sync.send(c.recv() == sent_by_main); });
    const auto deadline = std::chrono::steady_clock::now() + gt::kWatchdog;
    for (;;) {
      if (goro::select(send_case(c, sent_by_main), default_case()) == 0) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "receiver never became ready";
      goro::sleep_for(10us);
    }
    {
      GT_ASSERT_RECV(ok, sync);
      EXPECT_TRUE(ok);
    }

    // A sender task; the main loop receives without blocking until a value comes.
    goro::go_spawn([c, sync, sent_by_task]() mutable {
      c.send(sent_by_task);
      sync.send(true);
    });
    if (buffer > 0) {
      GT_ASSERT_RECV(ok, sync);
      EXPECT_TRUE(ok);
    }
    for (;;) {
      v.reset();
      if (goro::select(recv_case(c, v), default_case()) == 0) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "sender never became ready";
      goro::sleep_for(10us);
    }
    EXPECT_EQ(v, std::optional<T>(sent_by_task));
    if (buffer == 0) {
      GT_ASSERT_RECV(ok, sync);
      EXPECT_TRUE(ok);
    }
  }
}

TEST(SelectNonblocking, Int32) { nonblock_case<std::int32_t>(123, 234); }
TEST(SelectNonblocking, Int64) { nonblock_case<std::int64_t>(123456, 234567); }
TEST(SelectNonblocking, Bool) { nonblock_case<bool>(true, true); }
TEST(SelectNonblocking, String) { nonblock_case<std::string>("hello", "hello again"); }

// test/chan/select3.go Send: non-blocking sends fill both one-slot buffers, then default.
TEST(SelectNonblocking, SendUntilAllFull) {
  Channel<unsigned> a(1), b(1);
  unsigned shift = 0;
  int i = 0;
  for (;;) {
    std::size_t idx = goro::select(send_case(a, 1u << shift), send_case(b, 1u << shift), default_case());
    if (idx == 2) break;
    ++i;
    ++shift;
    ASSERT_LE(i, 2);
  }
  EXPECT_EQ(i, 2);
  EXPECT_EQ(*a.recv() | *b.recv(), 3u);
}

// runtime/chan_test.go TestNonblockRecvRace.
TEST(SelectNonblocking, RecvRaceWithClose) {
  const int n = gt::scaled(10000, 200);
  for (int i = 0; i < n; ++i) {
    Channel<int> c(1);
    c.send(1);
    Channel<bool> ok(1);
    goro::go_spawn([c, ok]() mutable {
      std::optional<int> v;
      ok.send(goro::select(recv_case(c, v), default_case()) == 0);
    });
    c.close();
    c.recv();
    auto r = gt::recv_for(ok);
    ASSERT_FALSE(r.timed_out);
    ASSERT_TRUE(*r.value) << "chan is not ready, iteration " << i;
  }
}

// runtime/chan_test.go TestNonblockSelectRace: select acts on the channels'
// state at one moment; at least one of c1, c2 is always ready.
TEST(SelectNonblocking, SelectRace) {
  const int n = gt::scaled(10000, 200);
  Channel<bool> done(1);
  for (int i = 0; i < n; ++i) {
    Channel<int> c1(1), c2(1);
    c1.send(1);
    goro::go_spawn([c1, c2, done]() mutable {
      std::optional<int> v;
      done.send(goro::select(recv_case(c1, v), recv_case(c2, v), default_case()) != 2);
    });
    c2.send(1);
    std::optional<int> v;
    goro::select(recv_case(c1, v), default_case());
    auto r = gt::recv_for(done);
    ASSERT_FALSE(r.timed_out);
    ASSERT_TRUE(*r.value) << "no chan is ready, iteration " << i;
  }
}

// runtime/chan_test.go TestNonblockSelectRace2: close(c2) instead of c2 <- 1.
TEST(SelectNonblocking, SelectRaceWithClose) {
  const int n = gt::scaled(10000, 200);
  Channel<bool> done(1);
  for (int i = 0; i < n; ++i) {
    Channel<int> c1(1), c2;
    c1.send(1);
    goro::go_spawn([c1, c2, done]() mutable {
      std::optional<int> v;
      done.send(goro::select(recv_case(c1, v), recv_case(c2, v), default_case()) != 2);
    });
    c2.close();
    std::optional<int> v;
    goro::select(recv_case(c1, v), default_case());
    auto r = gt::recv_for(done);
    ASSERT_FALSE(r.timed_out);
    ASSERT_TRUE(*r.value) << "no chan is ready, iteration " << i;
  }
}

// ---------------------------------------------------------------------------
// Go programs about select wake-ups

// test/chan/select6.go: a select woken on c2 must leave c1's wait queue intact.
TEST(SelectWakeups, Select6) {
  Channel<bool> c1, c2, c3;
  Channel<int> done(2);
  goro::go_spawn([c1, done]() mutable {
    c1.recv();
    done.send(1);
  });
  goro::go_spawn([c1, c2, c3, done]() mutable {
    std::optional<bool> a, b;
    std::size_t i = goro::select(recv_case(c1, a), recv_case(c2, b));
    if (i == 1) c3.send(true);
    c1.recv();
    done.send(i == 1 ? 1 : 100);
  });
  goro::go_spawn([c2]() mutable { c2.send(true); });
  GT_ASSERT_RECV(x, c3);
  EXPECT_TRUE(x);
  c1.send(true);
  c1.send(true);
  auto r1 = gt::recv_for(done), r2 = gt::recv_for(done);
  ASSERT_FALSE(r1.timed_out);
  ASSERT_FALSE(r2.timed_out);
  EXPECT_EQ(*r1.value + *r2.value, 2) << "the select took c1 instead of c2";
}

// test/chan/select7.go: every combination of plain/select send and receive.
TEST(SelectWakeups, Select7AllCombinations) {
  using Recv = std::function<void(Channel<int>)>;
  const std::vector<Recv> recvs = {
      [](Channel<int> c) { c.recv(); },
      [](Channel<int> c) {
        std::optional<int> v;
        goro::select(recv_case(c, v));
      },
      [](Channel<int> c) {
        Channel<int> c2;
        std::optional<int> v, w;
        goro::select(recv_case(c, v), recv_case(c2, w));
      },
  };
  for (std::size_t r = 0; r < recvs.size(); ++r) {
    for (int s = 0; s < 3; ++s) {
      SCOPED_TRACE(::testing::Message() << "recv" << r + 1 << " send" << s + 1);
      Channel<int> c;
      Channel<int> done(1);
      auto recv = recvs[r];
      goro::go_spawn([recv, c, done]() mutable {
        recv(c);
        done.send(1);
      });
      goro::yield();
      if (s == 0) {
        c.send(1);
      } else if (s == 1) {
        EXPECT_EQ(goro::select(send_case(c, 1)), 0u);
      } else {
        Channel<int> c2;
        EXPECT_EQ(goro::select(send_case(c, 1), send_case(c2, 1)), 0u);
      }
      EXPECT_EQ(gt::drain_n(done, 1), 1u);
    }
  }
}

// Many selects parked on one channel: each value wakes exactly one of them.
TEST(SelectWakeups, EachValueWakesExactlyOneSelect) {
  constexpr int K = 16;
  Channel<int> c, stop;
  Channel<int> got(K);
  std::vector<goro::TaskId> ids;
  for (int i = 0; i < K; ++i)
    ids.push_back(goro::go_spawn([c, stop, got]() mutable {
      std::optional<int> v, s;
      if (goro::select(recv_case(c, v), recv_case(stop, s)) == 0) got.send(*v);
    }));
  for (auto id : ids) ASSERT_TRUE(gt::wait_blocked(id, WaitReason::select));
  for (int i = 0; i < K / 2; ++i) c.send(i);
  std::set<int> values;
  for (int i = 0; i < K / 2; ++i) {
    GT_ASSERT_RECV(v, got);
    values.insert(v);
  }
  EXPECT_EQ(values.size(), static_cast<std::size_t>(K / 2));
  stop.close();
  // The other half leave through stop; none of them received anything.
  EXPECT_TRUE(gt::eventually([&] {
    for (auto id : ids)
      if (gt::task_info(id)) return false;
    return true;
  }));
  EXPECT_EQ(got.size(), 0u);
}

// Two senders race for one select over two unbuffered channels: the losing
// sender's value is not lost; it stays blocked until a second receive takes it.
TEST(SelectWakeups, LosingSenderKeepsItsValue) {
  const int n = gt::scaled(2000, 100);
  for (int i = 0; i < n; ++i) {
    Channel<int> a, b;
    goro::go_spawn([a]() mutable { a.send(1); });
    goro::go_spawn([b]() mutable { b.send(2); });
    std::optional<int> va, vb;
    std::size_t first = goro::select(recv_case(a, va), recv_case(b, vb));
    ASSERT_LT(first, 2u);
    auto r = gt::recv_for(first == 0 ? b : a);
    ASSERT_FALSE(r.timed_out) << "iteration " << i;
    EXPECT_EQ(*r.value + (first == 0 ? *va : *vb), 3);
  }
}

// The fast path guesses from a channel's queues; a waiter left behind by a select that
// already won elsewhere makes a channel look ready when it is not. The guess must fall
// back to the full path (here: default), and the stale waiter must not be taken.
// One worker: after the send, the woken select has not run yet, so its waiter on `other`
// is still queued when the main task selects.
TEST(SelectFastPath, AStaleSelectWaiterMakesAWrongGuessThatFallsBack) {
  goro::run(
      [] {
        Channel<int> won, other;
        Channel<int> result(1);
        auto id = goro::go_spawn([won, other, result]() mutable {
          std::optional<int> a, b;
          const std::size_t fired = goro::select(recv_case(won, a), recv_case(other, b));
          result.send(fired == 0 ? *a : -1);
        });
        ASSERT_TRUE(gt::wait_blocked(id, WaitReason::select));
        won.send(7);  // the select wins on `won`; its waiter on `other` is now stale
        EXPECT_EQ(goro::select(send_case(other, 8), default_case()), 1u)
            << "a stale select waiter is not a receiver";
        EXPECT_EQ(*result.recv(), 7);
        std::optional<int> none;
        EXPECT_EQ(goro::select(recv_case(other, none), default_case()), 1u);
      },
      goro::Config{.workers = 1});
}

// ---------------------------------------------------------------------------
// Plain threads

TEST(SelectPlainThread, BlockingSelectWokenByATask) {
  Channel<int> a, b;
  goro::go_spawn([b]() mutable {
    goro::sleep_for(5ms);
    b.send(3);
  });
  std::optional<int> va, vb;
  EXPECT_EQ(goro::select(recv_case(a, va), recv_case(b, vb)), 1u);
  EXPECT_EQ(vb, std::optional<int>(3));
}

TEST(SelectPlainThread, BlockingSendCaseTakenByATask) {
  Channel<int> a, b;
  Channel<int> got(1);
  goro::go_spawn([a, got]() mutable { got.send(*a.recv()); });
  EXPECT_EQ(goro::select(send_case(a, 10), send_case(b, 20)), 0u);
  GT_ASSERT_RECV(v, got);
  EXPECT_EQ(v, 10);
}

TEST(SelectPlainThread, BlockingSelectWokenByClose) {
  Channel<int> a, b;
  goro::go_spawn([b]() mutable {
    goro::sleep_for(5ms);
    b.close();
  });
  std::optional<int> va, vb = 1;
  EXPECT_EQ(goro::select(recv_case(a, va), recv_case(b, vb)), 1u);
  EXPECT_FALSE(vb.has_value());
}

TEST(SelectPlainThread, ThreadToThread) {
  Channel<int> a, b;
  std::thread t([a, b]() mutable {
    for (int i = 0; i < 100; ++i) {
      if (goro::select(send_case(a, i), send_case(b, -i)) > 1) std::abort();
    }
    a.close();
    b.close();
  });
  int sum = 0, n = 0;
  bool a_open = true, b_open = true;
  while (a_open || b_open) {
    std::optional<int> va, vb;
    // A closed channel stays ready, so drain with plain receives once one closes.
    if (a_open && b_open) {
      std::size_t i = goro::select(recv_case(a, va), recv_case(b, vb));
      auto& v = i == 0 ? va : vb;
      if (v) {
        sum += v.value() < 0 ? -v.value() : v.value();
        ++n;
      } else {
        (i == 0 ? a_open : b_open) = false;
      }
    } else {
      auto& ch = a_open ? a : b;
      auto v = ch.recv();
      if (v) {
        sum += *v < 0 ? -*v : *v;
        ++n;
      } else {
        (a_open ? a_open : b_open) = false;
      }
    }
  }
  t.join();
  EXPECT_EQ(n, 100);
  EXPECT_EQ(sum, 4950);
}

// ---------------------------------------------------------------------------
// select() with no cases blocks forever. It is tested inside goro::run, whose
// return unwinds the parked task.

TEST(SelectNoCases, BlocksForeverAndIsReported) {
  std::atomic<int> unwound{0};
  std::atomic<bool> returned{false};
  bool seen_blocked = false;
  std::string reason_text;
  int rc = goro::run([&] {
    auto id = goro::go_spawn([&] {
      gt::DtorCounter guard(unwound);
      goro::select();
      returned = true;
    });
    seen_blocked = gt::wait_blocked(id, WaitReason::select_no_cases);
    reason_text = std::string(goro::diag::to_string(WaitReason::select_no_cases));
    goro::sleep_for(5ms);
  });
  EXPECT_TRUE(seen_blocked);
  EXPECT_EQ(reason_text, "select (no cases)");
  EXPECT_FALSE(returned.load());
  EXPECT_EQ(unwound.load(), 1) << "run() did not unwind the task blocked in select()";
  (void)rc;
}

}  // namespace
