// Whole Go programs ported: daisy chain (test/chan/goroutines.go), sieves
// (test/chan/sieve1.go), doubleselect (test/chan/doubleselect.go),
// runtime/chan_test.go TestMultiConsumer and TestSelectStress.
#include "goro_test.hpp"

#include <map>
#include <set>
#include <vector>

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using goro::recv_case;
using goro::send_case;

// test/chan/goroutines.go: 10,000 tasks each passing one value to the left.
void daisy_chain(int n) {
  Channel<int> leftmost;
  Channel<int> left = leftmost;
  Channel<int> right = leftmost;
  for (int i = 0; i < n; ++i) {
    right = Channel<int>();
    goro::go_spawn([left, right]() mutable { left.send(*right.recv() + 1); });
    left = right;
  }
  goro::go_spawn([right]() mutable { right.send(1); });
  auto r = gt::recv_for(leftmost);
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.value, std::optional<int>(n + 1));
}

TEST(GoPrograms, DaisyChain10000) { daisy_chain(gt::live_tasks(10000)); }

TEST(GoPrograms, DaisyChain10000OneWorker) {
  EXPECT_EQ(goro::run([] { daisy_chain(gt::live_tasks(10000)); }, goro::Config{.workers = 1}), 0);
}

TEST(GoPrograms, DaisyChain10000TwoWorkers) {
  EXPECT_EQ(goro::run([] { daisy_chain(gt::live_tasks(10000)); }, goro::Config{.workers = 2}), 0);
}

std::vector<int> primes_below(int n) {
  std::vector<bool> composite(n, false);
  std::vector<int> out;
  for (int i = 2; i < n; ++i) {
    if (composite[i]) continue;
    out.push_back(i);
    for (long j = static_cast<long>(i) * i; j < n; j += i) composite[j] = true;
  }
  return out;
}

// The concurrent prime sieve, finite: the generator closes its channel, each
// filter closes its output when its input is drained.
TEST(GoPrograms, SieveClosingPipeline) {
  const int limit = gt::kSanitized ? 500 : 3000;
  Channel<int> src;
  goro::go_spawn([src]() mutable {
    for (int i = 2; i < limit; ++i) src.send(i);
    src.close();
  });
  std::vector<int> primes;
  Channel<int> ch = src;
  for (;;) {
    auto r = gt::recv_for(ch);
    ASSERT_FALSE(r.timed_out);
    if (!r.value) break;
    int prime = *r.value;
    primes.push_back(prime);
    Channel<int> out;
    goro::go_spawn([in = ch, out, prime]() mutable {
      for (int i : in)
        if (i % prime != 0) out.send(i);
      out.close();
    });
    ch = out;
  }
  EXPECT_EQ(primes, primes_below(limit));
}

// test/chan/sieve1.go with an endless generator; a quit channel stops all the
// tasks afterwards (Go's version simply exits).
TEST(GoPrograms, Sieve1FirstPrimes) {
  const std::vector<int> want = {2,  3,  5,  7,  11, 13, 17, 19, 23, 29, 31, 37, 41,
                                 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97};
  Channel<int> quit;
  Channel<int> primes;
  goro::WaitGroup wg;
  auto send_or_quit = [](Channel<int>& out, Channel<int>& quit, int v) {
    std::optional<int> q;
    return goro::select(send_case(out, v), recv_case(quit, q)) == 0;
  };
  wg.add(1);
  goro::go_spawn([=, &wg]() mutable {
    Channel<int> ch;
    wg.add(1);
    goro::go_spawn([=, &wg]() mutable {  // Generate
      for (int i = 2;; ++i)
        if (!send_or_quit(ch, quit, i)) break;
      wg.done();
    });
    for (;;) {  // Sieve
      std::optional<int> prime, q;
      if (goro::select(recv_case(ch, prime), recv_case(quit, q)) == 1) break;
      if (!send_or_quit(primes, quit, *prime)) break;
      Channel<int> ch1;
      wg.add(1);
      goro::go_spawn([=, &wg, p = *prime]() mutable {  // Filter
        for (;;) {
          std::optional<int> i, q2;
          if (goro::select(recv_case(ch, i), recv_case(quit, q2)) == 1) break;
          if (*i % p != 0 && !send_or_quit(ch1, quit, *i)) break;
        }
        wg.done();
      });
      ch = ch1;
    }
    wg.done();
  });
  std::vector<int> got;
  for (std::size_t i = 0; i < want.size(); ++i) {
    auto r = gt::recv_for(primes);
    ASSERT_FALSE(r.timed_out);
    got.push_back(*r.value);
  }
  EXPECT_EQ(got, want);
  quit.close();
  wg.wait();
}

// test/chan/doubleselect.go: one sender selecting over four channels, four
// muxers forwarding into one channel; no value may arrive twice.
void double_select(int iterations) {
  Channel<int> c1, c2, c3, c4, cmux, done;
  goro::go_spawn([=]() mutable {
    for (int i = 0; i < iterations; ++i)
      goro::select(send_case(c1, i), send_case(c2, i), send_case(c3, i), send_case(c4, i));
    c1.close();
    c2.close();
    c3.close();
    c4.close();
  });
  for (Channel<int> in : {c1, c2, c3, c4})
    goro::go_spawn([in, cmux, done]() mutable {
      for (int v : in) cmux.send(v);
      done.send(1);
    });
  goro::go_spawn([done, cmux]() mutable {
    for (int i = 0; i < 4; ++i) done.recv();
    cmux.close();
  });
  std::set<int> seen;
  int duplicates = 0;
  for (int v : cmux)
    if (!seen.insert(v).second) ++duplicates;
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(iterations));
}

TEST(GoPrograms, DoubleSelect) { double_select(gt::scaled(100000, 2000)); }

TEST(GoPrograms, DoubleSelectTwoWorkers) {
  EXPECT_EQ(goro::run([] { double_select(gt::scaled(50000, 2000)); }, goro::Config{.workers = 2}), 0);
}

// runtime/chan_test.go TestMultiConsumer.
TEST(GoPrograms, MultiConsumer) {
  const int nwork = 23;
  const int niter = gt::scaled(271828, 5000);
  const std::vector<int> pn = {2, 3, 7, 11, 13, 17, 19, 23, 27, 31};
  Channel<int> q(nwork * 3), r(nwork * 3);
  auto wg = std::make_shared<goro::WaitGroup>();
  for (int i = 0; i < nwork; ++i) {
    wg->add(1);
    goro::go_spawn([q, r, wg, pn, w = i]() mutable {
      for (int v : q) {
        if (pn[w % pn.size()] == v) goro::yield();  // mess with the fifo-ish nature of range
        r.send(v);
      }
      wg->done();
    });
  }
  long expect = 0;
  for (int i = 0; i < niter; ++i) expect += pn[i % pn.size()];
  goro::go_spawn([q, r, wg, pn, niter]() mutable {
    for (int i = 0; i < niter; ++i) q.send(pn[i % pn.size()]);
    q.close();
    wg->wait();
    r.close();
  });
  long n = 0, s = 0;
  for (int v : r) {
    ++n;
    s += v;
  }
  EXPECT_EQ(n, niter);
  EXPECT_EQ(s, expect);
}

// runtime/chan_test.go TestSelectStress: plain senders/receivers on four
// channels interleaved with one all-send select loop and one all-receive select
// loop; the point is that it finishes (watchdog) with every count exact.
void select_stress(int N) {
  std::vector<Channel<int>> c = {Channel<int>(), Channel<int>(), Channel<int>(2), Channel<int>(3)};
  Channel<int> done(10);
  for (int k = 0; k < 4; ++k) {
    goro::go_spawn([ck = c[k], done, N]() mutable {
      for (int i = 0; i < N; ++i) ck.send(0);
      done.send(1);
    });
    goro::go_spawn([ck = c[k], done, N]() mutable {
      for (int i = 0; i < N; ++i) ck.recv();
      done.send(1);
    });
  }
  // No nil channels in goro: a finished channel is replaced by a fresh private
  // one that nobody else uses, which is never ready (like Go's nil channel).
  goro::go_spawn([c, done, N]() mutable {
    int n[4] = {0, 0, 0, 0};
    std::vector<Channel<int>> c1 = c;
    for (int i = 0; i < 4 * N; ++i) {
      std::size_t k = goro::select(send_case(c1[3], 0), send_case(c1[2], 0), send_case(c1[0], 0),
                                   send_case(c1[1], 0));
      int idx = k == 0 ? 3 : k == 1 ? 2 : k == 2 ? 0 : 1;
      if (++n[idx] == N) c1[idx] = Channel<int>();
    }
    done.send(1);
  });
  goro::go_spawn([c, done, N]() mutable {
    int n[4] = {0, 0, 0, 0};
    std::vector<Channel<int>> c1 = c;
    for (int i = 0; i < 4 * N; ++i) {
      std::optional<int> v;
      std::size_t k = goro::select(recv_case(c1[0], v), recv_case(c1[1], v), recv_case(c1[2], v),
                                   recv_case(c1[3], v));
      if (++n[k] == N) c1[k] = Channel<int>();
    }
    done.send(1);
  });
  EXPECT_EQ(gt::drain_n(done, 10), 10u);
  for (auto& ch : c) EXPECT_EQ(ch.size(), 0u);
}

TEST(GoPrograms, SelectStress) { select_stress(gt::scaled(10000, 500)); }

TEST(GoPrograms, SelectStressOneWorker) {
  EXPECT_EQ(goro::run([] { select_stress(gt::scaled(10000, 500)); }, goro::Config{.workers = 1}), 0);
}

}  // namespace
