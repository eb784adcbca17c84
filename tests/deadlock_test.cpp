// Deadlock detection: a plain thread blocked in a goro call while every task is asleep
// gets goro::Deadlock (with the dump) instead of hanging when the deadlock is proven;
// run() whose main task can never finish throws it too. A thread outside goro calls that
// may still wake a task keeps it from being proven (a warning instead), unless the policy
// is all_asleep (Go's). Grace period: GORO_DEADLOCK_MS or Config::deadlock_grace (small here).
#include <unistd.h>

#include <cstdlib>
#include <future>
#include <thread>

#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;

// Every test here runs in its own process (gtest_discover_tests), so setting the
// grace period before goro first reads it is enough.
struct ShortGrace {
  ShortGrace() { ::setenv("GORO_DEADLOCK_MS", "200", 1); }
};
const ShortGrace short_grace;

TEST(Deadlock, PlainThreadRecvWithNoSenderThrows) {
  goro::Channel<int> nobody_sends;
  try {
    nobody_sends.recv();
    FAIL() << "recv returned";
  } catch (const goro::Deadlock& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("all goro tasks are asleep - deadlock!"), std::string::npos) << what;
    EXPECT_NE(what.find("chan receive"), std::string::npos) << what;
    EXPECT_NE(what.find("deadlock_test.cpp"), std::string::npos) << what;
  }
  // The channel holds no stale waiter: a later send/recv pair works.
  goro::go_spawn([nobody_sends]() mutable { nobody_sends.send(7); });
  EXPECT_EQ(nobody_sends.recv(), 7);
}

TEST(Deadlock, PlainThreadBlockedOnATaskThatIsBlockedToo) {
  goro::Channel<int> a, b;
  goro::go_spawn([a, b]() mutable {
    a.recv();  // waits for the test thread, which waits for us: deadlock
    b.send(1);
  });
  try {
    b.recv();
    FAIL() << "recv returned";
  } catch (const goro::Deadlock& e) {
    std::string what = e.what();
    // The dump names the task and where it is stuck.
    EXPECT_NE(what.find("chan receive"), std::string::npos) << what;
    EXPECT_NE(what.find("deadlock_test.cpp"), std::string::npos) << what;
  }
  a.send(1);  // release the task: it sends on b, nobody receives... so receive it
  EXPECT_EQ(b.recv(), 1);
}

TEST(Deadlock, SelectWaitGroupMutexAndNoCaseSelect) {
  goro::Channel<int> c1, c2;
  std::optional<int> v1, v2;
  EXPECT_THROW(goro::select(goro::recv_case(c1, v1), goro::send_case(c2, 5)), goro::Deadlock);
  goro::WaitGroup wg;
  wg.add(1);
  EXPECT_THROW(wg.wait(), goro::Deadlock);
  wg.done();
  goro::Mutex mu;
  mu.lock();
  EXPECT_THROW(mu.lock(), goro::Deadlock);
  mu.unlock();
  EXPECT_THROW(goro::select(), goro::Deadlock);
}

TEST(Deadlock, NotDeclaredWhileATimerIsPending) {
  goro::Channel<int> late;
  goro::go_spawn([late]() mutable {
    goro::sleep_for(600ms);  // longer than the grace period: a pending timer is progress
    late.send(3);
  });
  EXPECT_EQ(late.recv(), 3);
}

TEST(Deadlock, NotDeclaredWhileTasksKeepRunning) {
  goro::Channel<int> result;
  goro::go_spawn([result]() mutable {
    // Busy for longer than the grace period, yielding (so it is not "asleep").
    const auto until = std::chrono::steady_clock::now() + 600ms;
    while (std::chrono::steady_clock::now() < until) goro::yield();
    result.send(4);
  });
  EXPECT_EQ(result.recv(), 4);
}

TEST(Deadlock, RunWhoseMainTaskCanNeverFinishThrows) {
  std::atomic<int> unwound{0};
  try {
    goro::run([&] {
      gt::DtorCounter guard(unwound);
      goro::Channel<int> never;
      never.recv();
    });
    FAIL() << "run returned";
  } catch (const goro::Deadlock& e) {
    EXPECT_NE(std::string(e.what()).find("deadlock"), std::string::npos);
  }
  EXPECT_EQ(unwound.load(), 1) << "the main task was unwound before run() threw";
}

// ---------------------------------------------------------------- proven vs possible

goro::Config fast_verdicts(goro::DeadlockPolicy policy = goro::DeadlockPolicy::proven) {
  goro::Config cfg;
  cfg.deadlock_policy = policy;
  cfg.deadlock_grace = 50ms;
  return cfg;
}

// A thread outside goro that stays alive (a possible waker) until released.
class Bystander {
 public:
  explicit Bystander(bool never_wakes = false)
      : thread_([this, never_wakes] {
          std::optional<goro::NeverWakesTasks> declared;
          if (never_wakes) declared.emplace();
          release_.get_future().wait();
        }) {}
  ~Bystander() {
    release_.set_value();
    thread_.join();
  }

 private:
  std::promise<void> release_;
  std::thread thread_;
};

TEST(DeadlockProven, RunWaitingOnAPlainThreadThatSendsLateCompletes) {
  goro::Channel<int> late;
  std::thread sender([late]() mutable {
    std::this_thread::sleep_for(500ms);  // ten grace periods: the detector sees all asleep
    late.send(5);
  });
  int got = 0;
  goro::run([&] { got = late.recv().value_or(-1); }, fast_verdicts());
  sender.join();
  EXPECT_EQ(got, 5);
}

TEST(DeadlockProven, TaskWaitingOnALiveForeignThreadIsNotKilled) {
  goro::Channel<int> from_thread, done;
  goro::go_spawn([from_thread, done]() mutable { done.send(*from_thread.recv() + 1); });
  std::thread sender([from_thread]() mutable {
    std::this_thread::sleep_for(800ms);  // four times GORO_DEADLOCK_MS
    from_thread.send(41);
  });
  EXPECT_EQ(done.recv(), 42);  // this thread waits in goro, so the detector runs
  sender.join();
}

TEST(DeadlockProven, ThreadsThatHaveEndedDoNotCount) {
  std::thread([] {}).join();
  goro::Channel<int> nobody_sends;
  EXPECT_THROW(nobody_sends.recv(), goro::Deadlock);
}

TEST(DeadlockProven, ANeverWakesTasksThreadDoesNotKeepItFromBeingProven) {
  Bystander watchdog(/*never_wakes=*/true);
  goro::Channel<int> nobody_sends;
  EXPECT_THROW(nobody_sends.recv(), goro::Deadlock);
}

TEST(DeadlockProven, AProvablyLeakedMainTaskThrowsThoughAThreadIsAlive) {
  Bystander alive;
  try {
    goro::run(
        [] {
          goro::Channel<int> only_mine;  // no other handle anywhere: provably leaked
          only_mine.recv();
        },
        fast_verdicts());
    FAIL() << "run returned";
  } catch (const goro::Deadlock& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("all goro tasks are asleep - deadlock!"), std::string::npos) << what;
    EXPECT_NE(what.find("main task of goro::run is provably leaked"), std::string::npos) << what;
  }
}

// A plain thread and run() both blocked, nothing else alive: every run, both get
// goro::Deadlock (a verdict condemns every thread blocked at that instant).
TEST(DeadlockProven, RunAndAPlainThreadBothBlockedBothGetDeadlockEveryTime) {
  for (int round = 0; round < 4; ++round) {
    goro::Channel<int> for_main, for_thread;
    std::atomic<bool> thread_got_deadlock{false};
    std::thread blocked([&] {
      try {
        for_thread.recv();
      } catch (const goro::Deadlock&) {
        thread_got_deadlock = true;
      }
    });
    bool run_got_deadlock = false;
    try {
      goro::run([&] { for_main.recv(); }, fast_verdicts());
    } catch (const goro::Deadlock& e) {
      run_got_deadlock = true;
      EXPECT_NE(std::string(e.what()).find("goro::run waiting for its main task"), std::string::npos)
          << e.what();
    }
    blocked.join();
    EXPECT_TRUE(run_got_deadlock) << "round " << round;
    EXPECT_TRUE(thread_got_deadlock) << "round " << round;
  }
}

TEST(DeadlockAllAsleep, FatalAsInGoEvenWithAThreadAlive) {
  Bystander alive;
  goro::Channel<int> ch;
  try {
    // ch lives on this thread's stack: not provably leaked, and a thread is alive.
    goro::run([&] { ch.recv(); }, fast_verdicts(goro::DeadlockPolicy::all_asleep));
    FAIL() << "run returned";
  } catch (const goro::Deadlock& e) {
    EXPECT_NE(std::string(e.what()).find("deadlock policy all_asleep"), std::string::npos)
        << e.what();
  }
}

TEST(DeadlockAllAsleep, ChosenByTheEnvironment) {
  ::setenv("GORO_DEADLOCK", "all_asleep", 1);
  Bystander alive;
  goro::Channel<int> nobody_sends;
  EXPECT_THROW(nobody_sends.recv(), goro::Deadlock);
  ::unsetenv("GORO_DEADLOCK");
}

TEST(DeadlockConfig, InvalidSettingsAreRejectedWhenTheRuntimeStarts) {
  ::setenv("GORO_DEADLOCK", "fatal", 1);
  try {
    goro::run([] {});
    FAIL() << "run accepted GORO_DEADLOCK=fatal";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("GORO_DEADLOCK=\"fatal\""), std::string::npos) << what;
    EXPECT_NE(what.find("proven"), std::string::npos) << what;
    EXPECT_NE(what.find("all_asleep"), std::string::npos) << what;
  }
  ::unsetenv("GORO_DEADLOCK");
  goro::Config negative;
  negative.deadlock_grace = -1ms;
  EXPECT_THROW(goro::run([] {}, negative), std::invalid_argument);
}

// Run by the test below in a child process: all asleep for many grace periods while a
// thread that will send is alive.
TEST(DeadlockChild, DISABLED_PossibleDeadlockWhileAThreadIsAlive) {
  goro::Channel<int> late;
  std::thread sender([late]() mutable {
    std::this_thread::sleep_for(600ms);  // a dozen grace periods
    late.send(1);
  });
  int got = 0;
  goro::run([&] { got = late.recv().value_or(-1); }, fast_verdicts());
  sender.join();
  EXPECT_EQ(got, 1);
}

TEST(DeadlockProven, APossibleDeadlockIsLoggedOnceAndTheWaitGoesOn) {
  const auto r = gt::run_command(
      "/proc/" + std::to_string(::getpid()) +
      "/exe --gtest_also_run_disabled_tests "
      "--gtest_filter=DeadlockChild.DISABLED_PossibleDeadlockWhileAThreadIsAlive 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("[  PASSED  ] 1 test"), std::string::npos) << r.output;
  std::size_t warnings = 0;
  for (std::size_t at = r.output.find("possible deadlock: all tasks blocked for");
       at != std::string::npos; at = r.output.find("possible deadlock: all tasks blocked for", at + 1))
    ++warnings;
  EXPECT_EQ(warnings, 1u) << r.output;
  EXPECT_NE(r.output.find("[warning]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 other thread is alive outside goro calls"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("goro::run waiting for its main task"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("deadlock!"), std::string::npos) << r.output;
}

}  // namespace
