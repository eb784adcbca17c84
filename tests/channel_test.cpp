// Channel semantics, case by case (Go's spec and runtime/chan_test.go, test/chan/fifo.go,
// test/chan/zerosize.go, test/chan/sendstmt.go).
#include "goro_test.hpp"

#include <array>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using goro::diag::WaitReason;

// ---------------------------------------------------------------------------
// Construction, size(), capacity(), handle semantics

TEST(ChannelBasics, DefaultConstructedIsUnbuffered) {
  Channel<int> c;
  EXPECT_EQ(c.capacity(), 0u);
  EXPECT_EQ(c.size(), 0u);
  Channel<int> z(0);
  EXPECT_EQ(z.capacity(), 0u);
  EXPECT_EQ(z.size(), 0u);
}

TEST(ChannelBasics, SizeAndCapacityTrackTheBuffer) {
  for (std::size_t cap : {1u, 2u, 5u, 100u}) {
    Channel<int> c(cap);
    EXPECT_EQ(c.capacity(), cap);
    EXPECT_EQ(c.size(), 0u);
    for (std::size_t i = 0; i < cap; ++i) {
      c.send(static_cast<int>(i));
      EXPECT_EQ(c.size(), i + 1);
      EXPECT_EQ(c.capacity(), cap);
    }
    for (std::size_t i = 0; i < cap; ++i) {
      EXPECT_EQ(c.recv(), std::optional<int>(static_cast<int>(i)));
      EXPECT_EQ(c.size(), cap - i - 1);
    }
  }
}

TEST(ChannelBasics, CopiesShareOneChannel) {
  Channel<int> a(2);
  Channel<int> b = a;
  b.send(7);
  EXPECT_EQ(a.size(), 1u);
  Channel<int> c;
  c = a;
  c.send(8);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(a.recv(), std::optional<int>(7));
  EXPECT_EQ(b.recv(), std::optional<int>(8));
  Channel<int> moved = std::move(c);
  moved.close();
  EXPECT_EQ(a.recv(), std::nullopt);
  EXPECT_THROW(b.send(1), goro::ChannelClosed);
}

TEST(ChannelBasics, ChannelClosedIsALogicErrorWithAMessage) {
  static_assert(std::is_base_of_v<std::logic_error, goro::ChannelClosed>);
  Channel<int> c;
  c.close();
  try {
    c.send(1);
    FAIL() << "send on a closed channel did not throw";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()), "");
  }
}

// ---------------------------------------------------------------------------
// Buffered channels

// test/chan/fifo.go AsynchFifo
TEST(Buffered, FifoOrder) {
  constexpr int N = 10;
  Channel<int> ch(N);
  for (int i = 0; i < N; ++i) ch.send(i);
  for (int i = 0; i < N; ++i) EXPECT_EQ(ch.recv(), std::optional<int>(i));
}

TEST(Buffered, SendBlocksOnlyWhenFull) {
  Channel<int> ch(3);
  Channel<int> done(1);
  std::atomic<int> sent{0};
  auto id = goro::go_spawn([ch, done, &sent]() mutable {
    for (int i = 0; i < 4; ++i) {
      ch.send(i);
      sent.fetch_add(1);
    }
    done.send(1);
  });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_send));
  EXPECT_EQ(sent.load(), 3) << "a buffered send blocked before the buffer was full";
  EXPECT_EQ(ch.size(), 3u);
  EXPECT_EQ(ch.recv(), std::optional<int>(0));
  GT_ASSERT_RECV(d, done);
  EXPECT_EQ(sent.load(), 4);
  for (int i = 1; i < 4; ++i) EXPECT_EQ(ch.recv(), std::optional<int>(i));
}

TEST(Buffered, RecvFromEmptyBlocksUntilASend) {
  Channel<int> ch(4);
  Channel<int> result(1);
  auto id = goro::go_spawn([ch, result]() mutable { result.send(*ch.recv()); });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
  EXPECT_EQ(result.size(), 0u);
  ch.send(42);
  GT_ASSERT_RECV(v, result);
  EXPECT_EQ(v, 42);
}

// ---------------------------------------------------------------------------
// Unbuffered channels

TEST(Unbuffered, SendCompletesOnlyWhenReceived) {
  Channel<int> ch;
  Channel<int> done(1);
  std::atomic<bool> returned{false};
  auto id = goro::go_spawn([ch, done, &returned]() mutable {
    ch.send(1);
    returned = true;
    done.send(1);
  });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_send));
  EXPECT_FALSE(returned.load()) << "unbuffered send returned with no receiver";
  EXPECT_EQ(ch.size(), 0u);
  EXPECT_EQ(ch.recv(), std::optional<int>(1));
  GT_ASSERT_RECV(d, done);
  EXPECT_TRUE(returned.load());
}

TEST(Unbuffered, RecvCompletesOnlyWhenSent) {
  Channel<int> ch;
  Channel<int> result(1);
  auto id = goro::go_spawn([ch, result]() mutable { result.send(*ch.recv()); });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
  EXPECT_EQ(result.size(), 0u);
  ch.send(5);
  GT_ASSERT_RECV(v, result);
  EXPECT_EQ(v, 5);
}

// test/chan/fifo.go SynchFifo: N receivers queued in a known order take the
// values of N sends in that order.
TEST(Unbuffered, WaitingReceiversAreServedFifo) {
  constexpr int N = 10;
  Channel<int> ch;
  Channel<int> mismatches(N);
  Channel<int> in;
  Channel<int> start = in;
  for (int i = 0; i < N; ++i) {
    Channel<int> out;
    goro::go_spawn([ch, in, out, mismatches, i]() mutable {
      in.recv();
      int v = *ch.recv();
      if (v != i) mismatches.send(v);
      out.send(1);
    });
    in = out;
  }
  start.send(0);
  for (int i = 0; i < N; ++i) ch.send(i);
  GT_ASSERT_RECV(last, in);
  EXPECT_EQ(last, 1);
  EXPECT_EQ(mismatches.size(), 0u);
}

// Blocked senders are served FIFO too: a receiver takes the values of senders
// that queued up one after the other in that order.
TEST(Unbuffered, WaitingSendersAreServedFifo) {
  constexpr int N = 10;
  Channel<int> ch;
  std::vector<goro::TaskId> ids;
  for (int i = 0; i < N; ++i) {
    ids.push_back(goro::go_spawn([ch, i]() mutable { ch.send(i); }));
    ASSERT_TRUE(gt::wait_blocked(ids.back(), WaitReason::chan_send));
  }
  for (int i = 0; i < N; ++i) EXPECT_EQ(ch.recv(), std::optional<int>(i));
}

// ---------------------------------------------------------------------------
// runtime/chan_test.go TestChan, for a range of capacities.

class ChanCap : public ::testing::TestWithParam<int> {};

TEST_P(ChanCap, RecvFromEmptyBlocks) {
  const std::size_t cap = GetParam();
  Channel<int> c(cap);
  Channel<int> done(2);
  auto r1 = goro::go_spawn([c, done]() mutable { c.recv(); done.send(1); });
  auto r2 = goro::go_spawn([c, done]() mutable { c.recv(); done.send(2); });
  ASSERT_TRUE(gt::wait_blocked(r1, WaitReason::chan_recv));
  ASSERT_TRUE(gt::wait_blocked(r2, WaitReason::chan_recv));
  EXPECT_EQ(done.size(), 0u);
  std::optional<int> v;
  EXPECT_EQ(goro::select(goro::recv_case(c, v), goro::default_case()), 1u);
  EXPECT_FALSE(v.has_value());
  c.send(0);
  c.send(0);
  EXPECT_EQ(gt::drain_n(done, 2), 2u);
}

TEST_P(ChanCap, SendToFullBlocks) {
  const int cap = GetParam();
  Channel<int> c(cap);
  for (int i = 0; i < cap; ++i) c.send(i);
  EXPECT_EQ(c.size(), static_cast<std::size_t>(cap));
  Channel<int> done(1);
  auto id = goro::go_spawn([c, done]() mutable { c.send(0); done.send(1); });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_send));
  EXPECT_EQ(done.size(), 0u);
  EXPECT_EQ(goro::select(goro::send_case(c, 0), goro::default_case()), 1u);
  EXPECT_TRUE(c.recv().has_value());
  EXPECT_EQ(gt::drain_n(done, 1), 1u);
}

TEST_P(ChanCap, ClosedChannelDrainsThenYieldsNullopt) {
  const int cap = GetParam();
  Channel<int> c(cap);
  for (int i = 0; i < cap; ++i) c.send(i);
  c.close();
  for (int i = 0; i < cap; ++i) EXPECT_EQ(c.recv(), std::optional<int>(i));
  EXPECT_EQ(c.recv(), std::nullopt);
  EXPECT_EQ(c.recv(), std::nullopt);
  EXPECT_EQ(c.size(), 0u);
}

TEST_P(ChanCap, CloseUnblocksReceive) {
  Channel<int> c(GetParam());
  Channel<bool> done(1);
  auto id = goro::go_spawn([c, done]() mutable { done.send(!c.recv().has_value()); });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
  c.close();
  GT_ASSERT_RECV(got_nullopt, done);
  EXPECT_TRUE(got_nullopt);
}

TEST_P(ChanCap, HundredValuesInFifoOrder) {
  Channel<int> c(GetParam());
  goro::go_spawn([c]() mutable {
    for (int i = 0; i < 100; ++i) c.send(i);
  });
  for (int i = 0; i < 100; ++i) {
    auto r = gt::recv_for(c);
    ASSERT_FALSE(r.timed_out);
    ASSERT_EQ(r.value, std::optional<int>(i));
  }
}

TEST_P(ChanCap, ManySendersManyReceiversEveryValueOnce) {
  constexpr int P = 4;
  const int L = gt::scaled(1000, 50);
  Channel<int> c(GetParam());
  for (int p = 0; p < P; ++p)
    goro::go_spawn([c, L]() mutable {
      for (int i = 0; i < L; ++i) c.send(i);
    });
  Channel<std::map<int, int>> done;
  for (int p = 0; p < P; ++p)
    goro::go_spawn([c, done, L]() mutable {
      std::map<int, int> recv;
      for (int i = 0; i < L; ++i) recv[*c.recv()]++;
      done.send(std::move(recv));
    });
  std::map<int, int> recv;
  for (int p = 0; p < P; ++p) {
    auto r = gt::recv_for(done);
    ASSERT_FALSE(r.timed_out);
    for (auto [k, v] : *r.value) recv[k] += v;
  }
  ASSERT_EQ(recv.size(), static_cast<std::size_t>(L));
  for (auto [k, v] : recv) EXPECT_EQ(v, P) << "value " << k;
}

TEST_P(ChanCap, LenAndCap) {
  const int cap = GetParam();
  Channel<int> c(cap);
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.capacity(), static_cast<std::size_t>(cap));
  for (int i = 0; i < cap; ++i) c.send(i);
  EXPECT_EQ(c.size(), static_cast<std::size_t>(cap));
  EXPECT_EQ(c.capacity(), static_cast<std::size_t>(cap));
}

INSTANTIATE_TEST_SUITE_P(Capacities, ChanCap, ::testing::Values(0, 1, 2, 3, 7, 16, 100));

// ---------------------------------------------------------------------------
// close

TEST(Close, SendOnClosedThrows) {
  for (std::size_t cap : {0u, 1u, 8u}) {
    Channel<int> c(cap);
    c.close();
    EXPECT_THROW(c.send(7), goro::ChannelClosed) << "capacity " << cap;
    EXPECT_EQ(c.size(), 0u);
  }
}

TEST(Close, DoubleCloseThrows) {
  for (std::size_t cap : {0u, 4u}) {
    Channel<int> c(cap);
    c.close();
    EXPECT_THROW(c.close(), goro::ChannelClosed) << "capacity " << cap;
  }
}

TEST(Close, BufferedValuesSurviveClose) {
  Channel<std::string> c(3);
  c.send("a");
  c.send("b");
  c.close();
  EXPECT_EQ(c.size(), 2u);
  EXPECT_THROW(c.send("c"), goro::ChannelClosed);
  EXPECT_EQ(c.recv(), std::optional<std::string>("a"));
  EXPECT_EQ(c.recv(), std::optional<std::string>("b"));
  EXPECT_EQ(c.recv(), std::nullopt);
}

TEST(Close, AllBlockedReceiversWakeWithNullopt) {
  constexpr int K = 8;
  for (std::size_t cap : {0u, 3u}) {
    Channel<int> c(cap);
    Channel<bool> results(K);
    std::vector<goro::TaskId> ids;
    for (int i = 0; i < K; ++i)
      ids.push_back(goro::go_spawn([c, results]() mutable { results.send(!c.recv().has_value()); }));
    for (auto id : ids) ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
    c.close();
    for (int i = 0; i < K; ++i) {
      GT_ASSERT_RECV(was_nullopt, results);
      EXPECT_TRUE(was_nullopt);
    }
  }
}

TEST(Close, AllBlockedSendersThrowChannelClosed) {
  constexpr int K = 4;
  for (std::size_t cap : {0u, 2u}) {
    Channel<int> c(cap);
    for (std::size_t i = 0; i < cap; ++i) c.send(100 + static_cast<int>(i));
    // 1: the send threw ChannelClosed; 0: it returned; -1: something else was thrown.
    Channel<int> results(K);
    std::vector<goro::TaskId> ids;
    for (int i = 0; i < K; ++i)
      ids.push_back(goro::go_spawn([c, results, i]() mutable {
        int r = 0;
        try {
          c.send(i);
        } catch (const goro::ChannelClosed&) {
          r = 1;
        } catch (...) {
          r = -1;
        }
        results.send(r);
      }));
    for (auto id : ids) ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_send));
    c.close();
    for (int i = 0; i < K; ++i) {
      GT_ASSERT_RECV(r, results);
      EXPECT_EQ(r, 1) << "capacity " << cap;
    }
    // The buffered values are still there; the failed senders' values are not.
    for (std::size_t i = 0; i < cap; ++i) EXPECT_EQ(c.recv(), std::optional<int>(100 + static_cast<int>(i)));
    EXPECT_EQ(c.recv(), std::nullopt);
  }
}

TEST(Close, CloseWhileASenderIsRendezvousingIsNotLost) {
  // A receiver that got a value from a sender before close keeps it; later receives see nullopt.
  Channel<int> c;
  Channel<int> got(1);
  goro::go_spawn([c, got]() mutable { got.send(*c.recv()); });
  c.send(9);
  c.close();
  GT_ASSERT_RECV(v, got);
  EXPECT_EQ(v, 9);
  EXPECT_EQ(c.recv(), std::nullopt);
}

// ---------------------------------------------------------------------------
// range-for

TEST(RangeFor, ReceivesUntilClosedAndDrained) {
  for (std::size_t cap : {0u, 1u, 10u}) {
    Channel<int> c(cap);
    goro::go_spawn([c]() mutable {
      for (int i = 0; i < 100; ++i) c.send(i);
      c.close();
    });
    std::vector<int> got;
    for (int v : c) got.push_back(v);
    ASSERT_EQ(got.size(), 100u) << "capacity " << cap;
    for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i], i);
  }
}

TEST(RangeFor, ClosedEmptyChannelRunsNoIteration) {
  Channel<int> c(2);
  c.close();
  int n = 0;
  for (int v : c) n += 1 + v;
  EXPECT_EQ(n, 0);
}

TEST(RangeFor, DrainsBufferedValuesOfAClosedChannel) {
  Channel<std::string> c(3);
  c.send("x");
  c.send("y");
  c.close();
  std::string all;
  for (std::string s : c) all += s;
  EXPECT_EQ(all, "xy");
}

TEST(RangeFor, BreakLeavesTheRestInTheChannel) {
  Channel<int> c(5);
  for (int i = 0; i < 5; ++i) c.send(i);
  c.close();
  int seen = 0;
  for (int v : c) {
    EXPECT_EQ(v, seen);
    if (++seen == 2) break;
  }
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(c.recv(), std::optional<int>(2));
}

TEST(RangeFor, InsideATask) {
  Channel<int> c(4);
  Channel<long> sum(1);
  goro::go_spawn([c, sum]() mutable {
    long s = 0;
    for (int v : c) s += v;
    sum.send(s);
  });
  for (int i = 1; i <= 1000; ++i) c.send(i);
  c.close();
  GT_ASSERT_RECV(s, sum);
  EXPECT_EQ(s, 500500);
}

// ---------------------------------------------------------------------------
// Element types

TEST(Types, MoveOnlyValues) {
  for (std::size_t cap : {0u, 1u, 4u}) {
    Channel<std::unique_ptr<int>> c(cap);
    Channel<int> done(1);
    goro::go_spawn([c, done]() mutable {
      int sum = 0;
      for (int i = 0; i < 10; ++i) {
        std::optional<std::unique_ptr<int>> p = c.recv();
        if (p && *p) sum += **p;
      }
      done.send(sum);
    });
    for (int i = 0; i < 10; ++i) c.send(std::make_unique<int>(i));
    GT_ASSERT_RECV(sum, done);
    EXPECT_EQ(sum, 45) << "capacity " << cap;
  }
}

template <class T>
constexpr bool kRangeYieldsRvalues = requires(Channel<T>& ch) { T(*ch.begin()); };

TEST(Types, MoveOnlyRangeFor) {
  Channel<std::unique_ptr<int>> c(3);
  c.send(std::make_unique<int>(1));
  c.send(std::make_unique<int>(2));
  c.send(nullptr);
  c.close();
  // "for (T v : ch)" must work for a move-only T: the iterator hands out an rvalue.
  EXPECT_TRUE(kRangeYieldsRvalues<std::unique_ptr<int>>) << "for (std::unique_ptr<int> v : ch) does not compile";
  int sum = 0, nulls = 0;
  for (auto&& p : c) {
    std::unique_ptr<int> mine = std::move(p);
    if (mine)
      sum += *mine;
    else
      ++nulls;
  }
  EXPECT_EQ(sum, 3);
  EXPECT_EQ(nulls, 1);
}

TEST(Types, StringsAcrossTasks) {
  const std::string big(1000, 'x');  // beyond any small-string buffer
  for (std::size_t cap : {0u, 2u}) {
    Channel<std::string> c(cap);
    Channel<std::string> back(cap);
    goro::go_spawn([c, back]() mutable {
      for (std::string s : c) back.send(s + "!");
      back.close();
    });
    goro::go_spawn([c, big]() mutable {
      for (int i = 0; i < 50; ++i) c.send(big + std::to_string(i));
      c.close();
    });
    int i = 0;
    for (std::string s : back) {
      EXPECT_EQ(s, big + std::to_string(i) + "!");
      ++i;
    }
    EXPECT_EQ(i, 50);
  }
}

TEST(Types, VectorsKeepTheirContents) {
  Channel<std::vector<int>> c(1);
  goro::go_spawn([c]() mutable {
    for (int n = 0; n < 20; ++n) c.send(std::vector<int>(n, n));
    c.close();
  });
  int n = 0;
  for (std::vector<int> v : c) {
    EXPECT_EQ(v, std::vector<int>(n, n));
    ++n;
  }
  EXPECT_EQ(n, 20);
}

struct Empty {};

// test/chan/zerosize.go, and use of empty element types as signals.
TEST(Types, ZeroSizeElements) {
  for (std::size_t cap : {0u, 1u, 3u}) {
    Channel<Empty> e(cap);
    Channel<std::monostate> m(cap);
    Channel<int> done(1);
    goro::go_spawn([e, m, done]() mutable {
      int n = 0;
      for (int i = 0; i < 5; ++i) n += e.recv().has_value();
      for (int i = 0; i < 5; ++i) n += m.recv().has_value();
      done.send(n);
    });
    for (int i = 0; i < 5; ++i) e.send(Empty{});
    for (int i = 0; i < 5; ++i) m.send(std::monostate{});
    GT_ASSERT_RECV(n, done);
    EXPECT_EQ(n, 10);
    e.close();
    EXPECT_EQ(e.recv(), std::nullopt);
  }
}

TEST(Types, LargeValues) {
  using Big = std::array<int, 512>;
  Channel<Big> c(2);
  Channel<long> sum(1);
  goro::go_spawn([c, sum]() mutable {
    long s = 0;
    for (Big b : c)
      for (int x : b) s += x;
    sum.send(s);
  });
  for (int i = 0; i < 10; ++i) {
    Big b;
    b.fill(i);
    c.send(b);
  }
  c.close();
  GT_ASSERT_RECV(s, sum);
  EXPECT_EQ(s, 512L * 45);
}

TEST(Types, BufferedValuesAreDestroyedWithTheLastHandle) {
  const long before = gt::Counted::live().load();
  {
    Channel<gt::Counted> c(10);
    for (int i = 0; i < 5; ++i) c.send(gt::Counted(i));
    EXPECT_EQ(gt::Counted::live().load() - before, 5);
    EXPECT_EQ(c.recv()->v, 0);
    EXPECT_EQ(gt::Counted::live().load() - before, 4);
    c.close();
    Channel<gt::Counted> copy = c;
    EXPECT_EQ(gt::Counted::live().load() - before, 4);
  }
  EXPECT_EQ(gt::Counted::live().load(), before);
}

TEST(Types, NoValueCopiesLeakThroughUnbufferedHandoff) {
  const long before = gt::Counted::live().load();
  {
    Channel<gt::Counted> c;
    Channel<int> done(1);
    goro::go_spawn([c, done]() mutable {
      int s = 0;
      for (gt::Counted v : c) s += v.v;
      done.send(s);
    });
    for (int i = 0; i < 100; ++i) c.send(gt::Counted(i));
    c.close();
    GT_ASSERT_RECV(s, done);
    EXPECT_EQ(s, 4950);
  }
  EXPECT_TRUE(gt::eventually([&] { return gt::Counted::live().load() == before; }));
}

// test/chan/sendstmt.go chanchan: channels of channels.
TEST(Types, ChannelOfChannels) {
  Channel<Channel<int>> cc(1);
  Channel<int> c(1);
  cc.send(c);
  auto inner = cc.recv();
  ASSERT_TRUE(inner.has_value());
  EXPECT_EQ(goro::select(goro::send_case(*inner, 2), goro::default_case()), 0u);
  EXPECT_EQ(c.recv(), std::optional<int>(2));
}

// A reply channel carried in the request, the usual Go idiom.
TEST(Types, RequestReply) {
  struct Req {
    int x;
    Channel<int> reply;
  };
  Channel<Req> server;
  goro::go_spawn([server]() mutable {
    for (Req r : server) r.reply.send(r.x * r.x);
  });
  for (int i = 0; i < 20; ++i) {
    Channel<int> reply;
    server.send(Req{i, reply});
    GT_ASSERT_RECV(v, reply);
    EXPECT_EQ(v, i * i);
  }
  server.close();
}

}  // namespace
