// Provable leaks (TaskInfo::leaked, diag::leaked_tasks(), find_leaks' only_provable):
// tasks blocked on channels that no code that can still run can reach.
//
// Each test runs inside goro::run with the exit leak policy off: leaked tasks cannot be
// woken by the test (that is the point), so run() unwinds them when its main task
// returns. "Not leaked" is asserted over several analyses once every task involved is
// visibly blocked; "leaked" is awaited with gt::eventually (no timing assumption).
#include <cstring>
#include <goro/goro.hpp>
#include "goro/internal/inspect.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "goro_test.hpp"

namespace {

using goro::TaskId;
using goro::diag::WaitReason;
using namespace std::chrono_literals;

template <class Main>
void in_runtime(Main main, std::size_t workers = 2) {
  goro::Config cfg;
  cfg.workers = workers;
  cfg.leak_policy = goro::LeakPolicy::off;
  goro::run(main, cfg);
}

std::set<TaskId> leaked_ids() {
  std::set<TaskId> ids;
  for (const auto& t : goro::diag::leaked_tasks()) ids.insert(t.id);
  return ids;
}

bool becomes_leaked(TaskId id, std::chrono::nanoseconds limit = gt::kWatchdog) {
  return gt::eventually([&] { return leaked_ids().count(id) > 0; }, limit);
}

// Asserts over several analyses (with other tasks free to run in between) that none of
// `ids` is reported leaked.
void expect_never_leaked(std::initializer_list<TaskId> ids, int rounds = 10) {
  for (int i = 0; i < rounds; ++i) {
    const auto leaked = leaked_ids();
    for (TaskId id : ids) EXPECT_EQ(leaked.count(id), 0u) << "task " << id << " reported leaked";
    goro::yield();
  }
}

[[gnu::noinline]] void recv_by_value(goro::Channel<int> ch) { ch.recv(); }

// Zeroes 16 KiB of the calling task's stack below the caller's frame: the dead frames of
// earlier diag calls (becomes_leaked's polling) hold channel addresses, which a later
// analysis at a similar depth gets back as uninitialised words of its live frames and
// counts as references (a documented miss of the analysis, never a false verdict).
[[gnu::noinline]] __attribute__((no_sanitize("address"))) void wipe_dead_stack() {
  constexpr std::size_t kBytes = 16 * 1024;
  void* block = __builtin_alloca(kBytes);
  std::memset(block, 0, kBytes);
  asm volatile("" : : "r"(block) : "memory");
}

// --- leaked ---------------------------------------------------------------------------

TEST(ProvableLeaks, TaskCapturingItsChannelWhoseOtherHolderReturned) {
  in_runtime([] {
    TaskId id;
    {
      goro::Channel<int> ch;
      id = goro::go_spawn([ch]() mutable { ch.recv(); });
      ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
      expect_never_leaked({id});  // this scope still holds ch
    }
    EXPECT_TRUE(becomes_leaked(id));
    auto info = gt::task_info(id);
    ASSERT_TRUE(info);
    EXPECT_TRUE(info->leaked);
    EXPECT_EQ(info->reason, WaitReason::chan_recv);
  });
}

// A copy on the task's own stack (a by-value parameter) is found as well as the closure's.
TEST(ProvableLeaks, HandlesOnTheBlockedTasksStackAreFound) {
  in_runtime([] {
    TaskId id;
    {
      goro::Channel<int> ch;
      id = goro::go_spawn([ch] { recv_by_value(ch); });
      ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
    }
    EXPECT_TRUE(becomes_leaked(id));
  });
}

TEST(ProvableLeaks, TwoTasksBlockedOnEachOthersChannels) {
  in_runtime([] {
    TaskId a_id, b_id;
    {
      goro::Channel<int> a, b;
      a_id = goro::go_spawn([a, b]() mutable {
        a.recv();
        b.send(1);
      });
      b_id = goro::go_spawn([a, b]() mutable {
        b.recv();
        a.send(1);
      });
      ASSERT_TRUE(gt::wait_blocked(a_id, WaitReason::chan_recv));
      ASSERT_TRUE(gt::wait_blocked(b_id, WaitReason::chan_recv));
      expect_never_leaked({a_id, b_id});
    }
    EXPECT_TRUE(becomes_leaked(a_id));
    EXPECT_TRUE(becomes_leaked(b_id));
  });
}

// `holder` waits on `outer`; it also holds the only other handle of `inner`, which
// `waiter` waits on. Nobody outside holds `outer`: both are leaked. While this scope
// still holds `outer`, neither is.
TEST(ProvableLeaks, ChainThroughALeakedTasksHandle) {
  in_runtime([] {
    TaskId holder, waiter;
    {
      goro::Channel<int> outer;
      {
        goro::Channel<int> inner;
        waiter = goro::go_spawn([inner]() mutable { inner.recv(); });
        holder = goro::go_spawn([outer, inner]() mutable {
          outer.recv();
          inner.send(1);
        });
      }
      ASSERT_TRUE(gt::wait_blocked(waiter, WaitReason::chan_recv));
      ASSERT_TRUE(gt::wait_blocked(holder, WaitReason::chan_recv));
      expect_never_leaked({holder, waiter});
    }
    EXPECT_TRUE(becomes_leaked(holder));
    EXPECT_TRUE(becomes_leaked(waiter));
  });
}

// A handle received through a channel lands in the receiver's frame (its std::optional):
// found there like any other.
TEST(ProvableLeaks, HandleReceivedThroughAChannel) {
  in_runtime([] {
    goro::Channel<goro::Channel<int>> outer(1);
    {
      goro::Channel<int> inner;
      outer.send(inner);
    }
    TaskId id = goro::go_spawn([outer]() mutable {
      std::optional<goro::Channel<int>> inner = outer.recv();
      inner->recv();
    });
    ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
    EXPECT_TRUE(becomes_leaked(id));
  });
}

TEST(ProvableLeaks, SelectWithNoCasesIsLeaked) {
  in_runtime([] {
    TaskId id = goro::go_spawn([] { goro::select(); });
    ASSERT_TRUE(gt::wait_blocked(id, WaitReason::select_no_cases));
    EXPECT_TRUE(becomes_leaked(id));
  });
}

// --- not leaked -----------------------------------------------------------------------

// The waiter refers to a Channel on the stack of a task that is still running (here:
// sleeping, then sending): the owner's memory is a root.
TEST(ProvableLeaks, CapturedByReferenceFromARunningTask) {
  in_runtime([] {
    std::atomic<bool> go{false};
    std::atomic<TaskId> waiter{0};
    goro::WaitGroup wg;
    wg.add(1);
    TaskId owner = goro::go_spawn([&] {
      goro::Channel<int> ch;
      waiter = goro::go_spawn([&ch, &wg] {
        ch.recv();
        wg.done();
      });
      while (!go.load()) goro::sleep_for(1ms);
      ch.send(1);
    });
    ASSERT_TRUE(gt::eventually([&] { return waiter.load() != 0; }));
    ASSERT_TRUE(gt::wait_blocked(waiter, WaitReason::chan_recv));
    expect_never_leaked({waiter.load(), owner});
    go = true;
    wg.wait();
  });
}

// The harder case: the Channel lives on the stack of a task that is itself blocked on a
// channel nobody else holds, but a third task (sleeping) holds the Channel's address and
// will send on it. Counting handles alone would call the owner and the waiter leaked.
TEST(ProvableLeaks, CapturedByReferenceIntoABlockedTasksStack) {
  in_runtime([] {
    std::atomic<bool> go{false};
    std::atomic<TaskId> waiter{0}, sender{0};
    TaskId owner = goro::go_spawn([&] {
      goro::Channel<int> results, done;
      waiter = goro::go_spawn([&results, &done] { done.send(*results.recv()); });
      sender = goro::go_spawn([&results, &go] {
        while (!go.load()) goro::sleep_for(1ms);
        results.send(7);
      });
      EXPECT_EQ(done.recv(), 7);
    });
    ASSERT_TRUE(gt::eventually([&] { return waiter.load() != 0 && sender.load() != 0; }));
    ASSERT_TRUE(gt::wait_blocked(waiter, WaitReason::chan_recv));
    ASSERT_TRUE(gt::wait_blocked(owner, WaitReason::chan_recv));
    expect_never_leaked({waiter.load(), owner});
    go = true;
    ASSERT_TRUE(gt::eventually([&] { return !gt::task_info(owner).has_value(); }));
  });
}

std::optional<goro::Channel<int>> g_channel;

TEST(ProvableLeaks, HandleInAGlobal) {
  in_runtime([] {
    g_channel.emplace();
    TaskId id = goro::go_spawn([ch = *g_channel]() mutable { ch.recv(); });
    ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
    expect_never_leaked({id});
    g_channel->close();
    g_channel.reset();
  });
}

TEST(ProvableLeaks, HandleInAHeapObject) {
  in_runtime([] {
    TaskId id;
    auto kept = std::make_unique<std::vector<goro::Channel<int>>>();
    {
      goro::Channel<int> ch;
      kept->push_back(ch);
      id = goro::go_spawn([ch]() mutable { ch.recv(); });
    }
    ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
    expect_never_leaked({id});
    kept->front().close();
  });
}

// A heap object counts as a root even when only a leaked task owns it: a documented
// miss (the analysis does not trace heap memory), never a false verdict.
TEST(ProvableLeaks, HeapObjectOwnedByALeakedTaskIsStillARoot) {
  in_runtime([] {
    TaskId owner_of_box, on_boxed;
    {
      goro::Channel<int> gate, boxed;
      auto box = std::make_shared<goro::Channel<int>>(boxed);
      owner_of_box = goro::go_spawn([gate, box]() mutable { gate.recv(); });
      on_boxed = goro::go_spawn([boxed]() mutable { boxed.recv(); });
    }
    ASSERT_TRUE(gt::wait_blocked(owner_of_box, WaitReason::chan_recv));
    ASSERT_TRUE(gt::wait_blocked(on_boxed, WaitReason::chan_recv));
    EXPECT_TRUE(becomes_leaked(owner_of_box));
    expect_never_leaked({on_boxed});
  });
}

TEST(ProvableLeaks, SelectWithOneReachableCase) {
  in_runtime([] {
    TaskId id;
    goro::Channel<int> reachable;
    {
      goro::Channel<int> unreachable;
      id = goro::go_spawn([unreachable, reachable]() mutable {
        std::optional<int> a, b;
        goro::select(goro::recv_case(unreachable, a), goro::recv_case(reachable, b));
      });
    }
    ASSERT_TRUE(gt::wait_blocked(id, WaitReason::select));
    expect_never_leaked({id});
    { goro::Channel<int> dropped = std::move(reachable); }  // now no case is reachable
    EXPECT_TRUE(becomes_leaked(id));
  });
}

// A select on an unreachable channel and after(): the pending timer holds the timer
// channel, so the task may still wake; once the timer fired and the task moved on to
// the unreachable channel alone, it is leaked.
TEST(ProvableLeaks, SelectWithAfterIsNotLeakedWhileTheTimerIsPending) {
  in_runtime([] {
    std::atomic<bool> timed_out{false};
    TaskId id;
    {
      goro::Channel<int> unreachable;
      id = goro::go_spawn([unreachable, &timed_out]() mutable {
        std::optional<int> v;
        std::optional<gt::TimePoint> t;
        if (goro::select(goro::recv_case(unreachable, v), goro::recv_case(goro::after(300ms), t)) == 1)
          timed_out = true;
        unreachable.recv();
      });
    }
    ASSERT_TRUE(gt::wait_blocked(id, WaitReason::select));
    for (int i = 0; i < 10 && !timed_out.load(); ++i) {
      // A verdict taken while the select still waits must say "not leaked".
      auto info = gt::task_info(id);
      if (info && info->reason == WaitReason::select) {
        EXPECT_FALSE(info->leaked);
      }
    }
    ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
    EXPECT_TRUE(timed_out.load());
    EXPECT_TRUE(becomes_leaked(id));
  });
}

// The timer's own handle keeps an after() channel reachable even when the task is the
// only other holder and the select has nothing else.
TEST(ProvableLeaks, AfterChannelHeldOnlyByTheTimerAndTheTask) {
  in_runtime([] {
    goro::Channel<int> stop;
    TaskId id = goro::go_spawn([stop]() mutable {
      auto timer = goro::after(1h);
      std::optional<int> v;
      std::optional<gt::TimePoint> t;
      goro::select(goro::recv_case(timer, t), goro::recv_case(stop, v));
    });
    ASSERT_TRUE(gt::wait_blocked(id, WaitReason::select));
    { goro::Channel<int> dropped = std::move(stop); }
    expect_never_leaked({id});
  });
}

// A Context's done() channel is also held by the context's state, on the heap: while
// that state lives (here: the waiting task holds the Context) the channel is a root, even
// though nothing can cancel the context any more — a documented miss. Once every Context
// and CancelFunc is gone, a task holding only a done() handle is leaked.
TEST(ProvableLeaks, ContextDoneIsARootWhileTheContextLives) {
  in_runtime([] {
    TaskId holds_context, holds_done;
    {
      auto [ctx, cancel] = goro::with_cancel(goro::Context::background());
      holds_context = goro::go_spawn([ctx = ctx]() mutable { ctx.done().recv(); });
      auto [ctx2, cancel2] = goro::with_cancel(goro::Context::background());
      holds_done = goro::go_spawn([done = ctx2.done()]() mutable { done.recv(); });
      ASSERT_TRUE(gt::wait_blocked(holds_context, WaitReason::chan_recv));
      ASSERT_TRUE(gt::wait_blocked(holds_done, WaitReason::chan_recv));
    }
    EXPECT_TRUE(becomes_leaked(holds_done));
    expect_never_leaked({holds_context});
  });
}

// Tasks waiting in sleep, on a WaitGroup or a Mutex are never leaked, and the handles
// they hold are roots.
TEST(ProvableLeaks, NonChannelWaitsAreNeverLeakedAndHoldRoots) {
  in_runtime([] {
    goro::WaitGroup never;
    never.add(1);
    goro::Mutex mu;
    mu.lock();
    std::atomic<bool> stop{false};
    TaskId sleeper, wg_waiter, mu_waiter, on_sleepers, on_wg, on_mu;
    {
      goro::Channel<int> a, b, c;
      sleeper = goro::go_spawn([a, &stop] {
        while (!stop.load()) goro::sleep_for(1ms);
      });
      wg_waiter = goro::go_spawn([b, &never] { never.wait(); });
      mu_waiter = goro::go_spawn([c, &mu] {
        mu.lock();
        mu.unlock();
      });
      on_sleepers = goro::go_spawn([a]() mutable { a.recv(); });
      on_wg = goro::go_spawn([b]() mutable { b.recv(); });
      on_mu = goro::go_spawn([c]() mutable { c.recv(); });
    }
    ASSERT_TRUE(gt::wait_blocked(wg_waiter, WaitReason::wait_group));
    ASSERT_TRUE(gt::wait_blocked(mu_waiter, WaitReason::mutex));
    ASSERT_TRUE(gt::wait_blocked(on_sleepers, WaitReason::chan_recv));
    ASSERT_TRUE(gt::wait_blocked(on_wg, WaitReason::chan_recv));
    ASSERT_TRUE(gt::wait_blocked(on_mu, WaitReason::chan_recv));
    expect_never_leaked({sleeper, wg_waiter, mu_waiter, on_sleepers, on_wg, on_mu});
    stop = true;
    never.done();
    mu.unlock();
    // stop, never and mu live in this frame: the three must be done with them before it
    // goes (mu_waiter still has to unlock mu).
    EXPECT_TRUE(gt::eventually([&] {
      return !gt::task_info(sleeper) && !gt::task_info(wg_waiter) && !gt::task_info(mu_waiter);
    }));
  });
}

// --- reporting ------------------------------------------------------------------------

TEST(ProvableLeaks, DumpsMarkLeakedTasks) {
  in_runtime([] {
    goro::Channel<int> held;
    TaskId blocked = goro::go_spawn([held]() mutable { held.recv(); });
    std::vector<TaskId> leaked;
    {
      goro::Channel<int> dropped;
      for (int i = 0; i < 3; ++i) leaked.push_back(goro::go_spawn([dropped]() mutable { dropped.recv(); }));
    }
    ASSERT_TRUE(gt::wait_blocked(blocked, WaitReason::chan_recv));
    for (TaskId id : leaked) ASSERT_TRUE(becomes_leaked(id)) << id;

    std::ostringstream goro_format;
    EXPECT_EQ(goro::diag::dump_blocked(goro_format), 4u);
    const std::string text = goro_format.str();
    EXPECT_NE(text.find("3 provably leaked"), std::string::npos) << text;
    EXPECT_NE(text.find("3 tasks [chan receive, "), std::string::npos) << text;
    EXPECT_NE(text.find(", leaked]:"), std::string::npos) << text;
    // The blocked, not leaked task has its own entry without the mark.
    const std::string single = "task " + std::to_string(blocked) + " [chan receive, ";
    const auto at = text.find(single);
    ASSERT_NE(at, std::string::npos) << text;
    EXPECT_EQ(text.substr(at, text.find('\n', at) - at).find("leaked"), std::string::npos) << text;

    std::ostringstream go_format;
    goro::diag::dump_blocked(go_format, goro::diag::DumpOptions{.format = goro::diag::DumpFormat::go});
    const std::string go_text = go_format.str();
    EXPECT_NE(go_text.find("goroutine " + std::to_string(leaked[0]) + " [chan receive (leaked)"),
              std::string::npos)
        << go_text;
    EXPECT_NE(go_text.find("goroutine " + std::to_string(blocked) + " [chan receive]"),
              std::string::npos)
        << go_text;

    // The exit report's words: which of the leftovers are provably leaked.
    const std::string report = goro::detail::live_task_report(nullptr, goro::current_task());
    EXPECT_NE(report.find("3 provably leaked"), std::string::npos) << report;
    EXPECT_NE(report.find("1 still blocked or running"), std::string::npos) << report;
    held.close();
  });
}

// A recycled stack slot keeps its earlier owners' words wherever a new task's frames leave
// memory unwritten. Here a finished task leaves a pointer into a blocked task's frame all
// over the top of its stack, and the next task, which gets that slot, runs the analysis
// from a frame with a buffer it never writes. Without scrubbing that stale word makes
// the blocked task look reachable, forever: once an analysis has run, recycled slots
// start with their top zeroed (runtime/src/stack_pool.hpp).
std::atomic<std::uintptr_t> g_word_in_blocked_frame{0};

// Returns whether there was a word to leave (checked here: a copy of it in the test's own
// frame would be a live pointer, not a stale one).
[[gnu::noinline]] bool leave_stale_words() {
  volatile std::uintptr_t words[64];
  const std::uintptr_t stale = g_word_in_blocked_frame.exchange(0);
  for (auto& w : words) w = stale;
  return stale != 0;
}

[[gnu::noinline]] bool leaked_seen_from_unwritten_frame(TaskId id) {
  char unwritten[512];
  asm volatile("" : : "r"(unwritten) : "memory");  // kept, never written
  const bool leaked = becomes_leaked(id);
  asm volatile("" : : "r"(unwritten) : "memory");
  return leaked;
}

TEST(ProvableLeaks, StaleWordsInARecycledStackDoNotHideALeak) {
  in_runtime(
      [] {
        (void)goro::diag::leaked_tasks();  // the first analysis turns scrubbing on
        TaskId blocked;
        {
          goro::Channel<int> dropped;
          blocked = goro::go_spawn([dropped]() mutable {
            volatile int in_frame = 0;
            g_word_in_blocked_frame.store(reinterpret_cast<std::uintptr_t>(&in_frame));
            dropped.recv();
          });
          ASSERT_TRUE(gt::wait_blocked(blocked, WaitReason::chan_recv));
        }
        // One worker: the stale task's slot goes to this worker's cache when it ends, and
        // the next task to start here takes it back.
        goro::Channel<bool> verdict(1);
        goro::WaitGroup stale_done;
        bool left_stale_words = false;
        stale_done.add(1);
        goro::go_spawn([&stale_done, &left_stale_words] {
          left_stale_words = leave_stale_words();
          stale_done.done();
        });
        stale_done.wait();
        ASSERT_TRUE(left_stale_words);
        goro::go_spawn([&verdict, blocked] { verdict.send(leaked_seen_from_unwritten_frame(blocked)); });
        EXPECT_TRUE(verdict.recv().value_or(false));
      },
      1);
}

TEST(ProvableLeaks, FindLeaksCanReportOnlyProvableLeaks) {
  in_runtime([] {
    goro::Channel<int> held;
    TaskId blocked = goro::go_spawn([held]() mutable { held.recv(); });
    TaskId leaked;
    {
      goro::Channel<int> dropped;
      leaked = goro::go_spawn(goro::SpawnOptions{"lost"}, [dropped]() mutable { dropped.recv(); });
    }
    ASSERT_TRUE(gt::wait_blocked(blocked, WaitReason::chan_recv));
    ASSERT_TRUE(becomes_leaked(leaked));
    wipe_dead_stack();

    auto only = goro::diag::find_leaks(goro::diag::LeakOptions{.only_provable = true});
    ASSERT_EQ(only.size(), 1u);
    EXPECT_EQ(only[0].id, leaked);
    EXPECT_TRUE(only[0].leaked);
    // Ignore rules still apply.
    auto ignored = goro::diag::find_leaks(
        goro::diag::LeakOptions{.ignore_names = {"lost"}, .only_provable = true});
    EXPECT_TRUE(ignored.empty());
    // The classic find_leaks lists both, and marks the provable one.
    auto all = goro::diag::find_leaks(goro::diag::LeakOptions{.max_wait = 0ms});
    ASSERT_EQ(all.size(), 2u);
    for (const auto& t : all) EXPECT_EQ(t.leaked, t.id == leaked) << t.id;
    held.close();
  });
}

// --- consistency under churn (meaningful under TSan) ----------------------------------

// Workers copy, move and destroy handles, pass handles through channels, park and wake
// (ping-pong, selects, channels captured by reference from blocked frames) while the
// analysis runs again and again: nothing here is leaked, so no verdict may ever appear.
// A few tasks that really are leaked are mixed in: they must be the only ones reported.
TEST(ProvableLeaks, NoFalsePositiveWhileTasksChurn) {
  in_runtime([] {
    const int kPairs = gt::scaled(16, 4);
    const int kAnalyses = gt::scaled(2000, 50);
    std::atomic<bool> stop{false};
    std::atomic<long> rounds{0};
    goro::WaitGroup wg;
    std::set<TaskId> truly_leaked;
    {
      goro::Channel<int> dropped;
      for (int i = 0; i < 3; ++i) truly_leaked.insert(goro::go_spawn([dropped]() mutable { dropped.recv(); }));
    }
    for (int p = 0; p < kPairs; ++p) {
      wg.add(2);
      goro::Channel<goro::Channel<int>> handoff;
      goro::Channel<int> ping, pong;
      goro::go_spawn([=, &wg, &stop, &rounds]() mutable {
        for (int r = 0; !stop.load(); ++r) {
          goro::Channel<int> fresh(1);
          goro::Channel<int> copy = fresh;        // copy
          handoff.send(std::move(copy));          // move through a channel
          fresh.send(r);
          ping.send(r);
          std::optional<int> v;
          std::optional<int> never;
          goro::Channel<int> idle;
          goro::select(goro::recv_case(pong, v), goro::recv_case(idle, never));
          rounds.fetch_add(1);
        }
        handoff.close();
        ping.close();
        wg.done();
      });
      goro::go_spawn([=, &wg]() mutable {
        while (auto ch = handoff.recv()) {
          goro::Channel<int> moved = std::move(*ch);
          // A child refers to this frame's `moved` by reference while we block on `ack`.
          goro::Channel<int> ack;
          goro::go_spawn([&moved, ack]() mutable {
            moved.recv();
            ack.send(0);
          });
          ack.recv();
          if (!ping.recv()) break;
          pong.send(0);
        }
        wg.done();
      });
    }
    std::set<TaskId> reported;
    for (int i = 0; i < kAnalyses; ++i) {
      for (const auto& t : goro::diag::leaked_tasks()) reported.insert(t.id);
      goro::yield();
    }
    stop = true;
    wg.wait();
    EXPECT_GT(rounds.load(), 0);
    for (TaskId id : reported)
      EXPECT_TRUE(truly_leaked.count(id)) << "task " << id << " falsely reported leaked";
    for (TaskId id : truly_leaked) EXPECT_TRUE(becomes_leaked(id));
  });
}

}  // namespace
