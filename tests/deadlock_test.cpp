// Deadlock detection: a plain thread blocked in a goro call while every task is asleep
// gets goro::Deadlock (with the dump) instead of hanging; run() whose main task can
// never finish throws it too. Grace period: GORO_DEADLOCK_MS (set small here).
#include <cstdlib>

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

}  // namespace
