// diag::find_leaks: goleak's Find — the bounded retry with backoff, and every ignore rule.
#include <goro/goro.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "goro_test.hpp"

namespace {

using goro::diag::LeakOptions;
using goro::diag::WaitReason;
using namespace std::chrono_literals;

std::set<goro::TaskId> ids_of(const std::vector<goro::diag::TaskInfo>& v) {
  std::set<goro::TaskId> s;
  for (const auto& t : v) s.insert(t.id);
  return s;
}

LeakOptions once() {
  LeakOptions o;
  o.max_wait = 0ms;
  return o;
}

void wait_none_left() {
  auto left = goro::diag::find_leaks(LeakOptions{.max_wait = std::chrono::duration_cast<std::chrono::milliseconds>(gt::kWatchdog)});
  EXPECT_TRUE(left.empty()) << left.size() << " tasks still alive";
}

// Out-of-line helpers: their names are what IgnoreTopFunction / IgnoreCreatedBy match.
[[gnu::noinline]] void block_in_helper_recv(goro::Channel<int> ch) { ch.recv(); }
[[gnu::noinline]] goro::TaskId spawn_from_factory(goro::Channel<int> ch) {
  return goro::go_spawn([ch]() mutable { ch.recv(); });
}

TEST(DiagFindLeaks, EmptyWhenNothingIsLeft) {
  EXPECT_TRUE(goro::diag::find_leaks().empty());
  goro::Channel<int> ch;
  goro::TaskId id = goro::go_spawn([ch]() mutable { ch.send(1); });
  EXPECT_EQ(ch.recv(), 1);
  (void)id;
  EXPECT_TRUE(goro::diag::find_leaks().empty());
}

TEST(DiagFindLeaks, ReportsABlockedTaskWithItsRecord) {
  goro::Channel<int> ch;
  goro::TaskId id = goro::go_spawn(goro::SpawnOptions{"stuck"}, [ch]() mutable { ch.recv(); });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
  auto leaks = goro::diag::find_leaks(once());
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0].id, id);
  EXPECT_EQ(leaks[0].name, "stuck");
  EXPECT_EQ(leaks[0].reason, WaitReason::chan_recv);
  ch.close();
  wait_none_left();
}

// A task that finishes shortly after find_leaks starts is not reported: the first
// attempt sees it (it cannot finish before that), a retry no longer does.
TEST(DiagFindLeaks, RetriesUntilFinishingTasksAreGone) {
  goro::Channel<int> release;
  goro::TaskId id = goro::go_spawn([release]() mutable { release.recv(); });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
  std::atomic<bool> seen{false};
  std::thread releaser([&] {
    while (!seen.load()) std::this_thread::sleep_for(100us);
    release.close();
  });
  LeakOptions opts;
  opts.max_wait = std::chrono::duration_cast<std::chrono::milliseconds>(gt::kWatchdog);
  opts.ignore_if = [&](const goro::diag::TaskInfo& t) {
    if (t.id == id) seen.store(true);
    return false;
  };
  auto leaks = goro::diag::find_leaks(opts);
  releaser.join();
  EXPECT_TRUE(leaks.empty()) << leaks.size() << " reported";
}

// The wait between attempts grows: within max_wait the attempts are few (10 us doubling
// up to 50 ms apart; a sleep never ends early, so this bound holds however slow the
// machine is), and there is more than one.
TEST(DiagFindLeaks, BacksOffExponentially) {
  goro::Channel<int> ch;
  goro::TaskId id = goro::go_spawn([ch]() mutable { ch.recv(); });
  ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));
  int attempts = 0;
  LeakOptions opts;
  opts.max_wait = 200ms;
  opts.ignore_if = [&](const goro::diag::TaskInfo& t) {
    if (t.id == id) ++attempts;
    return false;
  };
  auto leaks = goro::diag::find_leaks(opts);
  EXPECT_EQ(ids_of(leaks), std::set<goro::TaskId>{id});
  EXPECT_GE(attempts, 2);
  // 10+20+...+40960 us = 82 ms in 13 waits, then at most 3 more (50, 50, the rest):
  // 17 attempts at most (a fixed 10 us pause would make thousands).
  EXPECT_LE(attempts, 20);
  ch.close();
  wait_none_left();
}

TEST(DiagFindLeaks, IgnoreCurrentSnapshot) {
  goro::Channel<int> ch;
  goro::TaskId old_task = goro::go_spawn([ch]() mutable { ch.recv(); });
  ASSERT_TRUE(gt::wait_blocked(old_task, WaitReason::chan_recv));
  LeakOptions opts = once();
  opts.ignore_ids = goro::diag::ignore_current();
  EXPECT_NE(std::find(opts.ignore_ids.begin(), opts.ignore_ids.end(), old_task), opts.ignore_ids.end());
  goro::TaskId new_task = goro::go_spawn([ch]() mutable { ch.recv(); });
  ASSERT_TRUE(gt::wait_blocked(new_task, WaitReason::chan_recv));
  EXPECT_EQ(ids_of(goro::diag::find_leaks(opts)), std::set<goro::TaskId>{new_task});
  ch.close();
  wait_none_left();
}

TEST(DiagFindLeaks, IgnoreNames) {
  goro::Channel<int> ch;
  goro::TaskId keep = goro::go_spawn(goro::SpawnOptions{"keep-me"}, [ch]() mutable { ch.recv(); });
  goro::TaskId skip = goro::go_spawn(goro::SpawnOptions{"background-poller"}, [ch]() mutable { ch.recv(); });
  ASSERT_TRUE(gt::wait_blocked(keep, WaitReason::chan_recv));
  ASSERT_TRUE(gt::wait_blocked(skip, WaitReason::chan_recv));
  LeakOptions opts = once();
  opts.ignore_names = {"poller"};
  EXPECT_EQ(ids_of(goro::diag::find_leaks(opts)), std::set<goro::TaskId>{keep});
  ch.close();
  wait_none_left();
}

TEST(DiagFindLeaks, IgnoreWaitSitesByLineOrFunction) {
  goro::Channel<int> ch;
  int line = __LINE__; goro::TaskId by_line = goro::go_spawn([ch]() mutable { ch.recv(); });
  goro::TaskId by_function = goro::go_spawn([ch] { block_in_helper_recv(ch); });
  goro::TaskId kept = goro::go_spawn([ch]() mutable { ch.recv(); });
  for (auto id : {by_line, by_function, kept}) ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));

  LeakOptions opts = once();
  opts.ignore_wait_sites = {"diag_leaks_test.cpp:" + std::to_string(line) + " ", "block_in_helper_recv"};
  EXPECT_EQ(ids_of(goro::diag::find_leaks(opts)), std::set<goro::TaskId>{kept});
  ch.close();
  wait_none_left();
}

TEST(DiagFindLeaks, IgnoreSpawnSitesByLineOrFunction) {
  goro::Channel<int> ch;
  goro::TaskId from_factory = spawn_from_factory(ch);
  int line = __LINE__; goro::TaskId by_line = goro::go_spawn([ch]() mutable { ch.recv(); });
  goro::TaskId kept = goro::go_spawn([ch]() mutable { ch.recv(); });
  for (auto id : {from_factory, by_line, kept}) ASSERT_TRUE(gt::wait_blocked(id, WaitReason::chan_recv));

  LeakOptions opts = once();
  opts.ignore_spawn_sites = {"spawn_from_factory"};
  EXPECT_EQ(ids_of(goro::diag::find_leaks(opts)), (std::set<goro::TaskId>{by_line, kept}));
  opts.ignore_spawn_sites.push_back("diag_leaks_test.cpp:" + std::to_string(line) + " ");
  EXPECT_EQ(ids_of(goro::diag::find_leaks(opts)), std::set<goro::TaskId>{kept});
  ch.close();
  wait_none_left();
}

TEST(DiagFindLeaks, IgnoreIf) {
  goro::Channel<int> ch;
  goro::TaskId a = goro::go_spawn([ch]() mutable { ch.recv(); });
  goro::TaskId b = goro::go_spawn([ch]() mutable { ch.recv(); });
  ASSERT_TRUE(gt::wait_blocked(a, WaitReason::chan_recv));
  ASSERT_TRUE(gt::wait_blocked(b, WaitReason::chan_recv));
  LeakOptions opts = once();
  opts.ignore_if = [a](const goro::diag::TaskInfo& t) { return t.id == a; };
  EXPECT_EQ(ids_of(goro::diag::find_leaks(opts)), std::set<goro::TaskId>{b});
  ch.close();
  wait_none_left();
}

TEST(DiagFindLeaks, NeverListsTheCallingTask) {
  goro::Channel<int> ch;
  goro::TaskId other = goro::go_spawn([ch]() mutable { ch.recv(); });
  ASSERT_TRUE(gt::wait_blocked(other, WaitReason::chan_recv));
  goro::Channel<std::set<goro::TaskId>> result(1);
  goro::Channel<goro::TaskId> self_id(1);
  goro::go_spawn([result, self_id]() mutable {
    self_id.send(goro::current_task());
    result.send(ids_of(goro::diag::find_leaks(once())));
  });
  GT_ASSERT_RECV(self, self_id);
  GT_ASSERT_RECV(seen, result);
  EXPECT_EQ(seen.count(self), 0u);
  EXPECT_EQ(seen.count(other), 1u);
  ch.close();
  wait_none_left();
}

}  // namespace
