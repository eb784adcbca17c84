// goro::notify_signals / stop_signals: a process-directed signal (kill(getpid())) or a
// raised one delivers to every subscribed channel, through goro's handler or, when the
// signal is blocked in every thread, through the signalfd; delivery never blocks on a
// full channel, and a stopped channel gets nothing more.
#include <goro/signal.hpp>

#include <signal.h>
#include <unistd.h>

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <string>

#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;

TEST(Signals, AProcessDirectedSignalArrivesOnTheChannelInATask) {
  goro::run([] {
    goro::Channel<int> signals(1);
    goro::notify_signals(signals, {SIGUSR1});
    ASSERT_EQ(::kill(::getpid(), SIGUSR1), 0);
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
  for (int i = 0; i < 3; ++i) ASSERT_EQ(::kill(::getpid(), SIGUSR1), 0);
  ASSERT_EQ(::kill(::getpid(), SIGUSR2), 0);
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

TEST(Signals, ARaisedSignalArrivesThroughTheHandler) {
  goro::Channel<int> signals(1);
  goro::notify_signals(signals, {SIGUSR2});
  ASSERT_EQ(::raise(SIGUSR2), 0);  // this thread does not block it: the handler runs here
  auto got = gt::recv_for(signals);
  ASSERT_FALSE(got.timed_out);
  EXPECT_EQ(got.value, SIGUSR2);
  goro::stop_signals(signals);
}

// Whether every thread of this process blocks sig (/proc/self/task/*/status, SigBlk).
bool blocked_in_every_thread(int sig, int* threads) {
  *threads = 0;
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return false;
  bool all = true;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream status(std::string("/proc/self/task/") + e->d_name + "/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("SigBlk:", 0) != 0) continue;
      const unsigned long long mask = std::stoull(line.substr(7), nullptr, 16);
      all &= ((mask >> (sig - 1)) & 1) != 0;
      ++*threads;
    }
  }
  ::closedir(dir);
  return all;
}

// Run by the test below in a child process started with SIGUSR1 blocked, so that every
// thread (gtest's, goro's workers) inherits the block: no handler can run, and the
// signal reaches the channel only through the signalfd.
TEST(SignalsChild, DISABLED_BlockedInEveryThread) {
  sigset_t mask;
  ASSERT_EQ(::pthread_sigmask(SIG_SETMASK, nullptr, &mask), 0);
  ASSERT_TRUE(sigismember(&mask, SIGUSR1)) << "started without SIGUSR1 blocked";
  goro::Channel<int> signals(1);
  goro::notify_signals(signals, {SIGUSR1});
  int threads = 0;
  ASSERT_TRUE(blocked_in_every_thread(SIGUSR1, &threads));
  ASSERT_GT(threads, 1);
  ASSERT_EQ(::kill(::getpid(), SIGUSR1), 0);
  auto got = gt::recv_for(signals);
  ASSERT_FALSE(got.timed_out) << "a signal blocked in every thread never arrived";
  EXPECT_EQ(got.value, SIGUSR1);
  EXPECT_TRUE(blocked_in_every_thread(SIGUSR1, &threads)) << "goro unblocked it somewhere";
  goro::stop_signals(signals);
  std::printf("delivered through the signalfd to the channel\n");
}

TEST(Signals, ASignalBlockedInEveryThreadArrivesThroughTheSignalfd) {
  // Started directly (no shell, which could reset the mask) with SIGUSR1 blocked.
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  posix_spawnattr_setsigmask(&attr, &usr1);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  const std::string exe = "/proc/" + std::to_string(::getpid()) + "/exe";
  std::string a1 = "--gtest_also_run_disabled_tests";
  std::string a2 = "--gtest_filter=SignalsChild.DISABLED_BlockedInEveryThread";
  char* argv[] = {const_cast<char*>(exe.c_str()), a1.data(), a2.data(), nullptr};
  pid_t child = -1;
  const int spawned = ::posix_spawn(&child, exe.c_str(), &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out[1]);
  ASSERT_EQ(spawned, 0);
  std::string output;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_NE(output.find("[  PASSED  ] 1 test"), std::string::npos) << output;
  EXPECT_NE(output.find("delivered through the signalfd"), std::string::npos) << output;
}

}  // namespace
