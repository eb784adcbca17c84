// goro::Context (Go's context package): cancellation, deadlines, propagation to
// descendants, detaching, races between cancel / timer / parent, and the promise that
// a cancelled or expired context leaves no task and no timer behind.
#include <goro/context.hpp>
#include <goro/detail/timer.hpp>

#include <random>
#include <thread>
#include <vector>

#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;
using goro::Context;
using goro::ContextError;

constexpr auto kLong = std::chrono::hours(1);  // a timeout that never fires during a test

// True when ctx.done() is closed right now (a non-blocking receive sees the close).
bool done_now(const Context& ctx) {
  auto ch = ctx.done();
  std::optional<std::monostate> v;
  return ch.try_recv(v) && !v.has_value();
}

// Waits (bounded by the watchdog) until ctx.done() is closed.
::testing::AssertionResult wait_done(const Context& ctx) {
  auto ch = ctx.done();
  auto r = gt::recv_for(ch);
  if (r.timed_out) return ::testing::AssertionFailure() << "watchdog fired waiting for done()";
  if (r.value.has_value()) return ::testing::AssertionFailure() << "done() delivered a value";
  return ::testing::AssertionSuccess();
}

// find_leaks with the watchdog as its bound: tasks that are just finishing on a loaded
// machine are waited for; a real leak still fails (after the watchdog).
bool no_leaks() {
  goro::diag::LeakOptions opts;
  opts.max_wait = std::chrono::duration_cast<std::chrono::milliseconds>(gt::kWatchdog);
  auto leaks = goro::diag::find_leaks(opts);
  for (auto& t : leaks)
    ADD_FAILURE() << "task " << t.id << " left behind, spawned at " << t.spawn_site.file_name()
                  << ":" << t.spawn_site.line();
  return leaks.empty();
}

long live_states() { return goro::detail::context_stats().live_states; }
long pending_timers() { return goro::detail::context_stats().pending_timers; }

// Every test starts with no context timer in flight and must end the same way: all the
// timers it started were removed at cancellation or have fired completely.
class ContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gt::eventually([] { return pending_timers() == 0; }))
        << pending_timers() << " context timers pending before the test";
  }
  void TearDown() override {
    EXPECT_TRUE(gt::eventually([] { return pending_timers() == 0; }))
        << pending_timers() << " context timers left behind";
  }
};

TEST_F(ContextTest, ErrorStrings) {
  EXPECT_EQ(goro::to_string(ContextError::none), "");
  EXPECT_EQ(goro::to_string(ContextError::canceled), "context canceled");
  EXPECT_EQ(goro::to_string(ContextError::deadline_exceeded), "context deadline exceeded");
}

TEST_F(ContextTest, BackgroundIsNeverDone) {
  Context bg = Context::background();
  EXPECT_EQ(bg.err(), ContextError::none);
  EXPECT_FALSE(bg.cancelled());
  EXPECT_FALSE(bg.deadline().has_value());
  EXPECT_FALSE(done_now(bg));
  std::optional<std::monostate> v;
  EXPECT_EQ(goro::select(goro::recv_case(bg.done(), v), goro::default_case()), 1u);

  // Children come and go; background is unaffected and keeps no list of them.
  for (int i = 0; i < 10; ++i) {
    auto [ctx, cancel] = goro::with_cancel(bg);
    cancel();
    EXPECT_TRUE(ctx.cancelled());
  }
  EXPECT_EQ(goro::detail::context_child_count(bg), 0u);
  EXPECT_FALSE(Context::background().cancelled());
  EXPECT_FALSE(done_now(Context::background()));
  EXPECT_FALSE(Context().cancelled()) << "a default-constructed Context is background";
}

TEST_F(ContextTest, CancelClosesDoneAndSetsCanceled) {
  auto [ctx, cancel] = goro::with_cancel(Context::background());
  EXPECT_EQ(ctx.err(), ContextError::none);
  EXPECT_FALSE(ctx.deadline().has_value());
  EXPECT_FALSE(done_now(ctx));
  cancel();
  EXPECT_EQ(ctx.err(), ContextError::canceled);
  EXPECT_TRUE(ctx.cancelled());
  EXPECT_TRUE(wait_done(ctx));
  Context copy = ctx;  // copies observe the same context
  EXPECT_TRUE(done_now(copy));
  EXPECT_EQ(copy.err(), ContextError::canceled);
}

TEST_F(ContextTest, CancelIsIdempotent) {
  auto [ctx, cancel] = goro::with_cancel(Context::background());
  goro::CancelFunc again = cancel;
  cancel();
  cancel();  // done() is closed exactly once: a second close would throw ChannelClosed
  again();
  EXPECT_EQ(ctx.err(), ContextError::canceled);
  EXPECT_TRUE(wait_done(ctx));

  auto [tctx, tcancel] = goro::with_timeout(Context::background(), 0ns);
  EXPECT_EQ(tctx.err(), ContextError::deadline_exceeded);
  tcancel();  // after expiry: no effect, the first error stays
  EXPECT_EQ(tctx.err(), ContextError::deadline_exceeded);
}

TEST_F(ContextTest, ParentCancelPropagatesToAllDescendants) {
  auto [root, cancel_root] = goro::with_cancel(Context::background());
  auto [a, cancel_a] = goro::with_cancel(root);
  auto [b, cancel_b] = goro::with_timeout(root, kLong);
  auto [a1, cancel_a1] = goro::with_cancel(a);
  auto [a2, cancel_a2] = goro::with_deadline(a, std::chrono::steady_clock::now() + kLong);
  auto [b1, cancel_b1] = goro::with_cancel(b);
  auto [a11, cancel_a11] = goro::with_cancel(a1);
  EXPECT_EQ(goro::detail::context_child_count(root), 2u);
  EXPECT_EQ(goro::detail::context_child_count(a), 2u);
  const long timers = pending_timers();

  cancel_root();
  for (const Context* c : {&root, &a, &b, &a1, &a2, &b1, &a11}) {
    EXPECT_TRUE(wait_done(*c));
    EXPECT_EQ(c->err(), ContextError::canceled) << "descendants get the parent's error";
  }
  EXPECT_EQ(pending_timers(), timers - 2) << "the timers of b and a2 were removed at once";
  EXPECT_EQ(goro::detail::context_child_count(root), 0u);
  EXPECT_EQ(goro::detail::context_child_count(a), 0u);

  // Cancelling them afterwards changes nothing.
  for (auto* f : {&cancel_a, &cancel_b, &cancel_a1, &cancel_a2, &cancel_b1, &cancel_a11}) (*f)();
  EXPECT_EQ(a11.err(), ContextError::canceled);
}

TEST_F(ContextTest, ExpiredParentPassesDeadlineExceededDown) {
  auto [parent, cancel_parent] = goro::with_timeout(Context::background(), 5ms);
  auto [child, cancel_child] = goro::with_cancel(parent);
  auto [grandchild, cancel_grandchild] = goro::with_timeout(child, kLong);
  EXPECT_EQ(grandchild.deadline(), parent.deadline()) << "the parent's deadline is earlier";
  EXPECT_TRUE(wait_done(grandchild));
  EXPECT_EQ(parent.err(), ContextError::deadline_exceeded);
  EXPECT_EQ(child.err(), ContextError::deadline_exceeded);
  EXPECT_EQ(grandchild.err(), ContextError::deadline_exceeded);
  cancel_grandchild();
  cancel_child();
  cancel_parent();
  EXPECT_EQ(child.err(), ContextError::deadline_exceeded);
}

TEST_F(ContextTest, ChildCancelLeavesParentAloneAndDetaches) {
  auto [parent, cancel_parent] = goro::with_cancel(Context::background());
  const long states = live_states();
  for (int i = 0; i < 1000; ++i) {
    auto [child, cancel_child] = goro::with_cancel(parent);
    auto [grandchild, cancel_grandchild] = goro::with_timeout(child, kLong);
    EXPECT_EQ(goro::detail::context_child_count(parent), 1u);
    cancel_child();
    EXPECT_EQ(grandchild.err(), ContextError::canceled);
    EXPECT_EQ(goro::detail::context_child_count(parent), 0u) << "detached on cancel";
  }
  EXPECT_EQ(live_states(), states) << "cancelled children are freed with their handles";
  EXPECT_FALSE(parent.cancelled());
  EXPECT_FALSE(done_now(parent));
  cancel_parent();
  EXPECT_TRUE(parent.cancelled());
}

TEST_F(ContextTest, ChildOfCancelledParentIsBornCancelled) {
  auto [parent, cancel_parent] = goro::with_cancel(Context::background());
  cancel_parent();
  const long timers = pending_timers();
  auto [c1, k1] = goro::with_cancel(parent);
  auto [c2, k2] = goro::with_timeout(parent, kLong);
  auto [c3, k3] = goro::with_deadline(parent, std::chrono::steady_clock::now() + kLong);
  for (const Context* c : {&c1, &c2, &c3}) {
    EXPECT_EQ(c->err(), ContextError::canceled);
    EXPECT_TRUE(done_now(*c));
  }
  EXPECT_EQ(pending_timers(), timers) << "a context born cancelled starts no timer";
  EXPECT_EQ(goro::detail::context_child_count(parent), 0u);

  auto [expired, cancel_expired] = goro::with_timeout(Context::background(), -1s);
  auto [c4, k4] = goro::with_cancel(expired);
  EXPECT_EQ(c4.err(), ContextError::deadline_exceeded) << "born with the parent's error";
}

TEST_F(ContextTest, DeadlineIsTheEarlierOfParentsAndOwn) {
  const auto now = std::chrono::steady_clock::now();
  auto [parent, cancel_parent] = goro::with_deadline(Context::background(), now + 2 * kLong);
  auto [later, cancel_later] = goro::with_deadline(parent, now + 3 * kLong);
  auto [earlier, cancel_earlier] = goro::with_deadline(parent, now + kLong);
  auto [plain, cancel_plain] = goro::with_cancel(earlier);
  EXPECT_EQ(parent.deadline(), now + 2 * kLong);
  EXPECT_EQ(later.deadline(), now + 2 * kLong);
  EXPECT_EQ(earlier.deadline(), now + kLong);
  EXPECT_EQ(plain.deadline(), now + kLong);
  cancel_parent();
  EXPECT_EQ(later.err(), ContextError::canceled);
  EXPECT_EQ(plain.err(), ContextError::canceled);

  // A child whose own deadline comes first expires without touching its parent.
  auto [p2, cancel_p2] = goro::with_timeout(Context::background(), kLong);
  auto [c2, cancel_c2] = goro::with_timeout(p2, 1ms);
  EXPECT_TRUE(wait_done(c2));
  EXPECT_EQ(c2.err(), ContextError::deadline_exceeded);
  EXPECT_FALSE(p2.cancelled());
  EXPECT_EQ(goro::detail::context_child_count(p2), 0u) << "an expired child detaches too";
  cancel_p2();
  cancel_c2();
}

TEST_F(ContextTest, WithTimeoutExpiresWithDeadlineExceeded) {
  const long timers = pending_timers();
  auto [ctx, cancel] = goro::with_timeout(Context::background(), 10ms);
  ASSERT_TRUE(ctx.deadline().has_value());
  EXPECT_TRUE(wait_done(ctx));
  EXPECT_EQ(ctx.err(), ContextError::deadline_exceeded);
  EXPECT_GE(std::chrono::steady_clock::now(), *ctx.deadline()) << "never early";
  EXPECT_TRUE(gt::eventually([&] { return pending_timers() == timers; }))
      << "the timer fired and released its payload";
  cancel();
  EXPECT_EQ(ctx.err(), ContextError::deadline_exceeded);
}

TEST_F(ContextTest, DeadlineInThePastCancelsAtOnce) {
  const long timers = pending_timers();
  auto [a, ka] = goro::with_deadline(Context::background(), std::chrono::steady_clock::now() - 1s);
  auto [b, kb] = goro::with_timeout(Context::background(), 0ns);
  auto [c, kc] = goro::with_timeout(Context::background(), -5s);
  auto [d, kd] = goro::with_deadline(Context::background(),
                                     std::chrono::steady_clock::time_point::min());
  for (const Context* x : {&a, &b, &c, &d}) {
    EXPECT_EQ(x->err(), ContextError::deadline_exceeded) << "no waiting for a timer";
    EXPECT_TRUE(done_now(*x));
  }
  EXPECT_EQ(pending_timers(), timers) << "no timer is started for a past deadline";
}

TEST_F(ContextTest, HugeTimeoutsDoNotOverflow) {
  auto [a, ka] = goro::with_timeout(Context::background(), std::chrono::nanoseconds::max());
  auto [b, kb] = goro::with_deadline(Context::background(),
                                     std::chrono::steady_clock::time_point::max());
  EXPECT_FALSE(a.cancelled());
  EXPECT_FALSE(b.cancelled());
  EXPECT_EQ(a.deadline(), std::chrono::steady_clock::time_point::max());
  ka();
  kb();
  EXPECT_EQ(a.err(), ContextError::canceled);
  EXPECT_EQ(b.err(), ContextError::canceled);
}

// Inside a one-worker run whose only task does not park between creating and cancelling,
// no timer can fire early: the counts are exact without any timing assumption.
TEST_F(ContextTest, CancelledTimeoutRemovesItsTimerAndNeverExpires) {
  goro::Config cfg;
  cfg.workers = 1;
  goro::run(
      [] {
        const long timers = pending_timers();
        const auto timeout = 20ms;
        auto [ctx, cancel] = goro::with_timeout(Context::background(), timeout);
        auto [child, cancel_child] = goro::with_timeout(ctx, timeout / 2);
        EXPECT_EQ(pending_timers(), timers + 2);
        cancel();
        // cancel_timer dropped both timers synchronously: their payloads are gone already.
        EXPECT_EQ(pending_timers(), timers);
        EXPECT_EQ(ctx.err(), ContextError::canceled);
        EXPECT_EQ(child.err(), ContextError::canceled);
        // Park well past both deadlines: nothing fires, the errors stay.
        goro::sleep_for(timeout * 5);
        EXPECT_EQ(ctx.err(), ContextError::canceled);
        EXPECT_EQ(child.err(), ContextError::canceled);
        EXPECT_EQ(pending_timers(), timers);
        cancel_child();
      },
      cfg);
}

TEST_F(ContextTest, TaskSelectingOnDoneExitsWhenCancelled) {
  auto [ctx, cancel] = goro::with_cancel(Context::background());
  goro::Channel<int> work;
  goro::Channel<int> results(16);
  goro::Channel<ContextError> exited(1);
  const goro::TaskId id = goro::go_spawn([ctx, work, results, exited]() mutable {
    for (;;) {
      std::optional<int> job;
      std::optional<std::monostate> stop;
      if (goro::select(goro::recv_case(work, job), goro::recv_case(ctx.done(), stop)) == 1) {
        exited.send(ctx.err());
        return;
      }
      if (!job) return;
      results.send(*job * 2);
    }
  });
  for (int i = 1; i <= 3; ++i) {
    work.send(i);
    GT_ASSERT_RECV(r, results);
    EXPECT_EQ(r, i * 2);
  }
  ASSERT_TRUE(gt::wait_blocked(id, goro::diag::WaitReason::select));
  cancel();
  GT_ASSERT_RECV(why, exited);
  EXPECT_EQ(why, ContextError::canceled);
  EXPECT_TRUE(no_leaks());
}

TEST_F(ContextTest, TaskBlockedOnTimeoutExitsWhenItExpires) {
  auto [ctx, cancel] = goro::with_timeout(Context::background(), 5ms);
  goro::Channel<ContextError> exited(1);
  goro::Channel<int> never;
  goro::go_spawn([ctx, never, exited]() mutable {
    std::optional<int> v;
    std::optional<std::monostate> stop;
    goro::select(goro::recv_case(never, v), goro::recv_case(ctx.done(), stop));
    exited.send(ctx.err());
  });
  GT_ASSERT_RECV(why, exited);
  EXPECT_EQ(why, ContextError::deadline_exceeded);
  cancel();
  EXPECT_TRUE(no_leaks());
}

// Many contexts, each watched by a task; half cancelled, half expiring, some nested.
// Afterwards: no task, no timer and no context state is left.
TEST_F(ContextTest, NoTaskOrTimerLeftBehind) {
  const int n = gt::live_tasks(gt::scaled(2000, 100));
  const long timers = pending_timers();
  const long states = live_states();
  goro::Channel<ContextError> exits(static_cast<std::size_t>(n));
  {
    auto [root, cancel_root] = goro::with_cancel(Context::background());
    std::vector<goro::CancelFunc> cancels;
    std::vector<Context> ctxs;
    for (int i = 0; i < n; ++i) {
      const Context& parent = (i % 4 == 3) ? ctxs[static_cast<std::size_t>(i - 1)] : root;
      auto [ctx, cancel] = (i % 2 == 0) ? goro::with_timeout(parent, kLong)
                                        : goro::with_timeout(parent, std::chrono::microseconds(i));
      goro::go_spawn([ctx, exits]() mutable {
        std::optional<std::monostate> stop;
        goro::select(goro::recv_case(ctx.done(), stop));
        exits.send(ctx.err());
      });
      ctxs.push_back(ctx);
      cancels.push_back(cancel);
    }
    for (int i = 0; i < n; i += 2) cancels[static_cast<std::size_t>(i)]();
    int canceled = 0, expired = 0;
    for (int i = 0; i < n; ++i) {
      GT_ASSERT_RECV(why, exits);
      if (why == ContextError::canceled) ++canceled;
      if (why == ContextError::deadline_exceeded) ++expired;
    }
    EXPECT_EQ(canceled + expired, n);
    EXPECT_GE(canceled, n / 2);
    EXPECT_TRUE(gt::eventually([&] { return pending_timers() == timers; }))
        << "every timer was removed or has fired";
    EXPECT_EQ(goro::detail::context_child_count(root), 0u);
    for (auto& c : cancels) c();
    cancel_root();
  }
  EXPECT_TRUE(no_leaks());
  // The tasks' closures (holding contexts) are freed as the tasks end.
  EXPECT_TRUE(gt::eventually([&] { return live_states() == states; }))
      << live_states() - states << " context states still alive";
  EXPECT_EQ(pending_timers(), timers);
}

// The same inside goro::run with the fail leak policy: run() returns 0 only when no task
// is left, and the run's timers are gone before it ends.
TEST_F(ContextTest, RunWithCancelledContextsEndsWithoutLeftovers) {
  const long timers = pending_timers();
  const long states = live_states();
  long timers_inside = -1;
  goro::Config cfg;
  cfg.leak_policy = goro::LeakPolicy::fail;
  const int n = gt::live_tasks(gt::scaled(1000, 50));
  int rc = goro::run(
      [&] {
        // Children's deadlines come before the root's, so every context has a timer.
        auto [root, cancel_root] = goro::with_timeout(Context::background(), 3 * kLong);
        goro::WaitGroup wg;
        for (int i = 0; i < n; ++i) {
          auto [ctx, cancel] = goro::with_timeout(root, kLong + std::chrono::seconds(i));
          (void)cancel;  // dropped: the root's cancellation still reaches ctx
          wg.add(1);
          goro::go_spawn([ctx, &wg] {
            std::optional<std::monostate> stop;
            goro::select(goro::recv_case(ctx.done(), stop));
            wg.done();
          });
        }
        if (pending_timers() != timers + n + 1) ADD_FAILURE() << "expected a timer per context";
        cancel_root();
        wg.wait();
        timers_inside = pending_timers();
        // The tasks are finishing after wg.done(); wait for them with the watchdog as the
        // bound (run()'s own grace for finishing tasks is ~100 ms, too short on a loaded
        // machine), so that rc below depends on leaks only.
        EXPECT_TRUE(no_leaks()) << "every watcher task exited";
      },
      cfg);
  EXPECT_EQ(rc, 0) << "no task left behind";
  EXPECT_EQ(timers_inside, timers) << "no timer left behind";
  EXPECT_EQ(live_states(), states);
}

// A runtime that ends with timers of live contexts drops them, releasing the states.
TEST_F(ContextTest, RunEndingDropsPendingContextTimers) {
  const long timers = pending_timers();
  const long states = live_states();
  Context survivor;
  goro::run([&] {
    for (int i = 0; i < 100; ++i) {
      auto [ctx, cancel] = goro::with_timeout(Context::background(), kLong);
      if (i == 0) survivor = ctx;
    }
    EXPECT_EQ(pending_timers(), timers + 100);
  });
  EXPECT_EQ(pending_timers(), timers);
  EXPECT_EQ(live_states(), states + 1) << "only the one still referenced";
  EXPECT_FALSE(survivor.cancelled()) << "its timer was dropped with its runtime";
}

// Deep trees are cancelled and destroyed without recursion (a task has a small stack).
TEST_F(ContextTest, DeepChainsInATask) {
  const int depth = gt::scaled(100000, 5000);
  const long states = live_states();
  goro::Channel<int> out(2);
  goro::go_spawn([depth, out]() mutable {
    {
      auto [root, cancel_root] = goro::with_cancel(Context::background());
      Context leaf = root;
      for (int i = 0; i < depth; ++i) leaf = goro::with_cancel(leaf).first;
      cancel_root();
      out.send(leaf.err() == ContextError::canceled ? 1 : 0);
    }
    {
      auto [root, cancel_root] = goro::with_cancel(Context::background());
      Context leaf = root;
      for (int i = 0; i < depth; ++i) leaf = goro::with_cancel(leaf).first;
      // dropped uncancelled: the whole chain is freed when root's handles go
    }
    out.send(2);
  });
  GT_ASSERT_RECV(first, out);
  EXPECT_EQ(first, 1);
  GT_ASSERT_RECV(second, out);
  EXPECT_EQ(second, 2);
  EXPECT_TRUE(gt::eventually([&] { return live_states() == states; }));
}

// Cancel racing the timer: exactly one error wins and stays; done is closed once.
TEST_F(ContextTest, CancelRacesTimer) {
  const int rounds = gt::scaled(2000, 100);
  const long timers = pending_timers();
  int canceled = 0, expired = 0;
  for (int i = 0; i < rounds; ++i) {
    auto [ctx, cancel] = goro::with_timeout(Context::background(), std::chrono::microseconds(i % 50));
    std::thread t([cancel = cancel] { cancel(); });
    cancel();
    t.join();
    const ContextError e = ctx.err();
    ASSERT_NE(e, ContextError::none);
    ASSERT_TRUE(done_now(ctx));
    (e == ContextError::canceled ? canceled : expired)++;
    ASSERT_EQ(ctx.err(), e);
  }
  EXPECT_EQ(canceled + expired, rounds);
  EXPECT_TRUE(gt::eventually([&] { return pending_timers() == timers; }));
}

// Many tasks creating, cancelling and expiring contexts under shared parents while the
// parents and the root are cancelled concurrently (run under TSan).
TEST_F(ContextTest, ConcurrentCancellationStress) {
  const int groups = gt::scaled(100, 10);
  const int per_group = 20;
  const long timers = pending_timers();
  const long states = live_states();
  goro::Channel<int> finished(static_cast<std::size_t>(groups * 2 + 1));
  std::atomic<int> bad{0};
  {
    auto [root, cancel_root] = goro::with_cancel(Context::background());
    std::vector<std::pair<Context, goro::CancelFunc>> mids;
    for (int g = 0; g < groups; ++g)
      mids.push_back(g % 3 == 0 ? goro::with_timeout(root, std::chrono::microseconds(50 * g))
                                : goro::with_cancel(root));
    for (int g = 0; g < groups; ++g) {
      // A worker: children of its mid, some cancelled by it, some expiring, all awaited.
      goro::go_spawn([mid = mids[static_cast<std::size_t>(g)].first, g, per_group, finished,
                      &bad]() mutable {
        std::mt19937 rng(static_cast<unsigned>(g));
        std::vector<std::pair<Context, goro::CancelFunc>> kids;
        for (int k = 0; k < per_group; ++k) {
          kids.push_back(rng() % 2 ? goro::with_cancel(mid)
                                   : goro::with_timeout(mid, std::chrono::microseconds(rng() % 200)));
          kids.push_back(goro::with_cancel(kids.back().first));  // a grandchild
          if (rng() % 3 == 0) kids[kids.size() - 2].second();
          if (rng() % 4 == 0) goro::yield();
        }
        for (auto& [kid, cancel] : kids) {
          std::optional<std::monostate> stop;
          goro::select(goro::recv_case(kid.done(), stop));
          const ContextError e = kid.err();
          if (e == ContextError::none || !done_now(kid)) bad.fetch_add(1);
          cancel();
          if (kid.err() != e) bad.fetch_add(1);  // the first error stays
        }
        finished.send(1);
      });
      // A canceller for the mid, racing the worker's registrations.
      goro::go_spawn([cancel = mids[static_cast<std::size_t>(g)].second, g, finished]() mutable {
        for (int i = 0; i < g % 5; ++i) goro::yield();
        cancel();
        finished.send(1);
      });
    }
    goro::go_spawn([cancel_root = cancel_root, finished]() mutable {
      goro::yield();
      cancel_root();
      finished.send(1);
    });
    EXPECT_EQ(gt::drain_n(finished, static_cast<std::size_t>(groups * 2 + 1)),
              static_cast<std::size_t>(groups * 2 + 1));
    EXPECT_EQ(root.err(), ContextError::canceled);
    EXPECT_EQ(goro::detail::context_child_count(root), 0u);
    for (auto& [mid, cancel] : mids) {
      EXPECT_TRUE(mid.cancelled());
      EXPECT_EQ(goro::detail::context_child_count(mid), 0u);
    }
  }
  EXPECT_EQ(bad.load(), 0);
  EXPECT_TRUE(no_leaks());
  EXPECT_TRUE(gt::eventually([&] { return pending_timers() == timers; }));
  EXPECT_TRUE(gt::eventually([&] { return live_states() == states; }));
}

// Plain threads: create, cancel and wait (blocking on done()) without any task.
TEST_F(ContextTest, UsableFromPlainThreads) {
  const int threads = 4;
  const int per_thread = gt::scaled(500, 50);
  const long states = live_states();
  auto [root, cancel_root] = goro::with_cancel(Context::background());
  std::atomic<int> bad{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto [ctx, cancel] = (i + t) % 2 ? goro::with_cancel(root)
                                         : goro::with_timeout(root, std::chrono::microseconds(i % 20));
        std::thread canceller([cancel = cancel] { cancel(); });
        if (ctx.done().recv().has_value()) bad.fetch_add(1);  // blocks this thread until closed
        canceller.join();
        if (ctx.err() == ContextError::none) bad.fetch_add(1);
      }
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(goro::detail::context_child_count(root), 0u);

  // A plain thread blocked on the root's done() is woken by a cancel from another thread.
  auto [child, cancel_child] = goro::with_cancel(root);
  std::atomic<int> woke{0};
  std::thread waiter([ctx = child, &woke] {
    auto done = ctx.done();
    if (!done.recv().has_value() && ctx.err() == ContextError::canceled) woke.fetch_add(1);
  });
  gt::settle();
  EXPECT_EQ(woke.load(), 0);
  cancel_root();
  waiter.join();
  EXPECT_EQ(woke.load(), 1);
  cancel_child();
  EXPECT_TRUE(gt::eventually([&] { return live_states() == states + 2; }))
      << "only root and child, still held here";
}

}  // namespace
