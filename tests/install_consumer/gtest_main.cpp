// Uses the installed goro::gtest_main: its main() installs goro's leak
// listener and environment; this test spawns a task that finishes, so no leak.
#include <goro/goro.hpp>
#include <goro/testing.hpp>

#include <gtest/gtest.h>

TEST(InstalledGoro, ChannelRoundTripLeavesNoTask) {
  goro::Channel<int> ch(1);
  goro::WaitGroup wg;
  wg.add();
  goro::go_spawn([ch, &wg]() mutable {
    ch.send(7);
    wg.done();
  });
  wg.wait();
  EXPECT_EQ(ch.recv(), std::optional<int>(7));
  GORO_EXPECT_NO_LEAKS();
}
