// examples/leaky_server's HTTP/1.1 service on goro::net, run as a process and spoken to
// over raw sockets: keep-alive, pipelining, HTTP/1.0 and "Connection: close", bad
// requests, POST-only /fetch, --bench serving only /hello, and a clean exit on /quit.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <regex>
#include <string>
#include <utility>

#include "goro_test.hpp"

namespace {

// The example, started with `args`; its two addresses are read from what it prints.
struct LeakyServer {
  FILE* out = nullptr;
  std::string seen, debug, service;  // "127.0.0.1:N"

  explicit LeakyServer(const std::string& args) {
    out = ::popen((std::string(GORO_LEAKY_SERVER) + " --port 0 --http-port 0 " + args + " 2>&1").c_str(), "r");
    if (out == nullptr) return;
    char line[1024];
    while ((debug.empty() || service.empty()) && std::fgets(line, sizeof line, out)) {
      seen += line;
      std::smatch m;
      const std::string l = line;
      if (debug.empty() && std::regex_search(l, m, std::regex(R"(debug endpoint at http://(127\.0\.0\.1:[0-9]+))")))
        debug = m[1];
      if (service.empty() && std::regex_search(l, m, std::regex(R"(service .* at http://(127\.0\.0\.1:[0-9]+))")))
        service = m[1];
    }
  }
  // Asks it to quit through the debug endpoint; its exit status.
  int quit();
  ~LeakyServer() {
    if (out != nullptr) ::pclose(out);
  }
};

// A client connection with a hang guard on every read.
struct Client {
  int fd = -1;
  explicit Client(const std::string& address) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(address.find(':') + 1))));
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    timeval guard{static_cast<time_t>(gt::kWatchdog.count()), 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ~Client() {
    if (fd >= 0) ::close(fd);
  }
  void send(const std::string& s) const { ASSERT_EQ(::write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size())); }
  // One response: its head and a body of Content-Length bytes ("" on a closed connection).
  std::string response() {
    while (pending.find("\r\n\r\n") == std::string::npos)
      if (!fill()) return "";
    const std::size_t head_end = pending.find("\r\n\r\n") + 4;
    std::smatch m;
    const std::string head = pending.substr(0, head_end);
    std::size_t length = 0;
    if (std::regex_search(head, m, std::regex("Content-Length: ([0-9]+)"))) length = std::stoul(m[1]);
    while (pending.size() < head_end + length)
      if (!fill()) return "";
    std::string r = pending.substr(0, head_end + length);
    pending.erase(0, head_end + length);
    return r;
  }
  // Everything until the server closes the connection.
  std::string read_all() {
    while (fill()) {
    }
    return std::exchange(pending, {});
  }
  // True when the server closes the connection (end of stream, no more bytes).
  bool closed_by_server() { return pending.empty() && !fill(); }

 private:
  std::string pending;
  bool fill() {
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    pending.append(buf, static_cast<std::size_t>(n));
    return true;
  }
};

int LeakyServer::quit() {
  Client c(debug);
  c.send("POST /quit HTTP/1.1\r\nHost: " + debug + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  (void)c.response();
  char line[1024];
  while (std::fgets(line, sizeof line, out)) seen += line;
  const int status = ::pclose(out);
  out = nullptr;
  return status;
}

std::string get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

TEST(ExampleLeakyServer, ServesHttp11WithKeepAliveAndPipelining) {
  LeakyServer server("--no-traffic --duration 120");
  ASSERT_FALSE(server.service.empty()) << server.seen;
  Client c(server.service);
  ASSERT_GE(c.fd, 0);
  for (int i = 0; i < 3; ++i) {  // one connection, several requests
    c.send(get("/hello"));
    const std::string r = c.response();
    EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
    EXPECT_NE(r.find("Content-Length: 6\r\n"), std::string::npos) << r;
    EXPECT_NE(r.find("\r\nDate: "), std::string::npos) << r;
    EXPECT_EQ(r.find("Connection: close"), std::string::npos) << r;
    EXPECT_EQ(r.substr(r.size() - 6), "hello\n") << r;
  }
  // Two requests in one write: two responses, in order.
  c.send(get("/hello") + "POST /fetch HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(c.response().rfind("HTTP/1.1 200 OK", 0), 0u);
  const std::string fetched = c.response();
  EXPECT_EQ(fetched.rfind("HTTP/1.1 200 OK", 0), 0u) << fetched;
  EXPECT_TRUE(fetched.ends_with("answer: 42\n") || fetched.ends_with("timed out\n")) << fetched;
  // State changes are POST only; unknown paths are 404; the connection stays usable.
  c.send(get("/fetch"));
  const std::string refused = c.response();
  EXPECT_EQ(refused.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << refused;
  EXPECT_NE(refused.find("Allow: POST\r\n"), std::string::npos) << refused;
  c.send(get("/nothing-here"));
  EXPECT_EQ(c.response().rfind("HTTP/1.1 404 ", 0), 0u);
  // "Connection: close": answered, then closed by the server.
  c.send(get("/hello", "Connection: close\r\n"));
  const std::string last = c.response();
  EXPECT_NE(last.find("Connection: close\r\n"), std::string::npos) << last;
  EXPECT_TRUE(c.closed_by_server());
  const int status = server.quit();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << server.seen;
}

TEST(ExampleLeakyServer, Http10ClosesAndBadRequestsGetAnErrorThenClose) {
  LeakyServer server("--no-traffic --duration 120");
  ASSERT_FALSE(server.service.empty()) << server.seen;
  {
    Client c(server.service);
    c.send("GET /hello HTTP/1.0\r\n\r\n");
    const std::string r = c.response();
    EXPECT_EQ(r.rfind("HTTP/1.1 200 OK", 0), 0u) << r;
    EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;
    EXPECT_TRUE(c.closed_by_server());
  }
  const std::pair<std::string, std::string> bad[] = {
      {"garbage\r\n\r\n", "400"},
      {"GET /hello HTTP/1.1\r\nno colon here\r\n\r\n", "400"},
      {"GET /hello HTTP/2.0\r\n\r\n", "505"},
      {"POST /fetch HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "501"},
      {"POST /fetch HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", "413"},
      {"GET /hello HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n", "431"},
  };
  for (const auto& [request, status] : bad) {
    Client c(server.service);
    c.send(request);
    const std::string r = c.response();
    EXPECT_EQ(r.rfind("HTTP/1.1 " + status + " ", 0), 0u) << request.substr(0, 60) << "\n" << r;
    EXPECT_TRUE(c.closed_by_server()) << request.substr(0, 60);
  }
  const int status = server.quit();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << server.seen;
}

// --bench: only GET /hello; no traffic of its own, so nothing leaks.
TEST(ExampleLeakyServer, BenchModeServesOnlyHello) {
  LeakyServer server("--bench --duration 120");
  ASSERT_FALSE(server.service.empty()) << server.seen;
  Client c(server.service);
  c.send(get("/hello"));
  EXPECT_TRUE(c.response().ends_with("\r\n\r\nhello\n"));
  c.send("POST /fetch HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(c.response().rfind("HTTP/1.1 404 ", 0), 0u);
  const int status = server.quit();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << server.seen;
  EXPECT_NE(server.seen.find(" 0 tasks blocked at exit"), std::string::npos) << server.seen;
}

// The leak the example exists for, made through its HTTP service by its own traffic:
// backend tasks blocked in "chan send", seen through the debug endpoint's threads.
TEST(ExampleLeakyServer, ItsTrafficLeaksThroughTheService) {
  LeakyServer server("--duration 120");
  ASSERT_FALSE(server.service.empty()) << server.seen;
  std::string dump;
  EXPECT_TRUE(gt::eventually([&] {
    Client c(server.debug);
    c.send(get("/debug/pprof/goroutine?debug=1", "Connection: close\r\n"));
    dump = c.read_all();
    return dump.find("\"reason\":\"chan send\"") != std::string::npos &&
           dump.find("leaky_server.cpp") != std::string::npos;
  })) << dump;
  const int status = server.quit();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << server.seen;
}

}  // namespace
