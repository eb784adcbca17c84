// goro::io: tasks park on fd readiness (pipes, socketpairs, eventfds) and their worker
// runs other tasks; deadlines, close, many waiters, plain threads, busy runtimes.
#include <goro/io.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <sstream>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "goro/blocking.hpp"
#include "goro/metrics.hpp"
#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;
using goro::diag::WaitReason;
using gt::Clock;

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
};

void write_byte(int fd, char c = 'x') { ASSERT_EQ(::write(fd, &c, 1), 1); }

// read(2), or -errno. errno is read in a function that never waits: after a wait the
// task may run on another thread, and the caller's loop may have kept the address of the
// first thread's errno (__errno_location() is declared const). docs/api.md: "errno and
// waiting".
[[gnu::noinline]] ssize_t read_or_errno(int fd, char* buf, std::size_t n) {
  const ssize_t r = ::read(fd, buf, n);
  return r >= 0 ? r : -errno;
}

// Reads one byte, waiting through the poller while the fd is empty.
char read_byte(int fd) {
  char c = 0;
  for (;;) {
    const ssize_t n = read_or_errno(fd, &c, 1);
    if (n == 1) return c;
    if (n < 0 && n != -EAGAIN) throw std::system_error(static_cast<int>(-n), std::generic_category(), "read");
    if (!goro::io::wait_readable(fd, Clock::now() + gt::kWatchdog)) throw std::runtime_error("read_byte: watchdog");
  }
}

goro::Config workers(unsigned n) {
  goro::Config cfg;
  cfg.workers = n;
  return cfg;
}

class IoWorkers : public ::testing::TestWithParam<unsigned> {};
INSTANTIATE_TEST_SUITE_P(Procs, IoWorkers, ::testing::Values(1u, 2u));

TEST_P(IoWorkers, PipeReadinessWakesTheWaitingTask) {
  Pipe p;
  goro::run([&] {
    goro::Channel<char> got(1);
    const goro::TaskId reader = goro::go_spawn([&] { got.send(read_byte(p.r)); });
    ASSERT_TRUE(gt::wait_blocked(reader, WaitReason::io_wait));
    write_byte(p.w, 'a');
    auto r = gt::recv_for(got);
    ASSERT_FALSE(r.timed_out);
    EXPECT_EQ(r.value, 'a');
  }, workers(GetParam()));
}

TEST_P(IoWorkers, SocketpairWriterWaitsForRoomAndReaderForData) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  goro::run([&] {
    // Fill the socket buffer until the kernel says EAGAIN.
    std::array<char, 4096> chunk{};
    std::size_t filled = 0;
    for (;;) {
      const ssize_t n = ::write(sv[0], chunk.data(), chunk.size());
      if (n < 0) break;
      filled += static_cast<std::size_t>(n);
    }
    ASSERT_EQ(errno, EAGAIN);
    goro::Channel<bool> writable(1);
    const goro::TaskId writer = goro::go_spawn([&] {
      writable.send(goro::io::wait_writable(sv[0], Clock::now() + gt::kWatchdog));
    });
    ASSERT_TRUE(gt::wait_blocked(writer, WaitReason::io_wait));
    // Drain from a task that itself waits for data through the poller.
    std::size_t drained = 0;
    while (drained < filled) {
      const ssize_t n = ::read(sv[1], chunk.data(), chunk.size());
      if (n > 0) {
        drained += static_cast<std::size_t>(n);
        continue;
      }
      ASSERT_TRUE(goro::io::wait_readable(sv[1], Clock::now() + gt::kWatchdog));
    }
    auto r = gt::recv_for(writable);
    ASSERT_FALSE(r.timed_out);
    EXPECT_EQ(r.value, true);
  }, workers(GetParam()));
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST_P(IoWorkers, EventfdReadableAfterAWrite) {
  const int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(efd, 0);
  goro::run([&] {
    goro::Channel<std::uint64_t> got(1);
    const goro::TaskId reader = goro::go_spawn([&] {
      goro::io::Registration reg(efd);
      std::uint64_t value = 0;
      while (::read(efd, &value, sizeof value) != sizeof value)
        ASSERT_TRUE(goro::io::wait_readable(efd, Clock::now() + gt::kWatchdog));
      got.send(value);
    });
    ASSERT_TRUE(gt::wait_blocked(reader, WaitReason::io_wait));
    const std::uint64_t seven = 7;
    ASSERT_EQ(::write(efd, &seven, sizeof seven), static_cast<ssize_t>(sizeof seven));
    auto r = gt::recv_for(got);
    ASSERT_FALSE(r.timed_out);
    EXPECT_EQ(r.value, 7u);
  }, workers(GetParam()));
  ::close(efd);
}

TEST_P(IoWorkers, PastDeadlineTimesOutAtOnceAndAFutureOneExpires) {
  Pipe p;
  goro::run([&] {
    EXPECT_FALSE(goro::io::wait_readable(p.r, Clock::now() - 1s));
    EXPECT_FALSE(goro::io::wait_readable(p.r, Clock::time_point::min()));
    EXPECT_FALSE(goro::io::wait_readable(p.r, Clock::now() + 20ms));
    // Ready with a past deadline: poll(2)'s answer, true.
    write_byte(p.w);
    EXPECT_TRUE(goro::io::wait_readable(p.r, Clock::now() - 1s));
    EXPECT_TRUE(goro::io::wait_writable(p.w, Clock::now() + 20ms));
  }, workers(GetParam()));
}

TEST_P(IoWorkers, CloseFromAnotherTaskWakesTheWaiterWithClosed) {
  Pipe p;
  goro::run([&] {
    goro::Channel<std::string> outcome(1);
    const goro::TaskId reader = goro::go_spawn([&] {
      try {
        (void)goro::io::wait_readable(p.r, Clock::now() + gt::kWatchdog);
        outcome.send("returned");
      } catch (const goro::io::Closed& e) {
        outcome.send(std::string("closed: ") + e.what());
      }
    });
    ASSERT_TRUE(gt::wait_blocked(reader, WaitReason::io_wait));
    goro::io::close(p.r);
    p.r = -1;
    auto r = gt::recv_for(outcome);
    ASSERT_FALSE(r.timed_out);
    EXPECT_EQ(r.value->rfind("closed: ", 0), 0u) << *r.value;
    EXPECT_NE(r.value->find("io_test.cpp"), std::string::npos) << "names the waiting line: " << *r.value;
  }, workers(GetParam()));
}

TEST_P(IoWorkers, CloseFromAPlainThreadWakesTheWaiterWithClosed) {
  Pipe p;
  goro::run([&] {
    goro::Channel<bool> closed(1);
    const goro::TaskId reader = goro::go_spawn([&] {
      try {
        (void)goro::io::wait_readable(p.r, Clock::now() + gt::kWatchdog);
        closed.send(false);
      } catch (const goro::io::Closed&) {
        closed.send(true);
      }
    });
    ASSERT_TRUE(gt::wait_blocked(reader, WaitReason::io_wait));
    std::thread closer([fd = p.r] { goro::io::close(fd); });
    closer.join();
    p.r = -1;
    auto r = gt::recv_for(closed);
    ASSERT_FALSE(r.timed_out) << "the waiter was not woken by a close on a plain thread";
    EXPECT_EQ(r.value, true);
  }, workers(GetParam()));
}

TEST(Io, CloseInOneRuntimeWakesAWaiterOfAnother) {
  Pipe p;
  goro::Channel<bool> closed(1);
  std::atomic<goro::TaskId> waiter{0};
  std::thread other([&] {
    goro::run([&] {
      waiter = goro::current_task();
      try {
        (void)goro::io::wait_readable(p.r, Clock::now() + gt::kWatchdog);
        closed.send(false);
      } catch (const goro::io::Closed&) {
        closed.send(true);
      }
    });
  });
  goro::run([&] {
    ASSERT_TRUE(gt::eventually([&] { return waiter.load() != 0; }));
    ASSERT_TRUE(gt::wait_blocked(waiter.load(), WaitReason::io_wait));
    goro::io::close(p.r);
    p.r = -1;
    auto r = gt::recv_for(closed);
    ASSERT_FALSE(r.timed_out) << "the other runtime's waiter was not woken";
    EXPECT_EQ(r.value, true);
  });
  other.join();
}

TEST(Io, RegistrationCloseWakesTheWaiterAndLaterWaitsThrowClosed) {
  Pipe p;
  goro::run([&] {
    goro::io::Registration reg(p.r);
    goro::Channel<bool> closed(1);
    const goro::TaskId reader = goro::go_spawn([&] {
      try {
        (void)goro::io::wait_readable(p.r);
        closed.send(false);
      } catch (const goro::io::Closed&) {
        closed.send(true);
      }
    });
    ASSERT_TRUE(gt::wait_blocked(reader, WaitReason::io_wait));
    const int fd = p.r;
    reg.close();
    p.r = -1;
    auto r = gt::recv_for(closed);
    ASSERT_FALSE(r.timed_out);
    EXPECT_EQ(r.value, true);
    EXPECT_EQ(reg.fd(), -1);
    EXPECT_THROW((void)goro::io::wait_readable(fd), goro::io::Closed) << "a wait after the close";
  });
}

TEST(Io, TwoTasksWaitingOnOneFdAndDirectionIsAUsageError) {
  Pipe p;
  goro::run([&] {
    const goro::TaskId first = goro::go_spawn([&] {
      try {
        (void)goro::io::wait_readable(p.r);
      } catch (const goro::io::Closed&) {
      }
    });
    ASSERT_TRUE(gt::wait_blocked(first, WaitReason::io_wait));
    EXPECT_THROW((void)goro::io::wait_readable(p.r), std::logic_error);
    goro::io::close(p.r);
    p.r = -1;
    EXPECT_TRUE(gt::eventually([&] { return !gt::task_info(first); }));
  });
}

TEST(Io, ARegularFileCannotBePolledAndSaysWhatToUse) {
  char path[] = "/tmp/goro_io_test_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  goro::run([&] {
    try {
      (void)goro::io::wait_readable(fd, Clock::now() + 1s);
      ADD_FAILURE() << "a regular file was polled";
    } catch (const std::system_error& e) {
      EXPECT_NE(std::string(e.what()).find("goro::blocking"), std::string::npos) << e.what();
    }
  });
  ::close(fd);
}

// 10,000 where RLIMIT_NOFILE's hard limit allows 20,000 fds and a few more; as many as it
// allows otherwise (at least 1,000; else skipped, saying why).
TEST(Io, TenThousandTasksEachOnItsOwnPipeAllWake) {
  constexpr rlim_t kSpare = 64;  // stdio, the poller's epoll and eventfd, gtest's files
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  lim.rlim_cur = lim.rlim_max;  // soft up to hard
  (void)::setrlimit(RLIMIT_NOFILE, &lim);
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  const rlim_t allowed = lim.rlim_cur > kSpare ? (lim.rlim_cur - kSpare) / 2 : 0;
  if (allowed < 1000)
    GTEST_SKIP() << "needs 2 fds per task; RLIMIT_NOFILE (hard limit " << lim.rlim_max
                 << ") allows fewer than 1,000 pipes: raise it with ulimit -n";
  const int tasks = gt::live_tasks(static_cast<int>(std::min<rlim_t>(10'000, allowed)));
  if (tasks < 10'000) std::printf("note: %d tasks (RLIMIT_NOFILE hard limit %lu)\n", tasks, static_cast<unsigned long>(lim.rlim_max));
  std::vector<std::unique_ptr<Pipe>> pipes;
  for (int i = 0; i < tasks; ++i) pipes.push_back(std::make_unique<Pipe>());
  goro::run([&] {
    goro::WaitGroup parked, woken;
    std::atomic<int> got{0};
    std::atomic<int> entered{0};
    woken.add(tasks);
    for (int i = 0; i < tasks; ++i) {
      goro::go_spawn([&, i] {
        entered.fetch_add(1);
        if (read_byte(pipes[i]->r) == 'w') got.fetch_add(1);
        woken.done();
      });
    }
    ASSERT_TRUE(gt::eventually([&] {
      if (entered.load() < tasks) return false;
      int in_io = 0;
      for (const auto& t : goro::diag::tasks()) in_io += t.reason == WaitReason::io_wait;
      return in_io == tasks;
    }));
    for (int i = 0; i < tasks; ++i) write_byte(pipes[i]->w, 'w');
    woken.wait();
    EXPECT_EQ(got.load(), tasks);
  }, workers(2));
}

// One side ping-pongs over a channel and never lets its worker idle; the other over
// two pipes through the poller. Both finish: a busy runtime still polls.
TEST_P(IoWorkers, PipeWaitersProgressBesideABusyChannelPingPong) {
  Pipe there, back;
  // With one worker every IO round trip waits for the busy worker's periodic poll.
  const int rounds = GetParam() == 1 ? gt::scaled(200, 20) : gt::scaled(2000, 50);
  goro::run([&] {
    std::atomic<bool> stop{false};
    std::atomic<long> channel_rounds{0};
    goro::WaitGroup done;
    done.add(3);
    goro::Channel<int> ping, pong;
    goro::go_spawn([&] {
      while (!stop.load()) {
        ping.send(1);
        (void)pong.recv();
        channel_rounds.fetch_add(1);
      }
      ping.close();
      done.done();
    });
    goro::go_spawn([&] {
      while (ping.recv()) pong.send(1);
      done.done();
    });
    goro::go_spawn([&] {
      for (int i = 0; i < rounds; ++i) {
        write_byte(there.w);
        (void)read_byte(back.r);
      }
      stop.store(true);
      done.done();
    });
    for (int i = 0; i < rounds; ++i) {
      (void)read_byte(there.r);
      write_byte(back.w);
    }
    done.wait();
    EXPECT_GT(channel_rounds.load(), 0);
  }, workers(GetParam()));
}

// A worker out of work polls fds before it steals, so while a ping-pong over pipes keeps
// its polls fruitful it never reaches steal(). A task queued behind a worker whose thread
// sits in a plain blocking system call must still run (taken from the stopped worker):
// here it is the task that ends that system call.
TEST(Io, ATaskQueuedOnAWorkerBlockedInASyscallRunsWhileTheOtherWorkerPollsForIo) {
  Pipe there, back, gate;
  goro::run([&] {
    std::atomic<bool> stop{false};
    std::atomic<long> rounds{0};
    goro::WaitGroup done;
    done.add(2);
    goro::go_spawn([&] {
      while (!stop.load()) {
        write_byte(there.w, 'p');
        (void)read_byte(back.r);
        rounds.fetch_add(1);
      }
      write_byte(there.w, 'q');
      done.done();
    });
    goro::go_spawn([&] {
      while (read_byte(there.r) == 'p') write_byte(back.w, 'p');
      done.done();
    });
    while (rounds.load() < 100) goro::sleep_for(1ms);
    std::atomic<bool> opened_by_task{false};
    goro::go_spawn([&] {  // queued on this worker (its runnext)
      opened_by_task.store(true);
      write_byte(gate.w);
    });
    // Holds this worker's thread, not only this task, until the gate opens.
    pollfd gate_readable{gate.r, POLLIN, 0};
    const auto hang_guard = std::chrono::duration_cast<std::chrono::milliseconds>(gt::kWatchdog);
    const int ready = ::poll(&gate_readable, 1, static_cast<int>(hang_guard.count()));
    stop.store(true);
    done.wait();
    EXPECT_EQ(ready, 1) << "the task queued behind this blocked worker never ran";
    EXPECT_TRUE(opened_by_task.load());
  }, workers(2));
}

TEST(Io, APlainThreadBlocksInPoll) {
  Pipe p;
  std::atomic<int> result{-1};
  std::thread waiter([&] { result = goro::io::wait_readable(p.r, Clock::now() + gt::kWatchdog) ? 1 : 0; });
  gt::settle();
  EXPECT_EQ(result.load(), -1) << "returned before the pipe had data";
  write_byte(p.w);
  waiter.join();
  EXPECT_EQ(result.load(), 1);
  char c;
  ASSERT_EQ(::read(p.r, &c, 1), 1);
  EXPECT_FALSE(goro::io::wait_readable(p.r, Clock::now() + 10ms));
  EXPECT_TRUE(goro::io::wait_writable(p.w));
}

// run()'s end: a task still in IO wait (with a deadline timer pending) is reported and
// unwound like any other; the runtime's registrations go with it, so a later runtime
// waits on the same fd afresh.
TEST(Io, ATaskLeftInIoWaitAtRunsEndIsUnwoundAndTheFdUsableAfter) {
  Pipe p;
  std::atomic<bool> unwound{false};
  goro::Config cfg = workers(2);
  cfg.leak_policy = goro::LeakPolicy::report;
  goro::run([&] {
    const goro::TaskId waiter = goro::go_spawn([&] {
      struct Flag {
        std::atomic<bool>* f;
        ~Flag() { f->store(true); }
      } flag{&unwound};
      goro::io::Registration reg(p.r);
      (void)read_byte(p.r);
    });
    ASSERT_TRUE(gt::wait_blocked(waiter, WaitReason::io_wait));
  }, cfg);
  EXPECT_TRUE(unwound.load());
  goro::run([&] {
    write_byte(p.w, 'z');
    EXPECT_EQ(read_byte(p.r), 'z');
  });
}

// The deadlock detector must not take a task in IO wait for a deadlock: a plain thread
// (outside goro) feeds the pipe after longer than the detector's default grace period.
// The detector learns this from detail::external_waits_in_flight().
TEST(Io, OnlyTaskWaitingOnAPipeFedByAPlainThreadIsNoDeadlock) {
  Pipe p;
  std::thread feeder([&] {
    std::this_thread::sleep_for(1200ms);
    write_byte(p.w, 'f');
  });
  char got = 0;
  EXPECT_NO_THROW(goro::run([&] { got = read_byte(p.r); }, workers(2)));
  feeder.join();
  EXPECT_EQ(got, 'f');
}

// A connected TCP pair on the loopback interface, both ends non-blocking.
struct TcpPair {
  int server = -1, client = -1;
  std::uint16_t server_port = 0, client_port = 0;
  TcpPair() {
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener, 1) != 0 || ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::system_error(errno, std::generic_category(), "listen");
    server_port = ntohs(addr.sin_port);
    client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::system_error(errno, std::generic_category(), "connect");
    server = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    ::close(listener);
    sockaddr_in mine{};
    len = sizeof mine;
    ::getsockname(client, reinterpret_cast<sockaddr*>(&mine), &len);
    client_port = ntohs(mine.sin_port);
    ::fcntl(client, F_SETFL, ::fcntl(client, F_GETFL) | O_NONBLOCK);
  }
  ~TcpPair() {
    if (server >= 0) ::close(server);
    if (client >= 0) ::close(client);
  }
};

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Tasks in IO wait and in a blocking call, as every diagnostic shows them: tasks(), both
// dump formats, find_leaks (alive, never provably leaked), /metrics by reason. A channel
// whose other handle only an IO-waiting task holds does not make its receiver a
// provable leak: the IO wait can end.
TEST(IoDiagnostics, IoWaitAndSyscallTasksShowWithFdAddressesAndSites) {
  TcpPair tcp;
  goro::run([&] {
    goro::Channel<int> held_by_io_task;
    goro::Channel<int> release_call;
    const int wait_line = __LINE__ + 3;
    const goro::TaskId io_task = goro::go_spawn([&, ch = held_by_io_task]() mutable {
      try {
        (void)goro::io::wait_readable(tcp.server);
      } catch (const goro::io::Closed&) {
      }
      ch.close();
    });
    const goro::TaskId receiver = goro::go_spawn([ch = held_by_io_task]() mutable { (void)ch.recv(); });
    held_by_io_task = goro::Channel<int>();  // now only the two tasks hold it
    const int call_line = __LINE__ + 1;
    const goro::TaskId syscall_task = goro::go_spawn([&] { goro::blocking([&] { (void)release_call.recv(); }); });
    ASSERT_TRUE(gt::wait_blocked(io_task, WaitReason::io_wait));
    ASSERT_TRUE(gt::wait_blocked(syscall_task, WaitReason::syscall));
    ASSERT_TRUE(gt::wait_blocked(receiver, WaitReason::chan_recv));

    const std::string detail = "read fd " + std::to_string(tcp.server) + " 127.0.0.1:" +
                               std::to_string(tcp.server_port) + " <- 127.0.0.1:" + std::to_string(tcp.client_port);
    auto info = gt::task_info(io_task);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->wait_detail, detail);
    EXPECT_EQ(info->wait_site.line(), static_cast<unsigned>(wait_line));
    EXPECT_STREQ(info->wait_site.file_name(), __FILE__);
    EXPECT_FALSE(info->leaked);
    auto call = gt::task_info(syscall_task);
    ASSERT_TRUE(call);
    EXPECT_EQ(call->wait_site.line(), static_cast<unsigned>(call_line));

    std::ostringstream dump;
    goro::diag::dump_tasks(dump, goro::diag::tasks());
    EXPECT_NE(dump.str().find("[IO wait, "), std::string::npos) << dump.str();
    EXPECT_NE(dump.str().find("    " + detail + "\n"), std::string::npos) << dump.str();
    EXPECT_NE(dump.str().find("io_test.cpp:" + std::to_string(wait_line)), std::string::npos) << dump.str();
    EXPECT_NE(dump.str().find("[syscall, "), std::string::npos) << dump.str();
    EXPECT_NE(dump.str().find("io_test.cpp:" + std::to_string(call_line)), std::string::npos) << dump.str();
    EXPECT_EQ(dump.str().find("leaked"), std::string::npos) << "nothing here is provably leaked:\n" << dump.str();

    std::ostringstream go_dump;
    goro::diag::DumpOptions go;
    go.format = goro::diag::DumpFormat::go;
    goro::diag::dump_tasks(go_dump, goro::diag::tasks(), go);
    EXPECT_NE(go_dump.str().find("goroutine " + std::to_string(io_task) + " [IO wait]:"), std::string::npos)
        << go_dump.str();
    EXPECT_NE(go_dump.str().find("goroutine " + std::to_string(syscall_task) + " [syscall]:"), std::string::npos)
        << go_dump.str();

    goro::diag::LeakOptions quick;
    quick.max_wait = 20ms;
    bool found_io = false, found_call = false;
    for (const auto& t : goro::diag::find_leaks(quick)) {
      EXPECT_FALSE(t.leaked) << "task " << t.id << " [" << goro::diag::to_string(t.reason) << "]";
      if (t.id == io_task) found_io = t.wait_detail == detail;
      if (t.id == syscall_task) found_call = t.reason == WaitReason::syscall;
    }
    EXPECT_TRUE(found_io);
    EXPECT_TRUE(found_call);
    EXPECT_TRUE(goro::diag::leaked_tasks().empty());

    std::ostringstream metrics;
    goro::diag::write_metrics(metrics);
    EXPECT_EQ(count(metrics.str(), "reason=\"IO wait\"} 1"), 1u) << metrics.str();
    EXPECT_EQ(count(metrics.str(), "reason=\"syscall\"} 1"), 1u) << metrics.str();

    goro::io::close(tcp.server);
    tcp.server = -1;
    release_call.send(1);
    EXPECT_TRUE(gt::eventually([&] { return !gt::task_info(io_task) && !gt::task_info(syscall_task) &&
                                            !gt::task_info(receiver); }));
  });
}

}  // namespace
