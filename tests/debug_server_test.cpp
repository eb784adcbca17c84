// The HTTP debug endpoint (goro/debug_server.hpp): its routes, 4xx for bad requests,
// answering while every worker is busy, slow and idle clients, promtool and
// `go tool pprof` as clients, and the leaky_server example. Ports are always 0 (any
// free port).
#include <goro/debug_server.hpp>
#include <goro/goro.hpp>
#include <goro/metrics.hpp>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "goro_test.hpp"
#include "raw_http.hpp"

namespace {

using goro::diag::WaitReason;

void send_forever(goro::Channel<int> ch) { ch.send(1); }
constexpr int kSendLine = __LINE__ - 1;

std::string base_name() {
  std::string f = __FILE__;
  return f.substr(f.rfind('/') + 1);
}

// A client with generous timeouts: the watchdog, never a performance bound.
httplib::Client client_for(const goro::diag::DebugServer& s) {
  httplib::Client c(s.host(), s.port());
  c.set_connection_timeout(gt::kWatchdog);
  c.set_read_timeout(gt::kWatchdog);
  c.set_write_timeout(gt::kWatchdog);
  return c;
}

using gt::connect_raw;
using gt::raw_exchange;

// Two tasks blocked in send_forever until the end of the scope.
struct TwoBlockedSenders {
  goro::Channel<int> ch;
  std::vector<goro::TaskId> ids;
  TwoBlockedSenders() {
    for (int i = 0; i < 2; ++i) ids.push_back(goro::go_spawn([c = ch]() mutable { send_forever(c); }));
    for (auto id : ids) EXPECT_TRUE(gt::wait_blocked(id, WaitReason::chan_send));
  }
  ~TwoBlockedSenders() {
    for (std::size_t i = 0; i < ids.size(); ++i) ch.recv();
    EXPECT_TRUE(gt::eventually([&] { return !gt::task_info(ids[0]) && !gt::task_info(ids[1]); }));
  }
};

// The value of a metric line ("name{labels} value"), -1 if absent.
double metric(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

TEST(DebugServer, ServesEveryRouteOnAFreePort) {
  auto server = goro::diag::serve("127.0.0.1:0");
  ASSERT_TRUE(server.serving());
  EXPECT_GT(server.port(), 0);
  EXPECT_EQ(server.host(), "127.0.0.1");
  EXPECT_EQ(server.address(), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(server.url(), "http://" + server.address());
  TwoBlockedSenders blocked;
  auto c = client_for(server);

  auto index = c.Get("/debug/pprof/");
  ASSERT_TRUE(index) << httplib::to_string(index.error());
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->get_header_value("Content-Type"), "text/html; charset=utf-8");
  for (const char* link : {"goroutine?debug=1", "block?debug=1", "goroutineleak?debug=1",
                           "goroutine?debug=2", "/metrics"})
    EXPECT_NE(index->body.find(link), std::string::npos) << link;

  auto text = c.Get("/debug/pprof/goroutine?debug=1");
  ASSERT_TRUE(text);
  EXPECT_EQ(text->status, 200);
  EXPECT_EQ(text->body.rfind("goroutine profile: total ", 0), 0u) << text->body;
  EXPECT_NE(text->body.find("\n2 @ "), std::string::npos) << text->body;
  EXPECT_NE(text->body.find(base_name() + ":" + std::to_string(kSendLine)), std::string::npos);

  auto dump = c.Get("/debug/pprof/goroutine?debug=2");
  ASSERT_TRUE(dump);
  EXPECT_EQ(dump->status, 200);
  for (auto id : blocked.ids)
    EXPECT_NE(dump->body.find("goroutine " + std::to_string(id) + " [chan send"), std::string::npos)
        << dump->body;

  for (const char* path : {"/debug/pprof/goroutine", "/debug/pprof/goroutine?debug=0",
                           "/debug/pprof/block", "/debug/pprof/goroutineleak"}) {
    auto proto = c.Get(path);
    ASSERT_TRUE(proto) << path;
    EXPECT_EQ(proto->status, 200) << path;
    EXPECT_EQ(proto->get_header_value("Content-Type"), "application/octet-stream") << path;
    ASSERT_GE(proto->body.size(), 2u) << path;
    EXPECT_EQ(static_cast<unsigned char>(proto->body[0]), 0x1f) << path;  // gzip
    EXPECT_EQ(static_cast<unsigned char>(proto->body[1]), 0x8b) << path;
  }

  auto leak = c.Get("/debug/pprof/goroutineleak?debug=1");
  ASSERT_TRUE(leak);
  EXPECT_EQ(leak->body.rfind("goroutineleak profile: total " +
                                 std::to_string(goro::diag::leaked_tasks().size()),
                             0),
            0u)
      << leak->body;
  auto block = c.Get("/debug/pprof/block?debug=1");
  ASSERT_TRUE(block);
  EXPECT_EQ(block->body.rfind("--- contention:\n", 0), 0u) << block->body;

  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), goro::diag::kMetricsContentType);
  EXPECT_GE(metric(metrics->body, "goro_tasks"), 2) << metrics->body;
  EXPECT_GE(metric(metrics->body, "goro_tasks_blocked{reason=\"chan send\"}"), 2) << metrics->body;
  EXPECT_GE(metric(metrics->body, "goro_tasks_state{state=\"waiting\"}"), 2) << metrics->body;
  EXPECT_GE(metric(metrics->body, "goro_spawns_total"), 2) << metrics->body;
  EXPECT_GE(metric(metrics->body, "goro_context_switches_total"), 2) << metrics->body;
  EXPECT_GE(metric(metrics->body, "goro_workers"), 1) << metrics->body;
  EXPECT_EQ(metric(metrics->body, "goro_tasks_leaked"),
            static_cast<double>(goro::diag::leaked_tasks().size()));
  EXPECT_GE(metric(metrics->body, "goro_oldest_wait_seconds{reason=\"chan send\"}"), 0);
  EXPECT_NE(metrics->body.find("# TYPE goro_spawns_total counter\n"), std::string::npos);
}

TEST(DebugServer, ServesTheStatusPageAndTheDumpBehindEachRow) {
  auto server = goro::diag::serve("127.0.0.1:0");
  TwoBlockedSenders blocked;
  auto c = client_for(server);
  auto page = c.Get("/debug/goro/");
  ASSERT_TRUE(page) << httplib::to_string(page.error());
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  const std::string site = base_name() + ":" + std::to_string(kSendLine);
  EXPECT_NE(page->body.find(site), std::string::npos) << page->body;
  // Follow the row's link, as a browser would (the page's links are relative).
  const auto href = page->body.find("href=\"site?reason=chan%20send");
  ASSERT_NE(href, std::string::npos) << page->body;
  std::string link = page->body.substr(href + 6, page->body.find('"', href + 6) - href - 6);
  for (std::size_t at; (at = link.find("&amp;")) != std::string::npos;) link.replace(at, 5, "&");
  auto dump = c.Get("/debug/goro/" + link);
  ASSERT_TRUE(dump);
  EXPECT_EQ(dump->status, 200) << link;
  EXPECT_NE(dump->body.find("2 tasks [chan send"), std::string::npos) << dump->body;
  EXPECT_EQ(c.Get("/debug/goro/site?reason=chan%20send")->status, 400);
  EXPECT_EQ(c.Get("/debug/goro/site?reason=chan%20send&at=nowhere.cpp:1")->status, 404);
}

TEST(DebugServer, BadRequestsGet4xxAndTheServerKeepsServing) {
  // Short timeouts: a malformed request's connection is kept until one of them passes.
  goro::diag::ServeOptions opts;
  opts.read_timeout = std::chrono::milliseconds(500);
  opts.keep_alive_timeout = std::chrono::seconds(1);
  auto server = goro::diag::serve("127.0.0.1:0", opts);
  auto c = client_for(server);
  struct Case {
    const char* path;
    int status;
  };
  for (Case k : {Case{"/debug/pprof/goroutine?debug=abc", 400}, Case{"/debug/pprof/goroutine?debug=-1", 400},
                 Case{"/debug/pprof/goroutine?debug=1x", 400}, Case{"/debug/pprof/block?seconds=5", 400},
                 Case{"/debug/pprof/no-such-profile", 404}, Case{"/debug/pprof/goroutine/extra", 404},
                 Case{"/nope", 404}, Case{"/", 404}}) {
    auto r = c.Get(k.path);
    ASSERT_TRUE(r) << k.path;
    EXPECT_EQ(r->status, k.status) << k.path << ": " << r->body;
    EXPECT_FALSE(r->body.empty()) << k.path;
  }
  auto post = c.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_GE(post->status, 400);
  EXPECT_LT(post->status, 500);

  // Malformed HTTP, and a request line far too long: 4xx, never a crash.
  EXPECT_EQ(raw_exchange(server.port(), "GARBAGE\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(raw_exchange(server.port(), "GET /metrics HTTP/9.9\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 4", 0), 0u);
  const std::string long_line = "GET /" + std::string(100000, 'a') + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  EXPECT_EQ(raw_exchange(server.port(), long_line).rfind("HTTP/1.1 431", 0), 0u);
  const std::string big_body = "POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 10000000\r\n\r\n";
  EXPECT_EQ(raw_exchange(server.port(), big_body).rfind("HTTP/1.1 4", 0), 0u);

  auto ok = c.Get("/metrics");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST(DebugServer, AddressesAndStop) {
  EXPECT_THROW(goro::diag::serve("nonsense"), std::invalid_argument);
  EXPECT_THROW(goro::diag::serve("127.0.0.1:99999"), std::invalid_argument);
  EXPECT_THROW(goro::diag::serve("127.0.0.1:http"), std::invalid_argument);
  EXPECT_THROW(goro::diag::serve("::1:0"), std::invalid_argument);  // IPv6 needs brackets

  auto server = goro::diag::serve("127.0.0.1:0");
  const int port = server.port();
  // The port is taken: a clear error, not a crash.
  try {
    goro::diag::serve("127.0.0.1:" + std::to_string(port));
    ADD_FAILURE() << "a second server on a taken port started";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("port 0"), std::string::npos) << e.what();
  }
  // Moves keep it serving; stop() closes the port.
  goro::diag::DebugServer moved = std::move(server);
  EXPECT_FALSE(server.serving());
  EXPECT_TRUE(moved.serving());
  EXPECT_EQ(moved.port(), port);
  auto c = client_for(moved);
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r);
  moved.stop();
  moved.stop();  // idempotent
  EXPECT_FALSE(moved.serving());
  EXPECT_EQ(connect_raw(port), -1);
}

TEST(DebugServer, OptionsThatCannotWorkThrow) {
  auto refused = [](auto change) {
    goro::diag::ServeOptions opts;
    change(opts);
    try {
      goro::diag::serve("127.0.0.1:0", opts);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what()).find("ServeOptions::") != std::string::npos;
    }
    return false;
  };
  using O = goro::diag::ServeOptions;
  EXPECT_TRUE(refused([](O& o) { o.threads = 0; }));
  EXPECT_TRUE(refused([](O& o) { o.threads = 5000; }));
  EXPECT_TRUE(refused([](O& o) { o.max_connections = 0; }));
  EXPECT_TRUE(refused([](O& o) { o.read_timeout = std::chrono::milliseconds(0); }));
  EXPECT_TRUE(refused([](O& o) { o.write_timeout = std::chrono::milliseconds(-1); }));
  EXPECT_TRUE(refused([](O& o) { o.read_timeout = std::chrono::milliseconds::max(); }));
  EXPECT_TRUE(refused([](O& o) { o.keep_alive_timeout = std::chrono::hours(25); }));
  EXPECT_TRUE(refused([](O& o) { o.max_header_bytes = 10; }));
  EXPECT_TRUE(refused([](O& o) { o.routes.push_back({.path = "healthz", .handler = [] { return std::string(); }}); }));
  EXPECT_TRUE(refused([](O& o) {
    o.routes.push_back({.path = "/x", .handler = [] { return std::string(); }, .method = "DELETE"});
  }));
  EXPECT_TRUE(refused([](O& o) { o.routes.push_back({.path = "/x"}); }));  // no handler
}

// Both workers of a runtime spin without yielding; the endpoint still answers, and sees
// them running.
TEST(DebugServer, AnswersWhileEveryWorkerIsBusy) {
  auto server = goro::diag::serve("127.0.0.1:0");
  std::atomic<int> spinning{0};
  std::atomic<bool> release{false};
  int dump_status = 0, metrics_status = 0;
  std::string dump_body, metrics_body;
  std::thread fetcher([&] {
    while (spinning.load() < 2) std::this_thread::yield();
    auto c = client_for(server);
    if (auto r = c.Get("/debug/pprof/goroutine?debug=2")) {
      dump_status = r->status;
      dump_body = r->body;
    }
    if (auto r = c.Get("/metrics")) {
      metrics_status = r->status;
      metrics_body = r->body;
    }
    release.store(true);
  });
  goro::Config cfg;
  cfg.workers = 2;
  goro::run(
      [&] {
        auto spin = [&] {
          spinning.fetch_add(1);
          while (!release.load()) {
          }  // busy: never parks nor yields
        };
        goro::go_spawn(goro::SpawnOptions{"spinner"}, spin);
        spin();
      },
      cfg);
  fetcher.join();
  EXPECT_EQ(dump_status, 200);
  EXPECT_NE(dump_body.find("[runnable]"), std::string::npos) << dump_body;
  EXPECT_EQ(metrics_status, 200);
  EXPECT_GE(metric(metrics_body, "goro_tasks_state{state=\"running\"}"), 2) << metrics_body;
}

// Idle and slow connections, more of them than handler threads, cannot keep a normal
// request from being served: each is dropped after the read timeout. Many concurrent
// normal clients are all served.
TEST(DebugServer, SlowAndIdleClientsCannotStallIt) {
  goro::diag::ServeOptions opts;
  opts.threads = 2;
  opts.read_timeout = std::chrono::milliseconds(300);
  opts.keep_alive_timeout = std::chrono::seconds(1);
  auto server = goro::diag::serve("127.0.0.1:0", opts);

  std::vector<int> slow;
  for (int i = 0; i < 3; ++i) slow.push_back(connect_raw(server.port()));  // say nothing
  for (int i = 0; i < 3; ++i) {
    int fd = connect_raw(server.port());
    const std::string partial = "GET /metrics HTTP/1.1\r\nHost: x\r\n";  // never finished
    (void)::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL);
    slow.push_back(fd);
  }
  for (int fd : slow) ASSERT_GE(fd, 0);

  auto c = client_for(server);
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);

  constexpr int kClients = 16, kRequests = 5;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&] {
      auto cc = client_for(server);
      for (int j = 0; j < kRequests; ++j)
        if (auto res = cc.Get(j % 2 ? "/metrics" : "/debug/pprof/goroutine?debug=1"); res && res->status == 200)
          ok.fetch_add(1);
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  for (int fd : slow) ::close(fd);
}

TEST(DebugServer, PromtoolAcceptsTheMetrics) {
  if (gt::run_command("command -v promtool >/dev/null 2>&1").exit_code != 0)
    GTEST_SKIP() << "promtool is not installed (apt-get install prometheus)";
  auto server = goro::diag::serve("127.0.0.1:0");
  TwoBlockedSenders blocked;
  auto c = client_for(server);
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r);
  const std::string path = ::testing::TempDir() + "goro_metrics_" + std::to_string(getpid()) + ".txt";
  {
    std::ofstream f(path);
    f << r->body;
  }
  auto check = gt::run_command("promtool check metrics < " + path + " 2>&1");
  std::remove(path.c_str());
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << r->body;
}

// Go's pprof, fetching over HTTP as a user would.
TEST(DebugServer, GoToolPprofFetchesTheGoroutineProfile) {
  if (gt::run_command("command -v go >/dev/null 2>&1").exit_code != 0)
    GTEST_SKIP() << "go is not installed (scripts/setup.sh --with-go, or apt-get install golang-go)";
  auto server = goro::diag::serve("127.0.0.1:0");
  TwoBlockedSenders blocked;
  // pprof saves what it fetches into $PPROF_TMPDIR: a directory of our own, removed after.
  std::string tmpl = ::testing::TempDir() + "goro_pprof_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  auto r = gt::run_command("PPROF_TMPDIR=" + tmpl + " go tool pprof -top -lines " + server.url() +
                           "/debug/pprof/goroutine 2>&1");
  gt::run_command("rm -rf '" + tmpl + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  EXPECT_TRUE(std::regex_search(r.output, m, std::regex("\n\\s+2\\s[^\n]*send_forever [^\n]*" + base_name() +
                                                        ":" + std::to_string(kSendLine))))
      << r.output;
}

#if defined(GORO_LEAKY_SERVER)
// examples/leaky_server: prints its address, leaks tasks from its own traffic, serves
// the routes, and exits after --duration.
TEST(DebugServer, LeakyServerExampleServesItsLeaks) {
  FILE* child = ::popen(GORO_LEAKY_SERVER " --port 0 --duration 30 2>&1", "r");
  ASSERT_NE(child, nullptr);
  std::string address;
  char line[1024];
  std::string seen;
  while (address.empty() && std::fgets(line, sizeof line, child)) {
    seen += line;
    std::smatch m;
    std::string l = line;
    if (std::regex_search(l, m, std::regex(R"(http://(127\.0\.0\.1:[0-9]+))"))) address = m[1];
  }
  ASSERT_FALSE(address.empty()) << seen;
  const int port = std::stoi(address.substr(address.find(':') + 1));
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(gt::kWatchdog);
  // Its traffic leaks a task per timed-out request: wait for the first.
  std::string text;
  EXPECT_TRUE(gt::eventually([&] {
    auto r = c.Get("/debug/pprof/goroutine?debug=1");
    if (!r || r->status != 200) return false;
    text = r->body;
    return text.find("leaky_server.cpp") != std::string::npos &&
           text.find("\"reason\":\"chan send\"") != std::string::npos;
  })) << text;
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_GE(metric(metrics->body, "goro_tasks_blocked{reason=\"chan send\"}"), 1) << metrics->body;
  auto dump = c.Get("/debug/pprof/goroutine?debug=2");
  ASSERT_TRUE(dump);
  EXPECT_NE(dump->body.find("[chan send"), std::string::npos);
  auto proto = c.Get("/debug/pprof/goroutine");
  ASSERT_TRUE(proto);
  EXPECT_EQ(proto->status, 200);
  auto refused = c.Get("/quit");  // changes state: POST only
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 405);
  auto stop = c.Post("/quit", "", "text/plain");  // the example's own route: exit now
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->status, 200);
  while (std::fgets(line, sizeof line, child)) seen += line;
  const int status = ::pclose(child);
  EXPECT_TRUE(WIFEXITED(status)) << seen;
}

// Without its own traffic, leaky_server changes state only on POST: GET /fetch and
// GET /quit (what a link or an <img> on a web page would send) are refused. Its tasks all
// wait for requests that the endpoint's threads deliver, so the deadlock detector must not
// end it while it waits (the test outlives the detector's grace period).
TEST(DebugServer, LeakyServerChangesStateOnlyOnPost) {
  FILE* child = ::popen(GORO_LEAKY_SERVER " --port 0 --no-traffic --duration 60 2>&1", "r");
  ASSERT_NE(child, nullptr);
  std::string address, seen;
  char line[1024];
  while (address.empty() && std::fgets(line, sizeof line, child)) {
    seen += line;
    std::smatch m;
    std::string l = line;
    if (std::regex_search(l, m, std::regex(R"(http://(127\.0\.0\.1:[0-9]+))"))) address = m[1];
  }
  ASSERT_FALSE(address.empty()) << seen;
  while (seen.find("/quit") == std::string::npos && std::fgets(line, sizeof line, child)) seen += line;
  EXPECT_NE(seen.find("curl -X POST http://" + address + "/fetch"), std::string::npos) << seen;
  // Idle for longer than the deadlock detector's default grace period (1 s): it must still
  // be serving, since only /quit ends it.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  httplib::Client c("127.0.0.1", std::stoi(address.substr(address.find(':') + 1)));
  c.set_read_timeout(gt::kWatchdog);
  for (const char* path : {"/fetch", "/quit"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path << ": " << httplib::to_string(r.error()) << "\n" << seen;
    EXPECT_EQ(r->status, 405) << path;
  }
  auto fetched = c.Post("/fetch", "", "text/plain");
  ASSERT_TRUE(fetched);
  EXPECT_EQ(fetched->status, 200);
  EXPECT_TRUE(fetched->body == "answer: 42\n" || fetched->body == "timed out\n") << fetched->body;
  auto stop = c.Post("/quit", "", "text/plain");
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->status, 200);
  while (std::fgets(line, sizeof line, child)) seen += line;
  const int status = ::pclose(child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << seen;
}
#endif

}  // namespace
