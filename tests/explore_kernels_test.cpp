// A corpus of small concurrency bugs in classic shapes, each with its fixed twin:
// goro::testing::explore must find every bug within 1,000 runs (with at least one
// strategy), and every fixed twin must pass all its runs. The table of runs needed per
// kernel and strategy is printed at the end (the numbers depend on the seeds: the runs
// start from fixed seeds, so the table is the same on every run of this test).
#include <goro/goro.hpp>
#include <goro/testing.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using goro::testing::ExploreOptions;
using goro::testing::Strategy;

namespace {

void check(bool ok, const char* what) {
  if (!ok) throw std::logic_error(what);
}

// ---------------------------------------------------------------- the kernels
// Each takes `fixed`: false runs the bug, true its correct twin.

// 1. A result sent on an unbuffered channel to a caller that gave up at its timeout:
// when the timer fires first, the worker blocks on its send for ever.
void timeout_leak(bool fixed) {
  goro::Channel<int> result = fixed ? goro::Channel<int>(1) : goro::Channel<int>();
  goro::go_spawn([result]() mutable {
    goro::sleep_for(1s);  // the work takes exactly as long as the caller waits
    result.send(42);
  });
  std::optional<int> v;
  std::optional<std::chrono::steady_clock::time_point> t;
  (void)goro::select(goro::recv_case(result, v), goro::recv_case(goro::after(1s), t));
}

// 2. Two mutexes taken in opposite orders (ABBA).
void lock_order(bool fixed) {
  goro::Mutex a, b;
  goro::WaitGroup wg;
  wg.add(2);
  // done() only once the guards have unlocked: the mutexes live in this frame, which
  // ends as soon as wait() returns.
  goro::go_spawn([&] {
    {
      std::lock_guard ga(a);
      std::lock_guard gb(b);
    }
    wg.done();
  });
  goro::go_spawn([&] {
    goro::Mutex& first = fixed ? a : b;
    goro::Mutex& second = fixed ? b : a;
    {
      std::lock_guard g1(first);
      std::lock_guard g2(second);
    }
    wg.done();
  });
  wg.wait();
}

// 3. Lost wake-up: the flag is checked, then waited on, without holding the lock across.
void lost_wakeup(bool fixed) {
  goro::Mutex mu;
  goro::ConditionVariable cv;
  bool ready = false;
  goro::WaitGroup wg;
  wg.add(1);
  goro::go_spawn([&] {
    if (fixed) {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return ready; });
    } else {
      bool seen;
      {
        std::lock_guard lock(mu);
        seen = ready;
      }
      if (!seen) {
        std::unique_lock lock(mu);
        cv.wait(lock);  // the notify may have come already
      }
    }
    wg.done();
  });
  {
    std::lock_guard lock(mu);
    ready = true;
  }
  cv.notify_one();
  wg.wait();
}

// 4. A reader takes the read lock again while a writer waits: the writer waits for the
// first read lock, the second waits behind the writer.
void recursive_rlock(bool fixed) {
  goro::RWMutex rw;
  goro::WaitGroup wg;
  wg.add(2);
  goro::go_spawn([&] {
    rw.lock_shared();
    if (!fixed) {
      rw.lock_shared();  // re-entrant read: fine alone, deadly behind a waiting writer
      rw.unlock_shared();
    }
    rw.unlock_shared();
    wg.done();
  });
  goro::go_spawn([&] {
    rw.lock();
    rw.unlock();
    wg.done();
  });
  wg.wait();
}

// 5. WaitGroup::add inside the task races the wait.
void waitgroup_add_race(bool fixed) {
  goro::WaitGroup wg;
  int done = 0;
  for (int i = 0; i < 2; ++i) {
    if (fixed) wg.add(1);
    goro::go_spawn([&] {
      if (!fixed) wg.add(1);
      ++done;
      wg.done();
    });
  }
  wg.wait();
  const bool all_ran = done == 2;
  // Let stragglers finish before check() may throw: the exception ends this frame
  // (wg, done) before the bubble unwinds the tasks still using them.
  goro::sleep_for(1s);
  check(all_ran, "wait returned before the tasks ran");
}

// 6. A select loop that counts a closed channel's nullopt as a message: it stops early and
// the other producer blocks on its send.
void select_missing_close(bool fixed) {
  goro::Channel<int> a, b;
  goro::go_spawn([a]() mutable {
    a.send(1);
    a.close();
  });
  goro::go_spawn([b]() mutable { b.send(2); });
  bool a_open = true;
  for (int got = 0; got < 2;) {
    std::optional<int> va, vb;
    const std::size_t i =
        goro::select(goro::recv_case(a, va).when(!fixed || a_open), goro::recv_case(b, vb));
    if (i == 0 && !va) {
      a_open = false;
      if (fixed) continue;
    }
    ++got;
  }
}

// 7. An early return skips the receive of an unbuffered result.
void early_return(bool fixed) {
  goro::Channel<int> result = fixed ? goro::Channel<int>(1) : goro::Channel<int>();
  // Shared, not a local captured by reference: the canceller may run after we return.
  auto cancelled = std::make_shared<bool>(false);
  goro::go_spawn([result]() mutable { result.send(1); });
  goro::go_spawn([cancelled] { *cancelled = true; });
  goro::yield();
  if (*cancelled) return;  // the worker's send now has no receiver
  (void)result.recv();
}

// 8. One producer closes the channel while the other may still send on it.
void close_while_sending(bool fixed) {
  goro::Channel<int> ch(4);
  goro::WaitGroup producers;
  producers.add(2);
  for (int p = 0; p < 2; ++p)
    goro::go_spawn([&, p, ch]() mutable {
      ch.send(p);
      if (!fixed && p == 0) ch.close();  // "I'm done" — but the other is not
      producers.done();
    });
  if (fixed) {
    producers.wait();
    ch.close();
  } else {
    producers.wait();
  }
  while (ch.recv()) {
  }
}

// 9. A mutex left locked on an early-return path.
void unlock_forgotten(bool fixed) {
  goro::Mutex mu;
  int x = 0;
  goro::WaitGroup wg;
  wg.add(2);
  for (int i = 0; i < 2; ++i)
    goro::go_spawn([&] {
      mu.lock();
      ++x;
      if (x == 2 && !fixed) {  // the second one in takes a shortcut
        wg.done();
        return;
      }
      mu.unlock();
      wg.done();
    });
  wg.wait();
  mu.lock();  // blocks for ever if a task kept it
  mu.unlock();
}

// 10. Lost update: read, reschedule, write, without a lock.
void lost_update(bool fixed) {
  goro::Mutex mu;
  int x = 0;
  goro::WaitGroup wg;
  wg.add(2);
  for (int i = 0; i < 2; ++i)
    goro::go_spawn([&] {
      if (fixed) mu.lock();
      const int seen = x;
      goro::yield();
      x = seen + 1;
      if (fixed) mu.unlock();
      wg.done();
    });
  wg.wait();
  check(x == 2, "an increment was lost");
}

// 11. A semaphore unit not released on one path.
void semaphore_leak(bool fixed) {
  goro::Semaphore sem(1);
  int turn = 0;
  goro::WaitGroup wg;
  wg.add(2);
  for (int i = 0; i < 2; ++i)
    goro::go_spawn([&] {
      sem.acquire();
      const bool first = turn++ == 0;
      if (fixed || !first) sem.release();
      wg.done();
    });
  wg.wait();
  sem.acquire();
}

// 12. A cancellation checked before blocking, not while blocked.
void cancel_checked_once(bool fixed) {
  auto [ctx, cancel] = goro::with_cancel(goro::Context::background());
  goro::Channel<int> jobs;
  goro::WaitGroup wg;
  wg.add(1);
  goro::go_spawn([&, ctx = ctx, jobs]() mutable {
    if (ctx.err() == goro::ContextError::none) {
      if (fixed) {
        std::optional<int> j;
        std::optional<std::monostate> d;
        (void)goro::select(goro::recv_case(jobs, j), goro::recv_case(ctx.done(), d));
      } else {
        (void)jobs.recv();  // a cancel now is never seen
      }
    }
    wg.done();
  });
  cancel();
  wg.wait();
}

// 13. WaitGroup::done skipped on one path.
void done_skipped(bool fixed) {
  goro::WaitGroup wg;
  bool flag = false;
  wg.add(2);
  goro::go_spawn([&] {
    flag = true;
    wg.done();
  });
  goro::go_spawn([&] {
    goro::yield();
    if (flag && !fixed) return;  // "nothing to do" — but the count stays
    wg.done();
  });
  wg.wait();
}

// 14. Close guarded by a check-then-act flag: both may close.
void double_close(bool fixed) {
  goro::Channel<int> ch;
  goro::Once once;
  bool closed = false;
  goro::WaitGroup wg;
  wg.add(2);
  for (int i = 0; i < 2; ++i)
    goro::go_spawn([&, ch]() mutable {
      if (fixed) {
        once.call([&] { ch.close(); });
      } else if (!closed) {
        goro::yield();
        closed = true;
        ch.close();
      }
      wg.done();
    });
  wg.wait();
}

// 15. Two tasks that each send before receiving, on unbuffered channels.
void cross_send(bool fixed) {
  goro::Channel<int> ab, ba;
  goro::WaitGroup wg;
  wg.add(2);
  goro::go_spawn([&, ab, ba]() mutable {
    ab.send(1);
    (void)ba.recv();
    wg.done();
  });
  goro::go_spawn([&, ab, ba]() mutable {
    if (fixed) {
      (void)ab.recv();
      ba.send(2);
    } else {
      ba.send(2);
      (void)ab.recv();
    }
    wg.done();
  });
  wg.wait();
}

// 16. notify_one where two waiters need waking.
void notify_one_for_two(bool fixed) {
  goro::Mutex mu;
  goro::ConditionVariable cv;
  bool go = false;
  goro::WaitGroup wg;
  wg.add(2);
  for (int i = 0; i < 2; ++i)
    goro::go_spawn([&] {
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return go; });
      }
      wg.done();  // after the unlock: mu dies with this frame once wait() returns
    });
  goro::yield();
  {
    std::lock_guard lock(mu);
    go = true;
  }
  if (fixed)
    cv.notify_all();
  else
    cv.notify_one();
  wg.wait();
}

// 17. Sleep used as synchronisation: both wake at the same virtual instant, in either order.
void sleep_as_sync(bool fixed) {
  int result = 0;
  goro::Channel<int> done(1);
  goro::go_spawn([&, done]() mutable {
    goro::sleep_for(10ms);
    result = 7;
    done.send(1);
  });
  if (fixed)
    (void)done.recv();
  else
    goro::sleep_for(10ms);  // "long enough"
  check(result == 7, "read the result before it was written");
  if (!fixed) (void)done.recv();
}

// 18. A ticker loop stopped by a flag that one path never sets.
void ticker_never_stopped(bool fixed) {
  goro::Channel<int> quit(1);
  auto failed = std::make_shared<bool>(false);  // the failing task may outlive this frame
  goro::go_spawn([quit]() mutable {
    goro::Ticker ticker(1h);
    for (;;) {
      std::optional<std::chrono::steady_clock::time_point> t;
      std::optional<int> q;
      if (goro::select(goro::recv_case(ticker.c(), t), goro::recv_case(quit, q)) == 1) return;
    }
  });
  goro::go_spawn([failed] { *failed = true; });
  goro::yield();
  if (*failed && !fixed) return;  // the error path forgets to stop the loop
  quit.send(1);
}

// 19. A buffered channel sized for the expected case, with a consumer that may stop early.
void buffer_too_small(bool fixed) {
  goro::Channel<int> out(fixed ? 3 : 1);
  goro::WaitGroup wg;
  wg.add(1);
  goro::go_spawn([&, out]() mutable {
    for (int i = 0; i < 3; ++i) out.send(i);
    wg.done();
  });
  std::optional<int> first = out.recv();
  if (*first == 0 && out.size() == 0) {  // "nothing more ready: stop reading"
    wg.wait();
    return;
  }
  while (out.size() > 0) (void)out.recv();
  wg.wait();
}

// 20. An RWMutex upgraded from read to write by one of two readers.
void read_then_write(bool fixed) {
  goro::RWMutex rw;
  int value = 0;
  goro::WaitGroup wg;
  wg.add(2);
  for (int i = 0; i < 2; ++i)
    goro::go_spawn([&] {
      rw.lock_shared();
      const bool stale = value == 0;
      if (stale && !fixed) {
        rw.lock();  // upgrade while still holding the read lock: waits for itself
        value = 1;
        rw.unlock();
      }
      rw.unlock_shared();
      if (stale && fixed) {
        std::lock_guard g(rw);
        if (value == 0) value = 1;
      }
      wg.done();
    });
  wg.wait();
}

// 21. Results gathered into a channel with fewer receives than senders on the error path.
void fan_in_short_count(bool fixed) {
  goro::Channel<int> results;
  for (int i = 0; i < 3; ++i) goro::go_spawn([results, i]() mutable { results.send(i); });
  int sum = 0;
  for (int k = 0; k < 3; ++k) {
    const int v = *results.recv();
    if (v == 0 && k == 0 && !fixed) return;  // "the first answer is an error: give up"
    sum += v;
  }
  check(sum == 3, "lost a result");
}

// 22. Two tasks hand a token back and forth; one stops one round early.
void pingpong_off_by_one(bool fixed) {
  goro::Channel<int> ping, pong;
  goro::WaitGroup wg;
  wg.add(2);
  int rounds_seen = 0;
  goro::go_spawn([&, ping, pong]() mutable {
    for (int i = 0; i < 3; ++i) {
      ping.send(i);
      (void)pong.recv();
    }
    wg.done();
  });
  goro::go_spawn([&, ping, pong]() mutable {
    for (int i = 0; i < 3; ++i) {
      (void)ping.recv();
      ++rounds_seen;
      if (!fixed && rounds_seen == 3 && ping.size() == 0) break;  // "no more pings"
      pong.send(i);
    }
    wg.done();
  });
  wg.wait();
}

struct Kernel {
  const char* name;
  void (*body)(bool fixed);
};

const std::vector<Kernel>& kernels() {
  static const std::vector<Kernel> all = {
      {"timeout_leak", timeout_leak},
      {"lock_order", lock_order},
      {"lost_wakeup", lost_wakeup},
      {"recursive_rlock", recursive_rlock},
      {"waitgroup_add_race", waitgroup_add_race},
      {"select_missing_close", select_missing_close},
      {"early_return", early_return},
      {"close_while_sending", close_while_sending},
      {"unlock_forgotten", unlock_forgotten},
      {"lost_update", lost_update},
      {"semaphore_leak", semaphore_leak},
      {"cancel_checked_once", cancel_checked_once},
      {"done_skipped", done_skipped},
      {"double_close", double_close},
      {"cross_send", cross_send},
      {"notify_one_for_two", notify_one_for_two},
      {"sleep_as_sync", sleep_as_sync},
      {"ticker_never_stopped", ticker_never_stopped},
      {"buffer_too_small", buffer_too_small},
      {"read_then_write", read_then_write},
      {"fan_in_short_count", fan_in_short_count},
      {"pingpong_off_by_one", pingpong_off_by_one},
  };
  return all;
}

constexpr int kRuns = 1000;
// Fixed seeds: the table is reproducible.
constexpr std::uint64_t kSeed = 20260101;

ExploreOptions options(Strategy s, int runs) {
  ExploreOptions o;
  o.runs = runs;
  o.seed = kSeed;
  o.strategy = s;
  return o;
}

class Kernels : public ::testing::TestWithParam<Kernel> {};

// Runs needed to find k's bug with strategy s (0: not found within kRuns).
int runs_to_find(const Kernel& k, Strategy s, std::string* report) {
  const auto r = goro::testing::explore([&] { k.body(false); }, options(s, kRuns));
  if (r.failed && report != nullptr) *report = r.report;
  return r.failed ? r.runs : 0;
}

TEST_P(Kernels, BugIsFoundWithinAThousandRuns) {
  const Kernel k = GetParam();
  std::string report;
  const int random = runs_to_find(k, Strategy::random, &report);
  const int pct = runs_to_find(k, Strategy::pct, &report);
  EXPECT_TRUE(random > 0 || pct > 0) << k.name << ": no strategy found the bug";
  if (!report.empty()) {
    EXPECT_NE(report.find("GORO_EXPLORE_SEED="), std::string::npos) << report;
  }
}

TEST_P(Kernels, FixedTwinPassesEveryRun) {
  const Kernel k = GetParam();
  for (Strategy s : {Strategy::random, Strategy::pct}) {
    auto r = goro::testing::explore([&] { k.body(true); }, options(s, kRuns));
    EXPECT_FALSE(r.failed) << k.name << " (" << goro::testing::to_string(s) << "):\n" << r.report;
    EXPECT_EQ(r.runs, kRuns);
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, Kernels, ::testing::ValuesIn(kernels()),
                         [](const ::testing::TestParamInfo<Kernel>& info) { return std::string(info.param.name); });

// The table of runs needed per kernel and strategy, for the record: kTableSeeds first
// seeds (kSeed, then next ones), each a whole explore() of up to kRuns runs. Every bug
// must be found by at least one strategy from every first seed (the seeds are fixed, so
// this is deterministic). Prints, per strategy, in how many of the explorations the bug
// was found and the median and maximum runs that took, and the corpus's runs per second.
constexpr int kTableSeeds = 20;

TEST(KernelsTable, RunsNeededPerStrategyOverManySeeds) {
  struct Cell {
    std::vector<int> runs_to_find;  // one per seed that found it
    long total_runs = 0;
  };
  auto summary = [](Cell& c) {
    if (c.runs_to_find.empty()) return std::string("0/") + std::to_string(kTableSeeds) + "       -     -";
    std::sort(c.runs_to_find.begin(), c.runs_to_find.end());
    char buf[64];
    std::snprintf(buf, sizeof buf, "%d/%d %7d %5d", static_cast<int>(c.runs_to_find.size()), kTableSeeds,
                  c.runs_to_find[c.runs_to_find.size() / 2], c.runs_to_find.back());
    return std::string(buf);
  };
  std::printf("%-22s %-19s %-19s\n", "kernel", "random found/median/max", "pct found/median/max");
  long all_runs = 0;
  const auto started = std::chrono::steady_clock::now();
  for (const Kernel& k : kernels()) {
    Cell cells[2];
    for (int i = 0; i < kTableSeeds; ++i) {
      bool found_by_one = false;
      for (int s = 0; s < 2; ++s) {
        ExploreOptions o = options(s == 0 ? Strategy::random : Strategy::pct, kRuns);
        o.seed = kSeed + static_cast<std::uint64_t>(i);
        const auto r = goro::testing::explore([&] { k.body(false); }, o);
        cells[s].total_runs += r.runs;
        if (r.failed) cells[s].runs_to_find.push_back(r.runs);
        found_by_one = found_by_one || r.failed;
      }
      EXPECT_TRUE(found_by_one) << k.name << ": neither strategy found the bug from seed "
                                << kSeed + static_cast<std::uint64_t>(i);
    }
    all_runs += cells[0].total_runs + cells[1].total_runs;
    std::printf("%-22s %-19s %-19s\n", k.name, summary(cells[0]).c_str(), summary(cells[1]).c_str());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%ld runs in %.2f s: %.0f runs/s (bug kernels, whole corpus)\n", all_runs, seconds,
              static_cast<double>(all_runs) / seconds);
}

}  // namespace
