// goro::async and goro::Future: values, exceptions (never reaching the panic policy),
// void and move-only results, get() from plain threads, wait_for with short, zero and
// unbounded durations, a Future dropped without get(), get() shown in diag at its line,
// and the task unwound by run() before it could deliver.
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;
using goro::Channel;
using goro::diag::WaitReason;

TEST(Future, ReturnsTheValue) {
  goro::run([] {
    goro::Future<int> f = goro::async([] { return 6 * 7; });
    EXPECT_TRUE(f.valid());
    EXPECT_EQ(f.get(), 42);
    EXPECT_FALSE(f.valid());
    EXPECT_FALSE(f.ready());
  });
}

TEST(Future, RethrowsTheTasksExceptionInsteadOfPanicking) {
  // The default panic policy terminates: reaching it would kill this test.
  goro::run([] {
    auto f = goro::async([]() -> std::string { throw std::runtime_error("no such page"); });
    try {
      f.get();
      ADD_FAILURE() << "get() returned";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "no such page");
    }
  });
}

TEST(Future, VoidAndMoveOnlyResults) {
  goro::run([] {
    std::atomic<bool> ran{false};
    goro::Future<void> done = goro::async([&ran] { ran = true; });
    done.get();
    EXPECT_TRUE(ran.load());

    goro::Future<std::unique_ptr<int>> boxed = goro::async([] { return std::make_unique<int>(7); });
    goro::Future<std::unique_ptr<int>> moved = std::move(boxed);
    EXPECT_FALSE(boxed.valid());
    std::unique_ptr<int> p = moved.get();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, 7);

    auto failing = goro::async([] { throw std::out_of_range("void task failed"); });
    EXPECT_THROW(failing.get(), std::out_of_range);

    struct NoDefault {
      explicit NoDefault(int v) : value(v) {}
      int value;
    };
    EXPECT_EQ(goro::async([] { return NoDefault(4); }).get().value, 4);
    // An exception_ptr as the value is a value, not a failure.
    auto carried = goro::async([] { return std::make_exception_ptr(std::runtime_error("data")); });
    EXPECT_NE(carried.get(), nullptr);
  });
}

TEST(Future, GetTwiceOrWithoutAResultIsALogicError) {
  goro::run([] {
    auto f = goro::async([] { return 1; });
    EXPECT_EQ(f.get(), 1);
    EXPECT_THROW(f.get(), std::logic_error);
    goro::Future<int> empty;
    EXPECT_FALSE(empty.valid());
    EXPECT_THROW(empty.get(), std::logic_error);
    EXPECT_THROW(empty.wait_for(1ms), std::logic_error);
  });
}

TEST(Future, PlainThreadGetBlocksUntilTheTaskEnds) {
  Channel<int> gate;
  goro::Future<int> f = goro::async([gate]() mutable { return *gate.recv() + 1; });
  gt::settle();
  EXPECT_FALSE(f.ready());
  std::thread opener([gate]() mutable { gate.send(41); });
  EXPECT_EQ(f.get(), 42);  // this plain thread blocks here
  opener.join();
}

TEST(Future, WaitForTimesOutThenSeesTheResult) {
  Channel<int> gate;
  goro::Future<int> f = goro::async([gate]() mutable { return *gate.recv(); });
  EXPECT_FALSE(f.wait_for(0ms));
  EXPECT_FALSE(f.wait_for(-5s));  // negative: zero
  EXPECT_FALSE(f.wait_for(5ms));
  EXPECT_FALSE(f.ready());
  gate.send(5);
  // Far beyond the clock's range: saturates to "no deadline" instead of wrapping.
  EXPECT_TRUE(f.wait_for(std::chrono::hours::max()));
  EXPECT_TRUE(f.ready());
  EXPECT_TRUE(f.wait_until(std::chrono::steady_clock::time_point::min()));
  EXPECT_EQ(f.get(), 5);
}

TEST(Future, WaitForInsideATask) {
  goro::run([] {
    Channel<int> gate;
    auto f = goro::async([gate]() mutable { return *gate.recv(); });
    EXPECT_FALSE(f.wait_for(2ms));
    goro::go_spawn([gate]() mutable { gate.send(9); });
    EXPECT_TRUE(f.wait_until(std::chrono::steady_clock::now() + gt::kWatchdog));
    EXPECT_EQ(f.get(), 9);
  });
}

TEST(Future, DroppedWithoutGetStillRunsAndFreesItsResult) {
  const long before = gt::Counted::live().load();
  Channel<int> finished(1);
  {
    goro::Future<gt::Counted> f = goro::async([finished]() mutable {
      gt::Counted value(3);
      finished.send(1);
      return value;
    });
  }  // dropped while the task may still run
  GT_ASSERT_RECV(done, finished);
  EXPECT_EQ(done, 1);
  EXPECT_TRUE(gt::eventually([&] { return gt::Counted::live().load() == before; }))
      << "the dropped Future's result was never destroyed";
}

TEST(Future, GetIsShownAsAChannelReceiveAtItsLine) {
  goro::run([] {
    Channel<int> gate;
    Channel<int> got(1);
    auto inner = std::make_shared<goro::Future<int>>(
        goro::async([gate]() mutable { return *gate.recv(); }));
    const unsigned line = __LINE__ + 2;
    const goro::TaskId waiter = goro::go_spawn([inner, got]() mutable {
      got.send(inner->get());
    });
    ASSERT_TRUE(gt::wait_blocked(waiter, WaitReason::chan_recv));
    auto info = gt::task_info(waiter);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->wait_site.line(), line);
    EXPECT_NE(std::string(info->wait_site.file_name()).find("future_test.cpp"), std::string::npos);
    gate.send(8);
    GT_ASSERT_RECV(v, got);
    EXPECT_EQ(v, 8);
  });
}

TEST(Future, AsyncWithSpawnOptionsNamesTheTask) {
  goro::run([] {
    Channel<int> gate;
    auto f = goro::async({.name = "page fetch"}, [gate]() mutable { return *gate.recv(); });
    bool named = gt::eventually([] {
      for (const auto& t : goro::diag::tasks())
        if (t.name == "page fetch") return true;
      return false;
    });
    EXPECT_TRUE(named);
    gate.send(1);
    EXPECT_EQ(f.get(), 1);
  });
}

TEST(Future, TaskUnwoundByRunBreaksTheFuture) {
  goro::Future<int> f;
  goro::Config cfg;
  cfg.leak_policy = goro::LeakPolicy::off;
  goro::run(
      [&f] {
        f = goro::async([] {
          Channel<int> never;
          return *never.recv();  // still blocked when run() ends: unwound
        });
      },
      cfg);
  EXPECT_TRUE(f.ready());
  EXPECT_THROW(f.get(), goro::BrokenFuture);
}

}  // namespace
