// goro::net: TCP, UDP and Unix sockets on the poller — data integrity, partial reads and
// writes, deadlines, close waking waiters, errors, IPv6, plain threads, diagnostics.
#include <goro/net.hpp>

#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "goro/blocking.hpp"
#include "goro_test.hpp"

namespace {

using namespace std::chrono_literals;
using goro::diag::WaitReason;
using gt::Clock;
namespace net = goro::net;

goro::Config workers(unsigned n) {
  goro::Config cfg;
  cfg.workers = n;
  return cfg;
}

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

std::string read_text(net::Conn& c, std::size_t n) {
  std::string s(n, '\0');
  const std::size_t got = c.read_full(std::as_writable_bytes(std::span(s.data(), s.size())));
  s.resize(got);
  return s;
}

// Deterministic bytes: position i of stream `seed`.
std::byte pattern(std::uint64_t seed, std::uint64_t i) {
  std::uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ seed;
  x ^= x >> 29;
  return static_cast<std::byte>(x * 0xBF58476D1CE4E5B9ull >> 56);
}

// FNV-1a over a stream, fed in pieces.
struct Checksum {
  std::uint64_t h = 0xcbf29ce484222325ull;
  void add(std::span<const std::byte> data) {
    for (std::byte b : data) h = (h ^ static_cast<std::uint64_t>(b)) * 0x100000001b3ull;
  }
};

// A listening TCP socket whose accept queue is full, made with plain POSIX calls: the
// kernel drops further SYNs, so a dial to it stays in progress until its timeout,
// whatever the network. The queued connections are kept in `queued`.
struct FullBacklog {
  int fd = -1;
  std::string address;
  std::vector<net::Conn> queued;
  FullBacklog() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 0) != 0)
      throw std::system_error(errno, std::generic_category(), "FullBacklog");
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    address = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  }
  // Dials until one dial times out: true once the queue is full.
  bool fill() {
    for (int i = 0; i < 16; ++i) {
      try {
        queued.push_back(net::dial(address, 200ms));
      } catch (const net::Timeout&) {
        return true;
      }
    }
    return false;
  }
  ~FullBacklog() {
    queued.clear();
    if (fd >= 0) ::close(fd);
  }
};

class NetWorkers : public ::testing::TestWithParam<unsigned> {};
INSTANTIATE_TEST_SUITE_P(Procs, NetWorkers, ::testing::Values(1u, 2u));

TEST_P(NetWorkers, EchoRoundTripReportsBothAddresses) {
  goro::run([&] {
    net::Listener ln = net::listen("127.0.0.1:0");
    ASSERT_EQ(ln.address().rfind("127.0.0.1:", 0), 0u) << ln.address();
    EXPECT_NE(ln.address(), "127.0.0.1:0");
    goro::Channel<std::string> server_saw(1);
    goro::go_spawn([&] {
      net::Conn c = ln.accept();
      server_saw.send(c.remote_address() + " " + c.local_address());
      std::array<std::byte, 64> buf;
      while (std::size_t n = c.read(buf)) c.write(std::span(buf).first(n));
    });
    net::Conn c = net::dial(ln.address());
    EXPECT_EQ(c.remote_address(), ln.address());
    c.write("hello, goro");
    EXPECT_EQ(read_text(c, 11), "hello, goro");
    auto saw = gt::recv_for(server_saw);
    ASSERT_TRUE(saw.value);
    EXPECT_EQ(*saw.value, c.local_address() + " " + ln.address());
    c.close_write();
    std::array<std::byte, 8> rest;
    EXPECT_EQ(c.read(rest), 0u);  // the server saw EOF and returned: its end closed
    EXPECT_GE(c.native_handle(), 0);
    c.close();
    EXPECT_EQ(c.native_handle(), -1);
  }, workers(GetParam()));
}

TEST(Net, LargeTransferOverLoopbackKeepsEveryByte) {
  // 256 MiB; a sanitized build checks 32 MiB (the same code path, eight times faster).
  const std::uint64_t total = gt::kSanitized ? (32ull << 20) : (256ull << 20);
  constexpr std::uint64_t seed = 0x5eed;
  std::uint64_t sent_sum = 0, received_sum = 0, received = 0, first_bad = total;
  goro::run([&] {
    net::Listener ln = net::listen("127.0.0.1:0");
    goro::WaitGroup wg;
    wg.add(1);
    goro::go_spawn([&] {
      net::Conn c = ln.accept();
      std::vector<std::byte> buf(64 << 10);
      Checksum sum;
      while (std::size_t n = c.read(buf)) {
        for (std::size_t i = 0; i < n && first_bad == total; ++i)
          if (buf[i] != pattern(seed, received + i)) first_bad = received + i;
        sum.add(std::span(buf).first(n));
        received += n;
      }
      received_sum = sum.h;
      wg.done();
    });
    net::Conn c = net::dial(ln.address());
    std::mt19937_64 rng(7);
    std::vector<std::byte> chunk(1 << 20);
    Checksum sum;
    for (std::uint64_t off = 0; off < total;) {
      const std::size_t n = std::min<std::uint64_t>(total - off, 1 + rng() % chunk.size());  // odd sizes too
      for (std::size_t i = 0; i < n; ++i) chunk[i] = pattern(seed, off + i);
      c.write(std::span(chunk).first(n));
      sum.add(std::span(chunk).first(n));
      off += n;
    }
    sent_sum = sum.h;
    c.close();
    wg.wait();
  }, workers(2));
  EXPECT_EQ(received, total);
  EXPECT_EQ(received_sum, sent_sum);
  EXPECT_EQ(first_bad, total) << "the first wrong byte";
}

TEST(Net, WriteLargerThanTheSocketBuffersParksUntilTheReaderDrainsIt) {
  goro::run([&] {
    net::Listener ln = net::listen("127.0.0.1:0");
    const std::size_t size = 8 << 20;  // far beyond the loopback send + receive buffers
    std::vector<std::byte> data(size);
    for (std::size_t i = 0; i < size; ++i) data[i] = pattern(3, i);
    goro::Channel<int> written(1);
    const goro::TaskId writer = goro::go_spawn([&] {
      net::Conn c = net::dial(ln.address());
      c.write(data);  // one call: it must send in pieces, parking in between
      written.send(1);
      std::array<std::byte, 1> ack;
      (void)c.read(ack);
    });
    net::Conn s = ln.accept();
    ASSERT_TRUE(gt::wait_blocked(writer, WaitReason::io_wait));
    auto info = gt::task_info(writer);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->wait_detail.rfind("write fd ", 0), 0u) << info->wait_detail;
    // Tiny reads: each returns what is there, at most the buffer.
    std::vector<std::byte> got;
    std::array<std::byte, 7> small;
    for (int i = 0; i < 1000; ++i) {
      const std::size_t n = s.read(std::span(small).first(1 + i % 7));
      ASSERT_GE(n, 1u);
      ASSERT_LE(n, 1u + i % 7);
      got.insert(got.end(), small.begin(), small.begin() + static_cast<std::ptrdiff_t>(n));
    }
    std::vector<std::byte> rest(size - got.size());
    EXPECT_EQ(s.read_full(rest), rest.size());
    got.insert(got.end(), rest.begin(), rest.end());
    EXPECT_TRUE(got == data);
    EXPECT_FALSE(gt::recv_for(written).timed_out);
    s.write("k");
  }, workers(2));
}

TEST(Net, ReadFullStopsAtEndOfStream) {
  goro::run([&] {
    net::Listener ln = net::listen("127.0.0.1:0");
    goro::go_spawn([&] {
      net::Conn c = ln.accept();
      c.write("abc");
    });  // closes: the reader sees the end of the stream
    net::Conn c = net::dial(ln.address());
    std::array<std::byte, 10> buf;
    EXPECT_EQ(c.read_full(buf), 3u);
    EXPECT_EQ(c.read(buf), 0u);
  });
}

// A read that empties the socket (it gets less than it asked for) lets the next read
// wait for the poller's next edge before its recv. Bytes that come later bring that edge;
// the end of the stream that came with the last bytes does not, and must still end the
// next read. One worker: the writer's bytes and its end of stream are both queued before
// the worker polls, so the reader is woken by one edge carrying both.
TEST(Net, ReadAfterAReadThatEmptiedTheSocketSeesLaterBytesAndTheEndOfStream) {
  for (const std::string& address :
       {std::string("127.0.0.1:0"), "unix:@goro-net-drained-" + std::to_string(::getpid())}) {
    SCOPED_TRACE(address);
    goro::run([&] {
      net::Listener ln = net::listen(address);
      net::Conn c = net::dial(ln.address());
      net::Conn s = ln.accept();
      c.set_read_deadline(Clock::now() + 30s);  // a hang guard: a lost edge fails, not hangs
      goro::Channel<int> step;
      goro::go_spawn([&] {
        s.write("ab");
        (void)step.recv();
        s.write("cd");
        (void)step.recv();
        s.write("ef");
        s.close_write();
      });
      std::array<std::byte, 16> buf;
      std::string got;
      auto read_some = [&] {
        const std::size_t n = c.read(buf);
        got.append(reinterpret_cast<const char*>(buf.data()), n);
        return n;
      };
      EXPECT_NO_THROW({
        EXPECT_EQ(read_some(), 2u);
        step.send(1);
        EXPECT_EQ(read_some(), 2u);
        step.send(2);
        EXPECT_EQ(read_some(), 2u);
        EXPECT_EQ(read_some(), 0u);
      });
      EXPECT_EQ(got, "abcdef");
    }, workers(1));
  }
}

TEST(Net, ManyConcurrentConnections) {
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  lim.rlim_cur = lim.rlim_max;
  (void)::setrlimit(RLIMIT_NOFILE, &lim);
  (void)::getrlimit(RLIMIT_NOFILE, &lim);
  // Two tasks per connection; TSan keeps fewer tasks alive at once (goro_test.hpp's kMaxLiveTasks).
  const int conns = std::min(5000, gt::kMaxLiveTasks / 2 - 100);
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < static_cast<rlim_t>(2 * conns + 200))
    GTEST_SKIP() << "RLIMIT_NOFILE is " << lim.rlim_cur << " even after raising the soft limit to the hard one; "
                 << 2 * conns + 200 << " descriptors are needed for " << conns << " connections";
  std::atomic<int> echoed{0};
  goro::run([&] {
    net::Listener ln = net::listen("127.0.0.1:0");
    goro::go_spawn([&] {
      for (int i = 0; i < conns; ++i) {
        goro::go_spawn([c = ln.accept()]() mutable {
          std::array<std::byte, 8> buf;
          const std::size_t n = c.read_full(buf);
          c.write(std::span(buf).first(n));
          (void)c.read(buf);  // until the client closes
        });
      }
    });
    goro::WaitGroup connected, finished;
    goro::Channel<int> all_open;
    connected.add(conns);
    finished.add(conns);
    for (int i = 0; i < conns; ++i) {
      goro::go_spawn([&, i] {
        net::Conn c = net::dial(ln.address());
        char msg[9];
        std::snprintf(msg, sizeof msg, "%08d", i);
        c.write(std::string_view(msg, 8));
        connected.done();
        (void)all_open.recv();  // every connection is open at once
        if (read_text(c, 8) == std::string_view(msg, 8)) echoed.fetch_add(1);
        finished.done();
      });
    }
    connected.wait();
    all_open.close();
    finished.wait();
  }, workers(2));
  EXPECT_EQ(echoed.load(), conns);
}

TEST_P(NetWorkers, ManyTasksDialAndServeWithoutLosingBytes) {
  const int clients = gt::scaled(200, 40);
  const int messages = 20;
  std::atomic<std::uint64_t> verified{0};
  std::uint64_t expected = 0;
  goro::run([&] {
    net::Listener ln = net::listen("127.0.0.1:0");
    goro::go_spawn([&] {
      for (int i = 0; i < clients; ++i) {
        goro::go_spawn([c = ln.accept()]() mutable {
          std::vector<std::byte> buf(100 + (c.native_handle() % 5) * 1000);  // echoes in pieces
          while (std::size_t n = c.read(buf)) c.write(std::span(buf).first(n));
        });
      }
    });
    goro::WaitGroup wg;
    wg.add(clients);
    for (int i = 0; i < clients; ++i) {
      expected += messages;
      goro::go_spawn([&, i] {
        net::Conn c = net::dial(ln.address());
        std::mt19937 rng(i);
        std::uint64_t off = 0;
        for (int m = 0; m < messages; ++m) {
          std::vector<std::byte> out(1 + rng() % 20000), in(0);
          for (std::size_t k = 0; k < out.size(); ++k) out[k] = pattern(i, off + k);
          off += out.size();
          c.write(out);
          in.resize(out.size());
          if (c.read_full(in) == in.size() && in == out) verified.fetch_add(1);
        }
        wg.done();
      });
    }
    wg.wait();
  }, workers(GetParam()));
  EXPECT_EQ(verified.load(), expected);
}

TEST(Net, PastDeadlineFailsAtOnceAndAMovedDeadlineLetsCallsWorkAgain) {
  goro::run([&] {
    net::Listener ln = net::listen("127.0.0.1:0");
    net::Conn c = net::dial(ln.address());
    net::Conn s = ln.accept();
    s.write("x");
    ASSERT_TRUE(gt::eventually([&] {  // the byte has arrived
      std::array<std::byte, 1> peek;
      return ::recv(c.native_handle(), peek.data(), 1, MSG_PEEK) == 1;
    }));
    std::array<std::byte, 4> buf;
    c.set_read_deadline(Clock::now() - 1s);
    EXPECT_THROW((void)c.read(buf), net::Timeout);  // data is there; the deadline wins (Go)
    EXPECT_THROW((void)c.read(buf), net::Timeout);
    c.set_read_deadline(Clock::now() + gt::kWatchdog);
    EXPECT_EQ(c.read(buf), 1u);
    c.set_read_deadline(Clock::time_point::max());  // cleared
    s.write("y");
    EXPECT_EQ(c.read(buf), 1u);
    c.set_write_deadline(Clock::now() - 1ms);
    EXPECT_THROW(c.write("z"), net::Timeout);
    c.set_deadline(Clock::time_point::max());
    c.write("z");
    EXPECT_EQ(s.read(buf), 1u);
  });
}

TEST_P(NetWorkers, DeadlineMovedIntoThePastWakesAPendingReader) {
  goro::run([&] {
    net::Listener ln = net::listen("127.0.0.1:0");
    net::Conn c = net::dial(ln.address());
    net::Conn s = ln.accept();
    goro::Channel<std::string> outcome(1);
    const goro::TaskId reader = goro::go_spawn([&] {
      std::array<std::byte, 4> buf;
      try {
        (void)c.read(buf);
        outcome.send("read");
      } catch (const net::Timeout& e) {
        outcome.send(std::string("timeout: ") + e.what());
      }
    });
    ASSERT_TRUE(gt::wait_blocked(reader, WaitReason::io_wait));
    c.set_read_deadline(Clock::now() + gt::kWatchdog * 10);  // later: it keeps waiting
    c.set_read_deadline(Clock::now() - 1ms);                 // past: it wakes now
    auto r = gt::recv_for(outcome);
    ASSERT_TRUE(r.value);
    EXPECT_EQ(r.value->rfind("timeout: goro::net::Conn::read at ", 0), 0u) << *r.value;
    EXPECT_NE(r.value->find("net_test.cpp"), std::string::npos) << *r.value;
  }, workers(GetParam()));
}

TEST(Net, ShortDeadlineExpiresAPendingRead) {
  goro::run([&] {
    net::Listener ln = net::listen("127.0.0.1:0");
    net::Conn c = net::dial(ln.address());
    net::Conn s = ln.accept();
    std::array<std::byte, 4> buf;
    c.set_read_deadline(Clock::now() + 30ms);
    EXPECT_THROW((void)c.read(buf), net::Timeout);
    s.write("ok");
    c.set_read_deadline(Clock::now() + gt::kWatchdog);
    EXPECT_EQ(read_text(c, 2), "ok");
  });
}

TEST(Net, WriteDeadlineStopsAWriteToAPeerThatDoesNotRead) {
  goro::run([&] {
    net::Listener ln = net::listen("127.0.0.1:0");
    net::Conn c = net::dial(ln.address());
    net::Conn s = ln.accept();
    std::vector<std::byte> big(64 << 20);
    c.set_write_deadline(Clock::now() + 50ms);
    EXPECT_THROW(c.write(big), net::Timeout);
  });
}

TEST_P(NetWorkers, CloseFromAnotherTaskWakesABlockedReaderWithClosed) {
  goro::run([&] {
    net::Listener ln = net::listen("127.0.0.1:0");
    net::Conn c = net::dial(ln.address());
    net::Conn s = ln.accept();
    goro::Channel<std::string> outcome(1);
    const goro::TaskId reader = goro::go_spawn([&] {
      std::array<std::byte, 4> buf;
      try {
        (void)c.read(buf);
        outcome.send("returned");
      } catch (const net::Closed& e) {
        outcome.send(std::string("closed: ") + e.what());
      }
    });
    ASSERT_TRUE(gt::wait_blocked(reader, WaitReason::io_wait));
    c.close();
    auto r = gt::recv_for(outcome);
    ASSERT_TRUE(r.value);
    EXPECT_EQ(r.value->rfind("closed: goro::net::Conn::read at ", 0), 0u) << *r.value;
    EXPECT_NE(r.value->find("use of a closed network connection"), std::string::npos) << *r.value;
    std::array<std::byte, 4> buf;
    EXPECT_THROW((void)c.read(buf), net::Closed);   // and every later call
    EXPECT_THROW(c.write("x"), goro::io::Closed);   // net::Closed is an io::Closed
    EXPECT_EQ(s.read(buf), 0u);                     // the peer sees the end of the stream
    c.close();                                      // idempotent
  }, workers(GetParam()));
}

TEST_P(NetWorkers, ListenerCloseWakesABlockedAccept) {
  goro::run([&] {
    net::Listener ln = net::listen("127.0.0.1:0");
    const std::string address = ln.address();
    goro::Channel<int> outcome(1);
    const goro::TaskId acceptor = goro::go_spawn([&] {
      try {
        (void)ln.accept();
        outcome.send(0);
      } catch (const net::Closed&) {
        outcome.send(1);
      }
    });
    ASSERT_TRUE(gt::wait_blocked(acceptor, WaitReason::io_wait));
    ln.close();
    auto r = gt::recv_for(outcome);
    ASSERT_TRUE(r.value);
    EXPECT_EQ(*r.value, 1);
    EXPECT_THROW((void)ln.accept(), net::Closed);
    EXPECT_EQ(ln.address(), address);  // still known
  }, workers(GetParam()));
}

TEST_P(NetWorkers, ConcurrentAcceptorsTakeTurnsAndCloseWakesThemAll) {
  goro::run([&] {
    net::Listener ln = net::listen("127.0.0.1:0");
    constexpr int acceptors = 4;
    goro::Channel<int> outcome(acceptors);
    std::vector<goro::TaskId> ids;
    for (int i = 0; i < acceptors; ++i)
      ids.push_back(goro::go_spawn([&] {
        try {
          net::Conn c = ln.accept();
          c.write("a");
          outcome.send(1);
        } catch (const net::Closed&) {
          outcome.send(0);
        }
      }));
    for (goro::TaskId id : ids)
      ASSERT_TRUE(gt::eventually([&] {
        auto t = gt::task_info(id);
        return t && (t->reason == WaitReason::io_wait || t->reason == WaitReason::mutex);
      }));
    std::vector<net::Conn> clients;
    for (int i = 0; i < 2; ++i) {
      clients.push_back(net::dial(ln.address()));
      EXPECT_EQ(read_text(clients.back(), 1), "a");
    }
    ln.close();
    int accepted = 0, closed = 0;
    for (int i = 0; i < acceptors; ++i) {
      auto r = gt::recv_for(outcome);
      ASSERT_TRUE(r.value);
      (*r.value == 1 ? accepted : closed)++;
    }
    EXPECT_EQ(accepted, 2);
    EXPECT_EQ(closed, 2);
  }, workers(GetParam()));
}

TEST(Net, MovedFromHandlesThrowClosed) {
  goro::run([&] {
    net::Listener ln = net::listen("127.0.0.1:0");
    net::Listener other = std::move(ln);
    EXPECT_THROW((void)ln.accept(), net::Closed);  // NOLINT(bugprone-use-after-move): on purpose
    net::Conn empty;
    std::array<std::byte, 1> buf;
    EXPECT_THROW((void)empty.read(buf), net::Closed);
    EXPECT_EQ(empty.native_handle(), -1);
    EXPECT_FALSE(empty);
  });
}

TEST(Net, DialToAClosedPortIsRefused) {
  goro::run([&] {
    std::string address;
    {
      net::Listener ln = net::listen("127.0.0.1:0");
      address = ln.address();
    }
    try {
      (void)net::dial(address);
      ADD_FAILURE() << "dial to a closed port succeeded";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::error_code(ECONNREFUSED, std::generic_category())) << e.what();
      EXPECT_NE(std::string(e.what()).find(address), std::string::npos) << e.what();
    }
  });
}

TEST(Net, DialTimesOutAgainstAFullBacklog) {
  goro::run([&] {
    FullBacklog full;
    ASSERT_TRUE(full.fill());
    const auto start = Clock::now();
    EXPECT_THROW((void)net::dial(full.address, 100ms), net::Timeout);
    EXPECT_GE(Clock::now() - start, 100ms);
  });
}

TEST(Net, DialWithAContextStopsWhenItIsCancelled) {
  goro::run([&] {
    FullBacklog full;
    ASSERT_TRUE(full.fill());
    auto [ctx, cancel] = goro::with_cancel(goro::Context::background());
    goro::Channel<std::string> outcome(1);
    const goro::TaskId dialer = goro::go_spawn([&, ctx = ctx] {
      try {
        (void)net::dial(ctx, full.address);
        outcome.send("connected");
      } catch (const goro::ContextDone& e) {
        outcome.send("cancelled");
      } catch (const std::exception& e) {
        outcome.send(e.what());
      }
    });
    ASSERT_TRUE(gt::wait_blocked(dialer, WaitReason::io_wait));
    cancel();
    auto r = gt::recv_for(outcome);
    ASSERT_TRUE(r.value);
    EXPECT_EQ(*r.value, "cancelled");

    auto [timed, cancel_timed] = goro::with_timeout(goro::Context::background(), 50ms);
    EXPECT_THROW((void)net::dial(timed, full.address), net::Timeout);
    cancel_timed();
    net::Listener ln = net::listen("127.0.0.1:0");
    EXPECT_NO_THROW((void)net::dial(goro::Context::background(), ln.address()));
  });
}

TEST(Net, MalformedAddressesAreInvalidArguments) {
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000", "::1:80", "[::1:80",
                          "[::1]80", "unix:"}) {
    try {
      (void)net::listen(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("\"") + bad + "\""), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("net_test.cpp"), std::string::npos) << e.what();
    }
    EXPECT_THROW((void)net::dial(bad), std::invalid_argument) << bad;
  }
}

TEST(Net, HostNamesResolveThroughTheBlockingPool) {
  goro::run([&] {
    net::Listener ln = net::listen("127.0.0.1:0");
    const std::string port = ln.address().substr(ln.address().rfind(':') + 1);
    goro::go_spawn([&] { net::Conn c = ln.accept(); c.write("hi"); });
    net::Conn c = net::dial("localhost:" + port, gt::kWatchdog);  // ::1 refused first if listed: falls back
    EXPECT_EQ(read_text(c, 2), "hi");
    try {
      (void)net::dial("no-such-host.invalid:80");
      ADD_FAILURE() << "an unresolvable name dialled";
    } catch (const std::system_error& e) {
      EXPECT_NE(std::string(e.what()).find("no-such-host.invalid"), std::string::npos) << e.what();
    }
  });
}

// As Go's listen: a host name binds its first IPv4 address, and dial tries the IPv4
// addresses first, so a dial of what listen("localhost:0") reports connects directly,
// and the peer the server sees is 127.0.0.1.
TEST(Net, LocalhostListensAndDialsIpv4First) {
  goro::run([&] {
    net::Listener ln = net::listen("localhost:0");
    ASSERT_EQ(ln.address().rfind("127.0.0.1:", 0), 0u) << ln.address();
    const std::string port = ln.address().substr(ln.address().rfind(':') + 1);
    goro::Channel<std::string> peer(1);
    goro::go_spawn([&, peer]() mutable {
      net::Conn c = ln.accept();
      peer.send(c.remote_address());
      c.write("v4");
    });
    net::Conn c = net::dial("localhost:" + port, gt::kWatchdog);
    EXPECT_EQ(c.remote_address(), ln.address());
    EXPECT_EQ(read_text(c, 2), "v4");
    EXPECT_EQ(peer.recv().value_or("").rfind("127.0.0.1:", 0), 0u);
    // The same for a datagram socket.
    net::PacketConn udp = net::listen_packet("localhost:0");
    EXPECT_EQ(udp.local_address().rfind("127.0.0.1:", 0), 0u) << udp.local_address();
  });
}

// Service names are not looked up: the error says so and what to write instead.
TEST(Net, ServiceNamesAsPortsAreInvalidArgumentsNamingTheFix) {
  for (const char* address : {"localhost:http", "127.0.0.1:https", ":ssh"}) {
    try {
      (void)net::dial(address);
      ADD_FAILURE() << address << " was accepted";
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(std::string("\"") + address + "\""), std::string::npos) << what;
      EXPECT_NE(what.find("service name"), std::string::npos) << what;
      EXPECT_NE(what.find("give its number"), std::string::npos) << what;
    }
    EXPECT_THROW((void)net::listen(address), std::invalid_argument) << address;
  }
}

TEST(Net, Ipv6Loopback) {
  goro::run([&] {
    net::Listener ln;
    try {
      ln = net::listen("[::1]:0");
    } catch (const std::system_error& e) {
      GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
    }
    ASSERT_EQ(ln.address().rfind("[::1]:", 0), 0u) << ln.address();
    goro::go_spawn([&] {
      net::Conn c = ln.accept();
      EXPECT_EQ(c.remote_address().rfind("[::1]:", 0), 0u) << c.remote_address();
      c.write("six");
    });
    net::Conn c = net::dial(ln.address());
    EXPECT_EQ(read_text(c, 3), "six");
  });
}

TEST(Net, WildcardListenAcceptsIpv4AndIpv6) {
  goro::run([&] {
    net::Listener ln = net::listen(":0");
    const std::string port = ln.address().substr(ln.address().rfind(':') + 1);
    goro::go_spawn([&] {
      for (;;) {
        net::Conn c;
        try {
          c = ln.accept();
        } catch (const net::Closed&) {
          return;
        }
        c.write(c.remote_address());
      }
    });
    {
      net::Conn c = net::dial("127.0.0.1:" + port);
      std::array<std::byte, 64> buf;
      const std::size_t n = c.read(buf);
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data()), n), c.local_address());  // printed as IPv4
    }
    try {
      net::Conn c6 = net::dial("[::1]:" + port);
      std::array<std::byte, 64> buf;
      EXPECT_GT(c6.read(buf), 0u);
    } catch (const std::system_error&) {
      // no IPv6 on this host: ":port" listened on IPv4 only
    }
    ln.close();
  });
}

TEST(Net, UnixSockets) {
  const std::string path = "/tmp/goro-net-test-" + std::to_string(::getpid()) + ".sock";
  goro::run([&] {
    {
      net::Listener ln = net::listen("unix:" + path);
      EXPECT_EQ(ln.address(), "unix:" + path);
      EXPECT_TRUE(std::filesystem::exists(path));
      goro::go_spawn([&] {
        net::Conn c = ln.accept();
        std::array<std::byte, 16> buf;
        while (std::size_t n = c.read(buf)) c.write(std::span(buf).first(n));
      });
      net::Conn c = net::dial("unix:" + path);
      EXPECT_EQ(c.remote_address(), "unix:" + path);
      c.write("over a unix socket");
      EXPECT_EQ(read_text(c, 18), "over a unix socket");
    }
    EXPECT_FALSE(std::filesystem::exists(path)) << "the listener removes its socket file";
    net::Listener abstract = net::listen("unix:@goro-net-test-" + std::to_string(::getpid()));
    EXPECT_EQ(abstract.address(), "unix:@goro-net-test-" + std::to_string(::getpid()));
    goro::go_spawn([&] { net::Conn c = abstract.accept(); c.write("@"); });
    net::Conn c = net::dial(abstract.address());
    EXPECT_EQ(read_text(c, 1), "@");
  });
}

TEST(Net, UdpRoundTrip) {
  goro::run([&] {
    net::PacketConn server = net::listen_packet("127.0.0.1:0");
    net::PacketConn client = net::listen_packet("127.0.0.1:0");
    goro::WaitGroup echoed;  // the echo task is done with `server` before it is destroyed
    echoed.add(1);
    goro::go_spawn([&] {
      std::array<std::byte, 1500> buf;
      net::Datagram d = server.recv_from(buf);
      server.send_to(std::span(buf).first(d.size), d.address);
      echoed.done();
    });
    client.send_to(bytes("datagram"), server.local_address());
    std::array<std::byte, 1500> buf;
    client.set_read_deadline(Clock::now() + gt::kWatchdog);
    net::Datagram d = client.recv_from(buf);
    EXPECT_EQ(d.size, 8u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data()), d.size), "datagram");
    EXPECT_EQ(d.address, server.local_address());
    client.set_read_deadline(Clock::now() - 1ms);
    EXPECT_THROW((void)client.recv_from(buf), net::Timeout);
    echoed.wait();
  });
}

TEST(Net, UdpOnAWildcardSocketTalksToIpv4) {
  goro::run([&] {
    net::PacketConn server = net::listen_packet(":0");
    const std::string port = server.local_address().substr(server.local_address().rfind(':') + 1);
    net::PacketConn client = net::listen_packet("127.0.0.1:0");
    client.send_to(bytes("v4"), "127.0.0.1:" + port);
    std::array<std::byte, 16> buf;
    server.set_read_deadline(Clock::now() + gt::kWatchdog);
    net::Datagram d = server.recv_from(buf);
    EXPECT_EQ(d.address, client.local_address());
    server.send_to(std::span(buf).first(d.size), d.address);  // IPv4 target on a dual-stack socket
    client.set_read_deadline(Clock::now() + gt::kWatchdog);
    EXPECT_EQ(client.recv_from(buf).size, 2u);
  });
}

TEST(Net, PlainThreadsBlockAndBehaveTheSame) {
  // No goro::run: every call blocks its thread (poll(2)) and keeps the same semantics.
  net::Listener ln = net::listen("127.0.0.1:0");
  std::thread server([&] {
    net::Conn c = ln.accept();
    std::array<std::byte, 32> buf;
    while (std::size_t n = c.read(buf)) c.write(std::span(buf).first(n));
  });
  net::Conn c = net::dial(ln.address(), gt::kWatchdog);
  c.write("plain");
  EXPECT_EQ(read_text(c, 5), "plain");
  std::array<std::byte, 4> buf;
  c.set_read_deadline(Clock::now() + 20ms);
  EXPECT_THROW((void)c.read(buf), net::Timeout);
  c.set_read_deadline(Clock::time_point::max());
  // A deadline moved into the past and a close, both from another thread, wake a reader.
  std::atomic<int> outcome{0};
  std::thread reader([&] {
    try {
      (void)c.read(buf);
      outcome = 1;
    } catch (const net::Timeout&) {
      outcome = 2;
    }
  });
  gt::settle();
  c.set_read_deadline(Clock::now() - 1ms);
  reader.join();
  EXPECT_EQ(outcome.load(), 2);
  c.set_read_deadline(Clock::time_point::max());
  std::thread closer_reader([&] {
    try {
      (void)c.read(buf);
      outcome = 1;
    } catch (const net::Closed&) {
      outcome = 3;
    }
  });
  gt::settle();
  c.close();
  closer_reader.join();
  EXPECT_EQ(outcome.load(), 3);
  server.join();
  std::thread acceptor([&] {
    try {
      (void)ln.accept();
      outcome = 1;
    } catch (const net::Closed&) {
      outcome = 4;
    }
  });
  gt::settle();
  ln.close();
  acceptor.join();
  EXPECT_EQ(outcome.load(), 4);
}

TEST(Net, HandlesKeptPastRunStayUsableOnAPlainThread) {
  net::Listener ln;
  net::Conn client, server;
  goro::run([&] {
    ln = net::listen("127.0.0.1:0");  // registered with this run's poller
    client = net::dial(ln.address());
    server = ln.accept();
    client.write("in");
    EXPECT_EQ(read_text(server, 2), "in");
  });
  // The runtime is gone; the sockets work on, blocking this thread, and close safely.
  server.write("out");
  EXPECT_EQ(read_text(client, 3), "out");
  client.close();
  std::array<std::byte, 1> buf;
  EXPECT_EQ(server.read(buf), 0u);
}

TEST(Net, DumpShowsTheOperationAndBothAddresses) {
  goro::run([&] {
    net::Listener ln = net::listen("127.0.0.1:0");
    const int accept_line = __LINE__ + 1;
    const goro::TaskId acceptor = goro::go_spawn([&] { net::Conn c = ln.accept(); std::array<std::byte, 1> b; (void)c.read(b); });
    ASSERT_TRUE(gt::wait_blocked(acceptor, WaitReason::io_wait));
    auto info = gt::task_info(acceptor);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->wait_detail, "accept fd " + std::to_string(ln.native_handle()) + " " + ln.address());
    EXPECT_EQ(info->wait_site.line(), static_cast<unsigned>(accept_line));

    net::Conn c = net::dial(ln.address());
    ASSERT_TRUE(gt::eventually([&] {
      auto t = gt::task_info(acceptor);
      return t && t->wait_detail.rfind("read fd ", 0) == 0;
    }));
    info = gt::task_info(acceptor);
    const std::string read_detail = info->wait_detail;
    EXPECT_NE(read_detail.find(" " + ln.address() + " <- " + c.local_address()), std::string::npos) << read_detail;

    FullBacklog full;
    ASSERT_TRUE(full.fill());
    auto [ctx, cancel] = goro::with_cancel(goro::Context::background());
    const goro::TaskId dialer = goro::go_spawn([&, ctx = ctx] {
      try {
        (void)net::dial(ctx, full.address);
      } catch (const goro::ContextDone&) {
      }
    });
    ASSERT_TRUE(gt::wait_blocked(dialer, WaitReason::io_wait));
    info = gt::task_info(dialer);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->wait_detail.rfind("dial fd ", 0), 0u) << info->wait_detail;
    EXPECT_NE(info->wait_detail.find(" -> " + full.address), std::string::npos) << info->wait_detail;

    std::ostringstream dump;
    goro::diag::dump_tasks(dump, goro::diag::tasks());
    EXPECT_NE(dump.str().find("[IO wait, "), std::string::npos) << dump.str();
    EXPECT_NE(dump.str().find(read_detail), std::string::npos) << dump.str();
    goro::diag::LeakOptions quick;
    quick.max_wait = 20ms;
    bool listed = false;
    for (const auto& t : goro::diag::find_leaks(quick))
      if (t.id == acceptor && t.wait_detail == read_detail) listed = true;
    EXPECT_TRUE(listed);
    c.close();  // the acceptor reads EOF and ends
    cancel();   // the dialer
  });
}

}  // namespace
