// Randomized stress: many senders, receivers and selects over channels of
// mixed capacities conserve a checksum; close races lose and duplicate nothing.
#include "goro_test.hpp"

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using goro::default_case;
using goro::recv_case;
using goro::send_case;

struct Totals {
  long count = 0;
  long sum = 0;
};

// Senders mix plain sends, 2- and 3-way selects and non-blocking selects (with
// retries). Every channel has one dedicated plain receiver (range-for), so no
// sender can wait forever; other receivers use 3-way selects over the channels
// still open, blocking or not. When all senders are done every channel is
// closed, and the receivers drain what is left.
Totals run_checksum(std::uint32_t seed, int senders, int per_sender, int select_receivers) {
  const std::vector<std::size_t> caps = {0, 0, 1, 2, 4, 8};
  const std::size_t M = caps.size();
  std::vector<Channel<long>> chans;
  for (auto c : caps) chans.emplace_back(c);

  Channel<Totals> sent_totals(senders);
  Channel<Totals> recv_totals(M + select_receivers);
  goro::WaitGroup senders_done;

  for (int s = 0; s < senders; ++s) {
    senders_done.add(1);
    goro::go_spawn([&senders_done, chans, sent_totals, seed, s, per_sender, M]() mutable {
      std::mt19937 rng(seed * 7919u + s);
      auto pick = [&] { return chans[rng() % M]; };
      Totals t;
      for (int i = 0; i < per_sender; ++i) {
        long v = 1 + static_cast<long>(rng() % 1000);
        switch (rng() % 4) {
          case 0:
            pick().send(v);
            break;
          case 1: {
            auto a = pick(), b = pick();
            goro::select(send_case(a, v), send_case(b, v));
            break;
          }
          case 2: {
            auto a = pick(), b = pick(), c = pick();
            goro::select(send_case(a, v), send_case(b, v), send_case(c, v));
            break;
          }
          default: {
            auto a = pick(), b = pick();
            while (goro::select(send_case(a, v), send_case(b, v), default_case()) == 2) goro::yield();
            break;
          }
        }
        t.count++;
        t.sum += v;
      }
      sent_totals.send(t);
      senders_done.done();
    });
  }

  for (std::size_t k = 0; k < M; ++k)
    goro::go_spawn([ch = chans[k], recv_totals]() mutable {
      Totals t;
      for (long v : ch) {
        t.count++;
        t.sum += v;
      }
      recv_totals.send(t);
    });

  for (int r = 0; r < select_receivers; ++r)
    goro::go_spawn([chans, recv_totals, seed, r]() mutable {
      std::mt19937 rng(seed * 104729u + r);
      const bool nonblocking = r % 2 == 1;
      std::vector<Channel<long>> open = chans;
      Totals t;
      while (!open.empty()) {
        std::size_t ia = rng() % open.size(), ib = rng() % open.size(), ic = rng() % open.size();
        std::optional<long> va, vb, vc;
        std::size_t fired;
        if (nonblocking) {
          fired = goro::select(recv_case(open[ia], va), recv_case(open[ib], vb), recv_case(open[ic], vc),
                               default_case());
          if (fired == 3) {
            goro::yield();
            continue;
          }
        } else {
          fired = goro::select(recv_case(open[ia], va), recv_case(open[ib], vb), recv_case(open[ic], vc));
        }
        std::optional<long>& v = fired == 0 ? va : fired == 1 ? vb : vc;
        std::size_t idx = fired == 0 ? ia : fired == 1 ? ib : ic;
        if (v) {
          t.count++;
          t.sum += *v;
        } else {
          open.erase(open.begin() + static_cast<std::ptrdiff_t>(idx));
        }
      }
      recv_totals.send(t);
    });

  senders_done.wait();
  for (auto& c : chans) c.close();

  Totals sent, received;
  for (int s = 0; s < senders; ++s) {
    Totals t = *sent_totals.recv();
    sent.count += t.count;
    sent.sum += t.sum;
  }
  for (std::size_t r = 0; r < M + select_receivers; ++r) {
    auto got = gt::recv_for(recv_totals);
    if (got.timed_out) {
      ADD_FAILURE() << "receivers did not finish (seed " << seed << ")";
      return {-1, -1};
    }
    received.count += got.value->count;
    received.sum += got.value->sum;
  }
  EXPECT_EQ(sent.count, static_cast<long>(senders) * per_sender);
  EXPECT_EQ(received.count, sent.count) << "seed " << seed;
  EXPECT_EQ(received.sum, sent.sum) << "seed " << seed;
  return received;
}

class Checksum : public ::testing::TestWithParam<unsigned> {};

TEST_P(Checksum, ConservedAcrossSendersReceiversAndSelects) {
  const int rounds = gt::kSanitized ? 1 : 3;
  for (int round = 0; round < rounds; ++round) {
    const std::uint32_t seed = 1234u + 17u * round + GetParam();
    int rc = goro::run([&] { run_checksum(seed, 8, gt::scaled(4000, 200), 6); },
                       goro::Config{.workers = GetParam()});
    EXPECT_EQ(rc, 0);
    if (HasFailure()) break;
  }
}

INSTANTIATE_TEST_SUITE_P(Workers, Checksum, ::testing::Values(1u, 2u));

TEST(ChecksumDefaultRuntime, ConservedWithPlainThreadsJoiningIn) {
  // The default runtime, with two plain threads adding their own sends.
  Channel<long> extra(4);
  long extra_sum = 0;
  std::vector<std::thread> ts;
  Channel<long> sink_total(1);
  goro::go_spawn([extra, sink_total]() mutable {
    long s = 0;
    for (long v : extra) s += v;
    sink_total.send(s);
  });
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([extra, t]() mutable {
      for (int i = 1; i <= 1000; ++i) extra.send(i * (t + 1));
    });
  run_checksum(99, 6, gt::scaled(3000, 150), 4);
  for (auto& t : ts) t.join();
  extra.close();
  for (int t = 0; t < 2; ++t) extra_sum += 500500L * (t + 1);
  GT_ASSERT_RECV(sink, sink_total);
  EXPECT_EQ(sink, extra_sum);
}

// ---------------------------------------------------------------------------
// Close races: close() runs concurrently with plain and select senders and
// receivers. Every value whose send returned is received exactly once; every
// value whose send threw ChannelClosed is never received.

struct CloseRaceResult {
  std::vector<long> sent;
  std::vector<long> received;
  int bad_exceptions = 0;
};

CloseRaceResult close_race_trial(std::size_t cap, std::uint32_t seed) {
  constexpr int kSenders = 4;
  constexpr int kReceivers = 4;
  constexpr int kMaxPerSender = 200;
  Channel<long> c(cap);
  Channel<std::vector<long>> sent_lists(kSenders);
  Channel<std::vector<long>> recv_lists(kReceivers);
  Channel<int> bad(kSenders + kReceivers);

  for (int s = 0; s < kSenders; ++s)
    goro::go_spawn([c, sent_lists, bad, s, seed]() mutable {
      std::mt19937 rng(seed + s);
      std::vector<long> ok;
      Channel<long> elsewhere;  // never ready
      try {
        for (long k = 0; k < kMaxPerSender; ++k) {
          long v = s * 1'000'000L + k;
          switch ((s + k) % 3) {
            case 0:
              c.send(v);
              break;
            case 1: {
              std::optional<long> x;
              if (goro::select(send_case(c, v), recv_case(elsewhere, x)) != 0) std::abort();
              break;
            }
            default:
              while (goro::select(send_case(c, v), default_case()) == 1) goro::yield();
              break;
          }
          ok.push_back(v);
          if (rng() % 8 == 0) goro::yield();
        }
      } catch (const goro::ChannelClosed&) {
      } catch (...) {
        bad.send(1);
      }
      sent_lists.send(std::move(ok));
    });

  for (int r = 0; r < kReceivers; ++r)
    goro::go_spawn([c, recv_lists, r]() mutable {
      std::vector<long> got;
      Channel<long> elsewhere;
      switch (r % 3) {
        case 0:
          for (long v : c) got.push_back(v);
          break;
        case 1:
          for (;;) {
            std::optional<long> v, x;
            if (goro::select(recv_case(elsewhere, x), recv_case(c, v)) != 1) std::abort();
            if (!v) break;
            got.push_back(*v);
          }
          break;
        default:
          for (;;) {
            std::optional<long> v;
            if (goro::select(recv_case(c, v), default_case()) == 1) {
              goro::yield();
              continue;
            }
            if (!v) break;
            got.push_back(*v);
          }
          break;
      }
      recv_lists.send(std::move(got));
    });

  goro::go_spawn([c, seed]() mutable {
    std::mt19937 rng(seed ^ 0x5bd1e995u);
    for (unsigned i = 0, n = rng() % 400; i < n; ++i) goro::yield();
    c.close();
  });

  CloseRaceResult res;
  for (int s = 0; s < kSenders; ++s) {
    auto r = gt::recv_for(sent_lists);
    if (r.timed_out) {
      ADD_FAILURE() << "senders did not finish (seed " << seed << ")";
      return res;
    }
    res.sent.insert(res.sent.end(), r.value->begin(), r.value->end());
  }
  for (int k = 0; k < kReceivers; ++k) {
    auto r = gt::recv_for(recv_lists);
    if (r.timed_out) {
      ADD_FAILURE() << "receivers did not finish (seed " << seed << ")";
      return res;
    }
    res.received.insert(res.received.end(), r.value->begin(), r.value->end());
  }
  res.bad_exceptions = static_cast<int>(bad.size());
  std::sort(res.sent.begin(), res.sent.end());
  std::sort(res.received.begin(), res.received.end());
  return res;
}

class CloseRace : public ::testing::TestWithParam<std::tuple<std::size_t, unsigned>> {};

TEST_P(CloseRace, EveryValueSentIsReceivedExactlyOnce) {
  const auto [cap, workers] = GetParam();
  const int trials = gt::scaled(150, 10);
  int rc = goro::run(
      [&, cap = cap] {
        for (int t = 0; t < trials; ++t) {
          const std::uint32_t seed = 1000u * static_cast<std::uint32_t>(cap) + t;
          auto res = close_race_trial(cap, seed);
          ASSERT_EQ(res.bad_exceptions, 0) << "seed " << seed;
          ASSERT_EQ(res.received, res.sent) << "seed " << seed << ": lost or duplicated values";
        }
      },
      goro::Config{.workers = workers});
  EXPECT_EQ(rc, 0);
}

INSTANTIATE_TEST_SUITE_P(CapsAndWorkers, CloseRace,
                         ::testing::Combine(::testing::Values(std::size_t{0}, std::size_t{1}, std::size_t{4}),
                                            ::testing::Values(1u, 2u)));

// Plain threads closing while tasks send and receive.
TEST(CloseRacePlainThread, CloserIsAPlainThread) {
  const int trials = gt::scaled(100, 10);
  for (int t = 0; t < trials; ++t) {
    Channel<long> c(t % 3);
    Channel<long> sent_count(1), recv_count(1);
    goro::go_spawn([c, sent_count]() mutable {
      long n = 0;
      try {
        for (;; ++n) c.send(n);
      } catch (const goro::ChannelClosed&) {
      }
      sent_count.send(n);
    });
    goro::go_spawn([c, recv_count]() mutable {
      long n = 0, expect = 0;
      for (long v : c) {
        if (v != expect++) n = -1000000;  // FIFO from a single sender
        ++n;
      }
      recv_count.send(n);
    });
    std::thread closer([c, t]() mutable {
      for (int i = 0; i < t % 7; ++i) std::this_thread::yield();
      c.close();
    });
    closer.join();
    GT_ASSERT_RECV(s, sent_count);
    GT_ASSERT_RECV(r, recv_count);
    EXPECT_EQ(s, r) << "trial " << t;
  }
}

}  // namespace
