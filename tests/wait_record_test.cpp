// Every park records why the task waits, the user's line, and since when; every task
// records its spawn site and parent. (diag::tasks() reads them back.)
#include <mutex>

#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;
using goro::diag::WaitReason;

// Polls diag::tasks() until task `id` is parked with some reason (bounded).
std::optional<goro::diag::TaskInfo> wait_until_parked(goro::TaskId id) {
  for (int i = 0; i < 30000; ++i) {
    for (auto& t : goro::diag::tasks())
      if (t.id == id && t.reason != WaitReason::none) return t;
    goro::sleep_for(1ms);  // parks a task (so others run); sleeps a plain thread
  }
  return std::nullopt;
}

struct Expect {
  WaitReason reason;
  unsigned line;
};

void check_parked(goro::TaskId id, Expect e, unsigned spawn_line) {
  auto info = wait_until_parked(id);
  ASSERT_TRUE(info.has_value()) << "task " << id << " never parked";
  EXPECT_EQ(info->reason, e.reason) << goro::diag::to_string(info->reason);
  EXPECT_EQ(info->wait_site.line(), e.line);
  EXPECT_NE(std::string(info->wait_site.file_name()).find("wait_record_test.cpp"), std::string::npos);
  EXPECT_EQ(info->spawn_site.line(), spawn_line);
  EXPECT_EQ(info->parent, 0u);  // spawned from the plain test thread
  EXPECT_GE(info->blocked_for.count(), 0);
}

TEST(WaitRecord, ChannelSendReceiveSelectAndNoCases) {
  goro::Channel<int> full(1), empty, release;
  full.send(0);
  // Each task blocks on the line it is spawned on, so one number checks both sites.
  const unsigned l1 = __LINE__ + 1;
  auto sender = goro::go_spawn([full]() mutable { full.send(1); });
  const unsigned l2 = __LINE__ + 1;
  auto receiver = goro::go_spawn([empty]() mutable { empty.recv(); });
  const unsigned l3 = __LINE__ + 1;
  auto selecter = goro::go_spawn([empty, release]() mutable { std::optional<int> a, b; goro::select(goro::recv_case(empty, a), goro::recv_case(release, b)); });
  check_parked(sender, {WaitReason::chan_send, l1}, l1);
  check_parked(receiver, {WaitReason::chan_recv, l2}, l2);
  check_parked(selecter, {WaitReason::select, l3}, l3);

  // A blocked-forever select: spawned inside run(), which unwinds it at the end.
  goro::run(
      [&] {
        const unsigned l4 = __LINE__ + 1;
        auto id = goro::go_spawn([] { goro::select(); });
        auto info = wait_until_parked(id);
        ASSERT_TRUE(info.has_value());
        EXPECT_EQ(info->reason, WaitReason::select_no_cases);
        EXPECT_EQ(info->wait_site.line(), l4);
        EXPECT_EQ(info->parent, goro::current_task());
        EXPECT_EQ(goro::diag::to_string(info->reason), "select (no cases)");
      },
      goro::Config{.leak_policy = goro::LeakPolicy::off});

  // Release everything so the test leaves no task behind.
  EXPECT_EQ(full.recv(), 0);
  EXPECT_EQ(full.recv(), 1);
  empty.send(1);
  empty.send(2);  // the receiver and the select take one each
}

TEST(WaitRecord, SleepWaitGroupAndMutex) {
  goro::WaitGroup wg;
  wg.add(1);
  goro::Mutex mu;
  mu.lock();
  const unsigned l1 = __LINE__ + 1;
  auto sleeper = goro::go_spawn([] { goro::sleep_for(200ms); });
  const unsigned l2 = __LINE__ + 1;
  auto waiter = goro::go_spawn([&] { wg.wait(); });
  const unsigned l3 = __LINE__ + 1;
  auto locker = goro::go_spawn([&] { mu.lock(); mu.unlock(); });
  check_parked(sleeper, {WaitReason::sleep, l1}, l1);
  check_parked(waiter, {WaitReason::wait_group, l2}, l2);
  check_parked(locker, {WaitReason::mutex, l3}, l3);
  EXPECT_EQ(goro::diag::to_string(WaitReason::wait_group), "wait group");
  // Only channel waits count as "blocked" for blocked_tasks().
  for (auto& t : goro::diag::blocked_tasks())
    EXPECT_TRUE(t.id != sleeper && t.id != waiter && t.id != locker);
  wg.done();
  mu.unlock();
  // The sleeper wakes by itself; find_leaks waits for it.
  EXPECT_TRUE(goro::diag::find_leaks({.max_wait = 10s}).empty());
}

}  // namespace

namespace {

// A task that has been woken is no longer blocked, even before it gets to run.
TEST(WaitRecord, WokenButNotYetRunTaskIsNotListedAsBlocked) {
  goro::run(
      [] {
        goro::Channel<int> ch;
        auto id = goro::go_spawn([ch]() mutable { (void)ch.recv(); });
        ASSERT_TRUE(wait_until_parked(id).has_value());
        ch.send(1);  // readies the receiver; with one worker it cannot run before we park
        for (const auto& t : goro::diag::blocked_tasks()) EXPECT_NE(t.id, id);
        for (const auto& t : goro::diag::tasks()) {
          if (t.id == id) {
            EXPECT_EQ(t.reason, goro::diag::WaitReason::none);
          }
        }
      },
      goro::Config{.workers = 1});
}

// Wait ages come from a clock a ticker thread refreshes while workers are busy, and that
// a worker refreshes itself when it wakes from idle (runtime/src/wait_clock.hpp). Both
// paths are checked: after a long idle period (ticker asleep), and after a long stretch
// of computing without parking (only the ticker can keep the clock fresh). A stale stamp
// would make the age at least as long as that period.
TEST(WaitRecord, AgesAreFreshAfterIdlingAndAfterComputing) {
  constexpr auto kPeriod = 1s;
  goro::run(
      [&] {
        auto age_of_new_wait = [] {
          goro::Channel<int> ch;
          auto id = goro::go_spawn([ch]() mutable { (void)ch.recv(); });
          auto info = wait_until_parked(id);
          ch.send(1);
          return info ? info->blocked_for : std::chrono::nanoseconds::max();
        };
        goro::sleep_for(kPeriod);  // every worker idles: the ticker sleeps
        EXPECT_LT(age_of_new_wait(), kPeriod) << "stamped with the clock from before the idle period";

        const auto until = std::chrono::steady_clock::now() + kPeriod;
        volatile std::uint64_t spins = 0;
        while (std::chrono::steady_clock::now() < until) spins = spins + 1;  // no parking
        EXPECT_LT(age_of_new_wait(), kPeriod) << "stamped with the clock from before the computation";
      },
      goro::Config{.workers = 1});
}

// The sync primitives' reasons, as Go spells them where it has a spelling.
TEST(SyncWaitReasons, SpellingsAndNotChannelWaits) {
  EXPECT_EQ(goro::diag::to_string(WaitReason::rwmutex_lock), "rwmutex lock");
  EXPECT_EQ(goro::diag::to_string(WaitReason::rwmutex_rlock), "rwmutex rlock");
  EXPECT_EQ(goro::diag::to_string(WaitReason::cond_wait), "cond wait");
  EXPECT_EQ(goro::diag::to_string(WaitReason::once), "once");
  for (auto r : {WaitReason::rwmutex_lock, WaitReason::rwmutex_rlock, WaitReason::cond_wait,
                 WaitReason::once})
    EXPECT_FALSE(goro::diag::is_channel_wait(r)) << goro::diag::to_string(r);
}

}  // namespace
