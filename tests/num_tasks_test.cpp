// goro::num_tasks (Go's runtime.NumGoroutine): counts every live task, blocked or not,
// across runtimes, and goes back down as tasks end.
#include <vector>

#include "goro_test.hpp"

namespace {

using goro::Channel;

TEST(NumTasks, CountsLiveTasksAndDropsAsTheyEnd) {
  goro::run([] {
    const std::size_t before = goro::num_tasks();
    EXPECT_GE(before, 1u);  // this task
    Channel<int> gate;
    goro::WaitGroup ended;
    for (int i = 0; i < 5; ++i) {
      ended.add(1);
      goro::go_spawn([gate, &ended]() mutable {
        (void)gate.recv();
        ended.done();
      });
    }
    EXPECT_EQ(goro::num_tasks(), before + 5);  // counted from the spawn on
    gate.close();
    ended.wait();
    EXPECT_TRUE(gt::eventually([&] { return goro::num_tasks() == before; }));
  });
}

TEST(NumTasks, SumsOverRuntimesAndPlainThreadSpawns) {
  Channel<int> gate;
  Channel<int> started(3);
  goro::WaitGroup ended;
  for (int i = 0; i < 3; ++i) {
    ended.add(1);
    goro::go_spawn([gate, started, &ended]() mutable {  // the default runtime
      started.send(1);
      (void)gate.recv();
      ended.done();
    });
  }
  EXPECT_EQ(gt::drain_n(started, 3), 3u);
  goro::run([] {
    EXPECT_GE(goro::num_tasks(), 4u);  // three in the default runtime, plus this one
  });
  gate.close();
  ended.wait();
  EXPECT_TRUE(gt::eventually([] { return goro::num_tasks() == 0; }));
  EXPECT_EQ(goro::diag::count_by_reason().size(), 0u);
}

}  // namespace
