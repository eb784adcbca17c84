// Snapshots during churn: tasks spawn, park (channels, select, sleep) and exit on two
// workers while a plain thread takes tasks() / blocked_tasks() / dump_blocked() snapshots
// in a loop. Run under TSan this is the data-race check of the readers, and under ASan
// the check that a reader never looks at a record's objects after the task moved on
// (runtime/src/wait_record.hpp). diag_stack_test.cpp runs the same with stack capture.
#include <goro/goro.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <sstream>
#include <thread>

#include "goro_test.hpp"

namespace {

using goro::diag::WaitReason;

TEST(DiagChurn, SnapshotsWhileTasksSpawnParkAndExit) {
  std::atomic<bool> stop{false};
  std::atomic<long> snapshots{0}, blocked_seen{0};
  std::atomic<bool> inconsistent{false};
  std::string problem;

  std::thread reader([&] {
    int round = 0;
    while (!stop.load()) {
      auto all = goro::diag::tasks();
      std::set<goro::TaskId> ids;
      for (const auto& t : all) {
        if (!ids.insert(t.id).second || t.id == 0) {
          inconsistent = true;
          problem = "duplicate or zero id";
        }
        if ((t.reason == WaitReason::chan_send || t.reason == WaitReason::chan_recv) &&
            t.channels.size() != 1) {
          inconsistent = true;
          problem = "channel wait without exactly one channel";
        }
        if (t.reason == WaitReason::select && t.channels.empty()) {
          inconsistent = true;
          problem = "select wait without channels";
        }
        if (t.reason != WaitReason::none) blocked_seen.fetch_add(1);
      }
      auto blocked = goro::diag::blocked_tasks();
      for (std::size_t i = 1; i < blocked.size(); ++i)
        if (blocked[i - 1].blocked_for < blocked[i].blocked_for) {
          inconsistent = true;
          problem = "blocked_tasks not oldest first";
        }
      std::ostringstream out;
      goro::diag::DumpOptions opts;
      opts.format = (++round % 2) ? goro::diag::DumpFormat::goro : goro::diag::DumpFormat::go;
      goro::diag::dump_blocked(out, opts);
      snapshots.fetch_add(1);
    }
  });

  const int kRounds = gt::scaled(300, 10);
  const int kFan = gt::live_tasks(64);
  goro::Config cfg;
  cfg.workers = 2;
  int rc = goro::run(
      [&] {
        // At least kRounds rounds, and on until the reader has taken 20 snapshots and seen
        // parked tasks in them, so snapshots overlap the churn (the watchdog bounds it).
        const auto give_up = gt::Clock::now() + gt::kWatchdog;
        for (int r = 0; r < kRounds || snapshots.load() < 20 || blocked_seen.load() == 0; ++r) {
          ASSERT_LT(gt::Clock::now(), give_up) << "the reader took no snapshots during the churn";
          goro::Channel<int> unbuffered;
          goro::Channel<int> pairs;  // selects pair up: one sends, another receives
          goro::Channel<int> done(kFan);
          for (int i = 0; i < kFan; ++i) {
            goro::go_spawn([=]() mutable {
              switch (i % 4) {
                case 0: unbuffered.send(i); break;
                case 1: (void)unbuffered.recv(); break;
                case 2: {
                  std::optional<int> v;
                  goro::select(goro::recv_case(pairs, v), goro::send_case(pairs, i));
                  break;
                }
                default: goro::sleep_for(std::chrono::microseconds(50)); break;
              }
              // A grandchild that exits at once: spawn/exit churn.
              goro::go_spawn([done]() mutable { done.send(1); });
            });
          }
          for (int i = 0; i < kFan; ++i) (void)done.recv();
        }
      },
      cfg);
  stop = true;
  reader.join();
  EXPECT_EQ(rc, 0);
  EXPECT_FALSE(inconsistent.load()) << problem;
  EXPECT_GE(snapshots.load(), 20);
  EXPECT_GT(blocked_seen.load(), 0);
  SUCCEED() << blocked_seen.load() << " blocked task records seen in " << snapshots.load()
            << " snapshots";
}

}  // namespace
