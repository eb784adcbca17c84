// The debug endpoint (goro/debug_server.hpp) cannot be turned against the program that
// serves it: huge headers, slow senders, connection floods, foreign Host headers,
// state-changing GETs and an accidental all-interfaces bind. Each attack runs against a
// real server on 127.0.0.1 (never anywhere else), bounded in bytes and time, while a
// channel ping-pong in this process must keep making progress.
#include <goro/debug_server.hpp>
#include <goro/goro.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "goro_test.hpp"
#include "raw_http.hpp"

namespace {

using namespace std::chrono_literals;

// Two tasks bouncing a value between two channels until destroyed: the program's own
// work, which an attack on the endpoint must not stop.
struct PingPong {
  goro::Channel<int> ping, pong;
  std::atomic<bool> stop{false};
  std::atomic<long> rounds{0};
  goro::TaskId a{}, b{};
  PingPong() {
    b = goro::go_spawn([this] {
      while (auto v = ping.recv()) pong.send(*v);
    });
    a = goro::go_spawn([this] {
      for (int i = 0; !stop.load(); ++i) {
        ping.send(i);
        if (!pong.recv()) break;
        rounds.fetch_add(1);
      }
      ping.close();
    });
  }
  ~PingPong() {
    stop.store(true);
    EXPECT_TRUE(gt::eventually([&] { return !gt::task_info(a) && !gt::task_info(b); }));
  }
  // True once the ping-pong has gone at least one more round.
  bool advances() const {
    const long before = rounds.load();
    return gt::eventually([&] { return rounds.load() > before; });
  }
};

std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

using gt::connect_raw;
using gt::read_reply;

std::string get(int port, const std::string& path, const std::string& host_header) {
  return gt::raw_exchange(port, "GET " + path + " HTTP/1.1\r\n" + host_header + "Connection: close\r\n\r\n");
}

std::string local_host(int port) { return "Host: 127.0.0.1:" + std::to_string(port) + "\r\n"; }

bool is_status(const std::string& reply, int status) {
  return reply.rfind("HTTP/1.1 " + std::to_string(status) + " ", 0) == 0;
}

TEST(DebugServerAttack, HugeHeadersAreCutOffAndMemoryStaysBounded) {
  PingPong work;
  auto server = goro::diag::serve("127.0.0.1:0");
  const std::size_t rss_before = rss_bytes();
  int fd = connect_raw(server.port());
  ASSERT_GE(fd, 0);
  std::string head = "GET /metrics HTTP/1.1\r\n" + local_host(server.port());
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  // Up to 1 GB of header lines; the server must stop reading long before.
  std::string lines;
  while (lines.size() < (1u << 20)) lines += "X-Filler: " + std::string(1000, 'a') + "\r\n";
  constexpr std::size_t kAttempt = std::size_t{1} << 30;
  std::size_t sent = 0;
  int send_errno = 0;
  while (sent < kAttempt) {
    const ssize_t n = ::send(fd, lines.data(), lines.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      send_errno = errno;
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  ::close(fd);
  const std::size_t rss_after = rss_bytes();
  EXPECT_LT(sent, kAttempt) << "the server read a gigabyte of headers";
  // Cut off: the server closed the connection (not merely stopped reading it).
  EXPECT_TRUE(send_errno == EPIPE || send_errno == ECONNRESET) << std::strerror(send_errno);
  EXPECT_LT(rss_after, rss_before + (64u << 20)) << "RSS grew from " << rss_before << " to " << rss_after;
  EXPECT_TRUE(work.advances());
  EXPECT_TRUE(is_status(get(server.port(), "/metrics", local_host(server.port())), 200));

  // A head just over the limit is refused with 431 (and the client gets to read it).
  goro::diag::ServeOptions small;
  small.max_header_bytes = 1024;
  auto strict = goro::diag::serve("127.0.0.1:0", small);
  const std::string over = "GET /metrics HTTP/1.1\r\n" + local_host(strict.port()) + "X-Filler: " +
                           std::string(1100, 'a') + "\r\nConnection: close\r\n\r\n";
  EXPECT_TRUE(is_status(gt::raw_exchange(strict.port(), over), 431));
  // A body over max_request_bytes is refused without being read.
  const std::string big_body = "POST /debug/goro/trend HTTP/1.1\r\n" + local_host(strict.port()) +
                               "Content-Length: 1000000000\r\nConnection: close\r\n\r\n";
  EXPECT_TRUE(is_status(gt::raw_exchange(strict.port(), big_body), 413));
}

// Four clients each send a request one byte at a time, never finishing it. Each is cut
// when read_timeout has passed since it connected (not merely between bytes), and a
// normal request is served while they trickle.
TEST(DebugServerAttack, SlowSendersAreCutAndOthersAreServed) {
  PingPong work;
  goro::diag::ServeOptions opts;
  opts.read_timeout = 1000ms;  // each byte comes well within it: only a whole-request deadline cuts them
  auto server = goro::diag::serve("127.0.0.1:0", opts);
  constexpr int kSlow = 4;
  std::atomic<int> started{0};
  std::vector<std::string> replies(kSlow);
  std::vector<std::thread> slow;
  for (int i = 0; i < kSlow; ++i)
    slow.emplace_back([&, i] {
      int fd = connect_raw(server.port());
      if (fd < 0) return;
      const std::string request = "GET /metrics HTTP/1.1\r\n" + local_host(server.port()) + "X-Slow: ";
      const auto give_up = std::chrono::steady_clock::now() + gt::kWatchdog;
      started.fetch_add(1);
      for (std::size_t at = 0; std::chrono::steady_clock::now() < give_up; ++at) {
        const char byte = at < request.size() ? request[at] : 'a';
        if (::send(fd, &byte, 1, MSG_NOSIGNAL) != 1) break;
        char peek;
        const ssize_t n = ::recv(fd, &peek, 1, MSG_DONTWAIT | MSG_PEEK);
        if (n >= 0) break;  // the server answered or closed
        std::this_thread::sleep_for(100ms);
      }
      replies[i] = read_reply(fd);
      ::close(fd);
    });
  while (started.load() < kSlow) std::this_thread::yield();
  EXPECT_TRUE(is_status(get(server.port(), "/metrics", local_host(server.port())), 200));
  EXPECT_TRUE(work.advances());
  for (auto& t : slow) t.join();
  for (const std::string& r : replies) EXPECT_TRUE(is_status(r, 408)) << r;
  EXPECT_TRUE(is_status(get(server.port(), "/metrics", local_host(server.port())), 200));
}

// More connections than max_connections: the server holds at most that many; the rest
// wait in the backlog and are served when the idle ones have timed out.
TEST(DebugServerAttack, TheConnectionCapHolds) {
  PingPong work;
  goro::diag::ServeOptions opts;
  opts.max_connections = 4;
  opts.read_timeout = 500ms;
  auto server = goro::diag::serve("127.0.0.1:0", opts);
  const std::size_t fds_before = open_fds();
  constexpr std::size_t kIdle = 20;
  std::vector<int> idle;
  for (std::size_t i = 0; i < kIdle; ++i) idle.push_back(connect_raw(server.port()));
  for (int fd : idle) ASSERT_GE(fd, 0);
  gt::settle();
  EXPECT_LE(open_fds(), fds_before + kIdle + opts.max_connections);
  EXPECT_TRUE(work.advances());
  EXPECT_TRUE(is_status(get(server.port(), "/metrics", local_host(server.port())), 200));
  for (int fd : idle) ::close(fd);
}

// A flood from another process at a low RLIMIT_NOFILE: the server stops accepting while
// fewer than min_free_fds descriptors would remain, so the program can still open files.
TEST(DebugServerAttack, AConnectionFloodLeavesTheProgramFileDescriptors) {
  PingPong work;
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  const rlim_t low = open_fds() + 128;
  if (saved.rlim_cur < low + 512) GTEST_SKIP() << "RLIMIT_NOFILE is too low to run a flood";
  goro::diag::ServeOptions opts;
  opts.max_connections = 100000;  // only the descriptor headroom limits it here
  opts.read_timeout = 2000ms;
  auto server = goro::diag::serve("127.0.0.1:0", opts);
  rlimit lowered = saved;
  lowered.rlim_cur = low;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);

  int ready[2], release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  const pid_t child = ::fork();
  if (child == 0) {  // the attacker: only system calls until _exit
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
    ::close(ready[0]);
    ::close(release[1]);
    ::setrlimit(RLIMIT_NOFILE, &saved);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(server.port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 400; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (fd >= 0) (void)::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    }
    char one = 1;
    (void)!::write(ready[1], &one, 1);
    (void)!::read(release[0], &one, 1);  // until the parent has looked
    ::_exit(0);
  }
  ASSERT_GT(child, 0);
  ::close(ready[1]);
  ::close(release[0]);
  char byte;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  // The flood fills the descriptors up to the headroom.
  EXPECT_TRUE(gt::eventually([&] { return open_fds() + opts.min_free_fds + 8 >= low; })) << open_fds();

  // The program opens files while the flood is on.
  std::vector<int> files;
  for (int i = 0; i < 32; ++i) files.push_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  for (int fd : files) EXPECT_GE(fd, 0) << "open() failed: the endpoint took the last descriptors";
  for (int fd : files)
    if (fd >= 0) ::close(fd);
  // What the endpoint holds stays below its headroom. A count can catch a descriptor in
  // passing (a flood connection accepted and about to be refused with 503, a file another
  // thread reads), so the bound must hold once such transients are gone, not at one instant.
  EXPECT_TRUE(gt::eventually([&] { return open_fds() <= low - opts.min_free_fds + 2; })) << open_fds();
  EXPECT_TRUE(work.advances());

  ::close(release[1]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(ready[0]);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  // Once the flood is gone, normal requests are served again.
  EXPECT_TRUE(gt::eventually([&] { return is_status(get(server.port(), "/metrics", local_host(server.port())), 200); }));
}

// DNS rebinding: a page of another site reaching the endpoint carries its own name in
// Host. Only loopback names (and allowed_hosts) are served.
TEST(DebugServerAttack, AForeignHostHeaderIsRefused) {
  auto server = goro::diag::serve("127.0.0.1:0");
  const int port = server.port();
  const std::string p = std::to_string(port);
  EXPECT_TRUE(is_status(get(port, "/metrics", "Host: evil.example:" + p + "\r\n"), 403));
  EXPECT_TRUE(is_status(get(port, "/debug/pprof/goroutine?debug=2", "Host: evil.example\r\n"), 403));
  EXPECT_TRUE(is_status(get(port, "/metrics", "Host: 127.0.0.1.evil.example\r\n"), 403));
  EXPECT_TRUE(is_status(get(port, "/metrics", ""), 403));  // no Host at all
  for (const std::string& ok :
       std::vector<std::string>{"127.0.0.1:" + p, "localhost:" + p, "LOCALHOST", "[::1]:" + p, "127.0.0.1"})
    EXPECT_TRUE(is_status(get(port, "/metrics", "Host: " + ok + "\r\n"), 200)) << ok;

  goro::diag::ServeOptions opts;
  opts.allowed_hosts = {"devbox.internal", "proxy.internal:8080"};
  auto configured = goro::diag::serve("127.0.0.1:0", opts);
  const int cport = configured.port();
  EXPECT_TRUE(is_status(get(cport, "/metrics", "Host: devbox.internal:1234\r\n"), 200));
  EXPECT_TRUE(is_status(get(cport, "/metrics", "Host: proxy.internal:8080\r\n"), 200));
  EXPECT_TRUE(is_status(get(cport, "/metrics", "Host: proxy.internal:9090\r\n"), 403));
  EXPECT_TRUE(is_status(get(cport, "/metrics", "Host: evil.example\r\n"), 403));
}

// A route that changes state answers only POST, so <img src=".../quit"> on a web page
// cannot trigger it; a browser's cross-site POST (a form on another site) is refused too.
TEST(DebugServerAttack, StateChangingRoutesArePostOnly) {
  std::atomic<int> quits{0};
  goro::diag::ServeOptions opts;
  opts.routes.push_back({.path = "/quit",
                         .handler = [&] {
                           quits.fetch_add(1);
                           return std::string("bye\n");
                         },
                         .method = "POST"});
  auto server = goro::diag::serve("127.0.0.1:0", opts);
  const int port = server.port();
  const std::string get_quit = get(port, "/quit", local_host(port));
  EXPECT_TRUE(is_status(get_quit, 405)) << get_quit;
  EXPECT_NE(get_quit.find("Allow: POST\r\n"), std::string::npos) << get_quit;
  EXPECT_EQ(quits.load(), 0);
  auto post = [&](const std::string& path, const std::string& extra) {
    return gt::raw_exchange(port, "POST " + path + " HTTP/1.1\r\n" + local_host(port) + extra +
                              "Content-Length: 0\r\nConnection: close\r\n\r\n");
  };
  EXPECT_TRUE(is_status(post("/quit", "Origin: http://evil.example\r\n"), 403));
  EXPECT_TRUE(is_status(post("/quit", "Sec-Fetch-Site: cross-site\r\n"), 403));
  EXPECT_EQ(quits.load(), 0);
  EXPECT_TRUE(is_status(post("/quit", ""), 200));  // curl -X POST
  EXPECT_TRUE(is_status(post("/quit", "Origin: http://127.0.0.1:" + std::to_string(port) +
                                          "\r\nSec-Fetch-Site: same-origin\r\n"),
                        200));  // the endpoint's own page
  EXPECT_EQ(quits.load(), 2);
  EXPECT_TRUE(is_status(post("/metrics", ""), 405));

  // Viewing the status page does not start the trend sampler; it offers a POST for it.
  goro::diag::stop_trend();
  goro::diag::reset_trend();
  const std::string page = get(port, "/debug/goro/", local_host(port));
  EXPECT_TRUE(is_status(page, 200));
  EXPECT_NE(page.find("<form id=\"start-trend\" method=\"post\" action=\"trend\">"), std::string::npos) << page;
  gt::settle();
  EXPECT_TRUE(goro::diag::trend().empty());
  const std::string started = post("/debug/goro/trend", "");
  EXPECT_TRUE(is_status(started, 303)) << started;
  EXPECT_NE(started.find("Location: /debug/goro/\r\n"), std::string::npos) << started;
  EXPECT_TRUE(gt::eventually([] { return !goro::diag::trend().empty(); }));
  goro::diag::stop_trend();
}

TEST(DebugServerAttack, ANonLoopbackBindNeedsAnOptIn) {
  for (const char* address : {"0:0", ":0", "0.0.0.0:0", "[::]:0"}) {
    try {
      goro::diag::serve(address);
      ADD_FAILURE() << address << " was served without allow_non_loopback";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("allow_non_loopback"), std::string::npos) << e.what();
    }
  }
  for (const char* address : {"127.0.0.1:0", "localhost:0"}) {
    auto s = goro::diag::serve(address);
    EXPECT_TRUE(s.serving()) << address;
  }
  goro::diag::ServeOptions opts;
  opts.allow_non_loopback = true;
  auto exposed = goro::diag::serve("0.0.0.0:0", opts);
  EXPECT_EQ(exposed.host(), "0.0.0.0");
  EXPECT_TRUE(is_status(get(exposed.port(), "/metrics", local_host(exposed.port())), 200));
}

}  // namespace
