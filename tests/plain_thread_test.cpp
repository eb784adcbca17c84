// Every blocking operation from plain threads (not tasks): the gtest main
// thread talking to tasks, and std::threads talking to each other.
#include "goro_test.hpp"

#include <numeric>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using goro::Channel;

TEST(PlainThread, CurrentTaskIsZero) {
  EXPECT_EQ(goro::current_task(), 0u);
  goro::TaskId in_thread = 1;
  std::thread([&] { in_thread = goro::current_task(); }).join();
  EXPECT_EQ(in_thread, 0u);
}

TEST(PlainThread, MainSendsToATaskUnbuffered) {
  Channel<int> c;
  Channel<std::vector<int>> got(1);
  goro::go_spawn([c, got]() mutable {
    std::vector<int> v;
    for (int i = 0; i < 1000; ++i) v.push_back(*c.recv());
    got.send(std::move(v));
  });
  for (int i = 0; i < 1000; ++i) c.send(i);
  GT_ASSERT_RECV(v, got);
  ASSERT_EQ(v.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(v[i], i);
}

TEST(PlainThread, MainReceivesFromATaskUnbuffered) {
  Channel<int> c;
  goro::go_spawn([c]() mutable {
    for (int i = 0; i < 1000; ++i) c.send(i);
    c.close();
  });
  int expect = 0;
  for (int v : c) EXPECT_EQ(v, expect++);
  EXPECT_EQ(expect, 1000);
}

TEST(PlainThread, MainBlockedInRecvIsWokenByATask) {
  Channel<std::string> c;
  goro::go_spawn([c]() mutable {
    goro::sleep_for(10ms);  // most likely the main thread is parked by now; either order is correct
    c.send("late");
  });
  EXPECT_EQ(c.recv(), std::optional<std::string>("late"));
}

TEST(PlainThread, MainBlockedInSendIsReleasedByATask) {
  Channel<int> c;
  Channel<int> got(1);
  goro::go_spawn([c, got]() mutable {
    goro::sleep_for(10ms);
    got.send(*c.recv());
  });
  c.send(77);
  GT_ASSERT_RECV(v, got);
  EXPECT_EQ(v, 77);
}

TEST(PlainThread, MainBlockedInSendThrowsOnClose) {
  Channel<int> c;
  goro::go_spawn([c]() mutable {
    goro::sleep_for(10ms);
    c.close();
  });
  EXPECT_THROW(c.send(1), goro::ChannelClosed);
}

TEST(PlainThread, MainBlockedInRecvWakesWithNulloptOnClose) {
  Channel<int> c(2);
  goro::go_spawn([c]() mutable {
    goro::sleep_for(10ms);
    c.close();
  });
  EXPECT_EQ(c.recv(), std::nullopt);
}

TEST(PlainThread, BlockedSendReallyWaitsForTheReceiver) {
  Channel<int> c;
  std::atomic<bool> returned{false};
  std::thread t([c, &returned]() mutable {
    c.send(5);
    returned = true;
  });
  gt::settle();
  EXPECT_FALSE(returned.load()) << "unbuffered send returned with no receiver";
  EXPECT_EQ(c.recv(), std::optional<int>(5));
  t.join();
  EXPECT_TRUE(returned.load());
}

TEST(PlainThread, BlockedRecvReallyWaitsForTheSender) {
  Channel<int> c(1);
  std::atomic<bool> returned{false};
  std::optional<int> got;
  std::thread t([c, &returned, &got]() mutable {
    got = c.recv();
    returned = true;
  });
  gt::settle();
  EXPECT_FALSE(returned.load()) << "recv on an empty channel returned";
  c.send(6);
  t.join();
  EXPECT_EQ(got, std::optional<int>(6));
}

TEST(PlainThread, ThreadToThreadFifo) {
  for (std::size_t cap : {0u, 1u, 16u}) {
    Channel<int> c(cap);
    std::thread producer([c]() mutable {
      for (int i = 0; i < 1000; ++i) c.send(i);
      c.close();
    });
    int expect = 0;
    for (int v : c) EXPECT_EQ(v, expect++);
    producer.join();
    EXPECT_EQ(expect, 1000) << "capacity " << cap;
  }
}

TEST(PlainThread, ThreadToThreadPingPong) {
  Channel<int> ping, pong;
  const int rounds = gt::scaled(2000, 100);
  std::thread a([ping, pong, rounds]() mutable {
    for (int i = 0; i < rounds; ++i) {
      ping.send(i);
      if (pong.recv() != i + 1) std::abort();
    }
    ping.close();
  });
  std::thread b([ping, pong]() mutable {
    for (int v : ping) pong.send(v + 1);
  });
  a.join();
  b.join();
  EXPECT_EQ(ping.recv(), std::nullopt);
}

TEST(PlainThread, ManyThreadsShareOneChannel) {
  constexpr int P = 4;
  const int L = gt::scaled(2000, 100);
  Channel<int> c(8);
  Channel<long> sums(P);
  std::vector<std::thread> ts;
  for (int p = 0; p < P; ++p)
    ts.emplace_back([c, L]() mutable {
      for (int i = 1; i <= L; ++i) c.send(i);
    });
  for (int p = 0; p < P; ++p)
    ts.emplace_back([c, sums, L]() mutable {
      long s = 0;
      for (int i = 0; i < L; ++i) s += *c.recv();
      sums.send(s);
    });
  for (auto& t : ts) t.join();
  long total = 0;
  for (int p = 0; p < P; ++p) total += *sums.recv();
  EXPECT_EQ(total, static_cast<long>(P) * L * (L + 1) / 2);
}

TEST(PlainThread, ThreadsAndTasksMixed) {
  const int L = gt::scaled(2000, 100);
  Channel<int> to_tasks, to_threads;
  Channel<long> sums(4);
  // thread -> task -> thread
  for (int i = 0; i < 2; ++i)
    goro::go_spawn([to_tasks, to_threads, sums]() mutable {
      long s = 0;
      for (int v : to_tasks) {
        s += v;
        to_threads.send(v);
      }
      sums.send(s);
    });
  std::thread producer([to_tasks, L]() mutable {
    for (int i = 1; i <= L; ++i) to_tasks.send(i);
    to_tasks.close();
  });
  std::thread consumer([to_threads, sums, L]() mutable {
    long s = 0;
    for (int i = 0; i < L; ++i) s += *to_threads.recv();
    sums.send(s);
  });
  producer.join();
  consumer.join();
  long expect = static_cast<long>(L) * (L + 1) / 2;
  long task_total = 0;
  for (int i = 0; i < 3; ++i) {
    auto r = gt::recv_for(sums);
    ASSERT_FALSE(r.timed_out);
    task_total += *r.value;
  }
  EXPECT_EQ(task_total, 2 * expect);  // the consumer thread's sum plus the two tasks' sums
}

TEST(PlainThread, SleepForIsNeverEarly) {
  for (auto d : {0ms, 1ms, 3ms}) {
    auto start = std::chrono::steady_clock::now();
    goro::sleep_for(d);
    EXPECT_GE(std::chrono::steady_clock::now() - start, d);
  }
  goro::sleep_for(-5ms);  // a negative duration returns at once, as in Go
}

TEST(PlainThread, AfterFromAThread) {
  std::optional<std::chrono::steady_clock::time_point> fired;
  std::thread t([&] {
    auto start = std::chrono::steady_clock::now();
    auto c = goro::after(2ms);
    fired = c.recv();
    if (fired && *fired < start + 2ms) fired.reset();
  });
  t.join();
  EXPECT_TRUE(fired.has_value()) << "after(2ms) did not deliver a time at or past its deadline";
}

}  // namespace
