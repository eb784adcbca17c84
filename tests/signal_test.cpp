// goro::notify_signals / stop_signals: raise(2) delivers to every subscribed channel,
// never blocks on a full one, and a stopped channel gets nothing more.
#include <goro/signal.hpp>

#include <signal.h>

#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;

TEST(Signals, ARaisedSignalArrivesOnTheChannelInATask) {
  goro::run([] {
    goro::Channel<int> signals(1);
    goro::notify_signals(signals, {SIGUSR1});
    ASSERT_EQ(::raise(SIGUSR1), 0);
    auto got = gt::recv_for(signals);
    ASSERT_FALSE(got.timed_out);
    EXPECT_EQ(got.value, SIGUSR1);
    goro::stop_signals(signals);
  });
}

TEST(Signals, DeliveriesNeverBlockOnAChannelNobodyReads) {
  goro::Channel<int> unread;  // unbuffered, no receiver: every delivery to it is dropped
  goro::Channel<int> read(4);
  goro::notify_signals(unread, {SIGUSR1, SIGUSR2});
  goro::notify_signals(read, {SIGUSR2});
  for (int i = 0; i < 3; ++i) ASSERT_EQ(::raise(SIGUSR1), 0);
  ASSERT_EQ(::raise(SIGUSR2), 0);
  auto got = gt::recv_for(read);
  ASSERT_FALSE(got.timed_out) << "the dispatcher blocked on the unread channel";
  EXPECT_EQ(got.value, SIGUSR2);
  goro::stop_signals(unread);
  goro::stop_signals(read);
}

TEST(Signals, AStoppedChannelGetsNothingMore) {
  goro::Channel<int> stopped(4), kept(4);
  goro::notify_signals(stopped, {SIGUSR1});  // subscribed first: served first
  goro::notify_signals(kept, {SIGUSR1});
  goro::stop_signals(stopped);
  ASSERT_EQ(::raise(SIGUSR1), 0);
  auto got = gt::recv_for(kept);
  ASSERT_FALSE(got.timed_out);
  EXPECT_EQ(got.value, SIGUSR1);
  EXPECT_EQ(stopped.size(), 0u);
  goro::stop_signals(kept);
}

TEST(Signals, UncatchableAndFaultSignalsAreRejected) {
  goro::Channel<int> ch(1);
  EXPECT_THROW(goro::notify_signals(ch, {SIGKILL}), std::invalid_argument);
  EXPECT_THROW(goro::notify_signals(ch, {SIGSEGV}), std::invalid_argument);
  EXPECT_THROW(goro::notify_signals(ch, {0}), std::invalid_argument);
  EXPECT_THROW(goro::notify_signals(ch, {100000}), std::invalid_argument);
}

}  // namespace
