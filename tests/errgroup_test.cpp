// goro::ErrGroup (Go's errgroup.WithContext): wait for all, the first error wins and
// cancels the group's context, tasks taking the context, parent cancellation, set_limit
// bounding concurrency (go() parks as `semaphore` at its line), try_go, limit changes
// while tasks run, and the group's name on its tasks.
#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>

#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using goro::diag::WaitReason;

// Parks until ctx is cancelled.
void await_cancel(const goro::Context& ctx) {
  std::optional<std::monostate> closed;
  goro::select(goro::recv_case(ctx.done(), closed));
}

TEST(ErrGroup, WaitsForEveryTask) {
  goro::run([] {
    goro::ErrGroup group;
    std::atomic<int> ran{0};
    for (int i = 0; i < 20; ++i) group.go([&ran] { ran.fetch_add(1); });
    group.wait();
    EXPECT_EQ(ran.load(), 20);
    EXPECT_EQ(group.context().err(), goro::ContextError::canceled);  // wait() cancels, as Go
  });
}

TEST(ErrGroup, FirstErrorWinsAndCancelsTheContext) {
  goro::run([] {
    goro::ErrGroup group;
    // These fail only after the first failure cancelled the context.
    for (int i = 0; i < 5; ++i)
      group.go([](goro::Context ctx) {
        await_cancel(ctx);
        throw std::runtime_error("later failure");
      });
    group.go([] { throw std::runtime_error("first failure"); });
    try {
      group.wait();
      ADD_FAILURE() << "wait() did not rethrow";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "first failure");
    }
    EXPECT_EQ(group.context().err(), goro::ContextError::canceled);
    EXPECT_THROW(group.wait(), std::runtime_error);  // every wait() reports it
  });
}

TEST(ErrGroup, ContextIsAChildOfTheParent) {
  goro::run([] {
    auto [parent, cancel_parent] = goro::with_cancel(goro::Context::background());
    goro::ErrGroup group(parent);
    std::atomic<int> saw_cancel{0};
    for (int i = 0; i < 3; ++i)
      group.go([&saw_cancel](goro::Context ctx) {
        await_cancel(ctx);
        saw_cancel.fetch_add(1);
      });
    EXPECT_FALSE(group.context().cancelled());
    cancel_parent();
    group.wait();  // no task failed
    EXPECT_EQ(saw_cancel.load(), 3);
    EXPECT_TRUE(parent.cancelled());
  });
}

TEST(ErrGroup, FailureDoesNotCancelTheParent) {
  goro::run([] {
    auto [parent, cancel_parent] = goro::with_cancel(goro::Context::background());
    goro::ErrGroup group(parent);
    group.go([] { throw std::logic_error("bad input"); });
    EXPECT_THROW(group.wait(), std::logic_error);
    EXPECT_FALSE(parent.cancelled());
    cancel_parent();
  });
}

TEST(ErrGroup, SetLimitBoundsConcurrency) {
  goro::run(
      [] {
        constexpr int kLimit = 3;
        goro::ErrGroup group;
        group.set_limit(kLimit);
        std::atomic<int> active{0}, max_active{0}, ran{0};
        for (int i = 0; i < 30; ++i)
          group.go([&] {
            const int now = active.fetch_add(1) + 1;
            int seen = max_active.load();
            while (now > seen && !max_active.compare_exchange_weak(seen, now)) {
            }
            goro::yield();
            goro::sleep_for(100us);
            active.fetch_sub(1);
            ran.fetch_add(1);
          });
        group.wait();
        EXPECT_EQ(ran.load(), 30);
        EXPECT_LE(max_active.load(), kLimit);
        EXPECT_GE(max_active.load(), 1);
      },
      {.workers = 2});
}

TEST(ErrGroup, GoParksAsSemaphoreAtItsLineWhileTheLimitIsReached) {
  goro::run([] {
    goro::ErrGroup group;
    group.set_limit(2);
    Channel<int> gate;
    for (int i = 0; i < 2; ++i) group.go([gate]() mutable { (void)gate.recv(); });
    Channel<int> started(1);
    const unsigned line = __LINE__ + 2;
    const goro::TaskId spawner = goro::go_spawn([&group, gate, started]() mutable {
      group.go([gate]() mutable { (void)gate.recv(); });
      started.send(1);
    });
    ASSERT_TRUE(gt::wait_blocked(spawner, WaitReason::semaphore));
    auto info = gt::task_info(spawner);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->wait_site.line(), line);
    EXPECT_FALSE(group.try_go([] {}));
    gate.close();  // every task ends; the parked go() starts its task
    GT_ASSERT_RECV(s, started);
    EXPECT_EQ(s, 1);
    group.wait();
    EXPECT_TRUE(group.try_go([] {}));
    group.wait();
  });
}

TEST(ErrGroup, ChangingTheLimitWhileTasksRunIsALogicError) {
  goro::run([] {
    goro::ErrGroup group;
    Channel<int> gate;
    group.go([gate]() mutable { (void)gate.recv(); });
    EXPECT_THROW(group.set_limit(4), std::logic_error);
    gate.close();
    group.wait();
    group.set_limit(4);  // nothing runs now
    group.set_limit(-1);
  });
}

TEST(ErrGroup, ALimitOfZeroStartsNothing) {
  goro::run([] {
    goro::ErrGroup group;
    group.set_limit(0);
    EXPECT_FALSE(group.try_go([] {}));
    EXPECT_THROW(group.go([] {}), std::logic_error);
    group.set_limit(-1);
    group.go([] {});
    group.wait();
  });
}

TEST(ErrGroup, TasksAreNamedForTheirGroup) {
  goro::run([] {
    goro::ErrGroup group;
    Channel<int> gate;
    group.go([gate]() mutable { (void)gate.recv(); });
    group.go({.name = "custom"}, [gate]() mutable { (void)gate.recv(); });
    std::string name;
    bool custom = false;
    ASSERT_TRUE(gt::eventually([&] {
      int found = 0;
      for (const auto& t : goro::diag::tasks()) {
        if (t.name.rfind("errgroup ", 0) == 0) { name = t.name; ++found; }
        if (t.name == "custom") { custom = true; ++found; }
      }
      return found == 2;
    }));
    EXPECT_TRUE(custom);
    EXPECT_EQ(name.substr(name.size() - 2), "/1") << name;
    gate.close();
    group.wait();
  });
}

TEST(ErrGroup, WorksFromAPlainThread) {
  goro::ErrGroup group;
  std::atomic<int> ran{0};
  group.set_limit(2);
  for (int i = 0; i < 8; ++i) group.go([&ran] { ran.fetch_add(1); });  // may block this thread
  group.go([] { throw std::runtime_error("from a task"); });
  EXPECT_THROW(group.wait(), std::runtime_error);
  EXPECT_EQ(ran.load(), 8);
}

}  // namespace
