// examples/leaky_server.cpp — a service with Go's classic timeout leak, and the debug
// endpoint to find it with (docs/diagnostics.md: "Finding a leak in a running program").
//
// Each request calls a slow backend in a new task and waits for the answer with a
// timeout. When the timeout wins, nobody will ever receive from the unbuffered result
// channel, so the backend task blocks forever in its send: one leaked task per
// timed-out request.
//
//   leaky_server [--port N] [--duration S] [--no-traffic]
//     --port N       serve the debug endpoint on 127.0.0.1:N (default 6060; if it is
//                    taken, any free port). The address is printed at start.
//     --duration S   exit after S seconds (default: run until POST /quit or Ctrl-C)
//     --no-traffic   do not send requests to ourselves; only POST /fetch makes them
//
//   curl -X POST http://127.0.0.1:6060/fetch                           # one request
//   curl -X POST http://127.0.0.1:6060/quit                            # exit now
//   curl 'http://127.0.0.1:6060/debug/pprof/goroutine?debug=1'         # where tasks wait
//   go tool pprof -top http://127.0.0.1:6060/debug/pprof/goroutine
#include <goro/debug_server.hpp>
#include <goro/goro.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <string_view>

using namespace std::chrono_literals;

namespace {

constexpr auto kRequestTimeout = 20ms;
constexpr int kMaxSelfRequests = 2000;  // enough leaks to look at; memory stays small

std::chrono::milliseconds backend_latency() {
  thread_local std::minstd_rand rng{std::random_device{}()};
  return std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 40)(rng));
}

// The bug: `reply` is unbuffered, so once handle_request has stopped waiting, the
// backend task's send blocks forever. (The fix: goro::Channel<std::string> reply(1).)
std::string handle_request() {
  goro::Channel<std::string> reply;
  goro::go_spawn(goro::SpawnOptions{"backend call"}, [reply]() mutable {
    goro::sleep_for(backend_latency());
    reply.send("42");  // leaks here when the caller timed out
  });
  std::optional<std::string> answer;
  std::optional<std::chrono::steady_clock::time_point> fired;
  switch (goro::select(goro::recv_case(reply, answer), goro::recv_case(goro::after(kRequestTimeout), fired))) {
    case 0: return "answer: " + *answer + "\n";
    default: return "timed out\n";
  }
}

// Sends requests to ourselves, one every few milliseconds, each in its own task as a
// server would, until `done` is closed.
void drive_traffic(goro::Channel<int> done) {
  for (int i = 0; i < kMaxSelfRequests; ++i) {
    goro::go_spawn(goro::SpawnOptions{"request"}, [] { handle_request(); });
    std::optional<int> closed;
    std::optional<std::chrono::steady_clock::time_point> tick;
    if (goro::select(goro::recv_case(done, closed), goro::recv_case(goro::after(5ms), tick)) == 0) return;
  }
}

[[noreturn]] void usage(const char* why) {
  std::cerr << "leaky_server: " << why
            << "\nusage: leaky_server [--port N] [--duration S] [--no-traffic]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int port = 6060;
  std::optional<double> duration_s;
  bool traffic = true;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--no-traffic") {
      traffic = false;
    } else if ((arg == "--port" || arg == "--duration") && i + 1 < argc) {
      char* end = nullptr;
      const double v = std::strtod(argv[++i], &end);
      if (*end != '\0' || v < 0) usage("bad number");
      if (arg == "--port") port = static_cast<int>(v);
      else duration_s = v;
    } else {
      usage("unknown argument");
    }
  }

  goro::Config cfg;
  cfg.leak_policy = goro::LeakPolicy::report;  // the exit report lists what leaked
  cfg.trend_period = std::chrono::milliseconds(250);  // history for /debug/goro/'s plot
  return goro::run(
      [&] {
        goro::Channel<int> quit;
        goro::diag::ServeOptions opts;
        // Both change state, so both are POST: a link or <img> on a web page cannot
        // trigger them.
        opts.routes.push_back({.path = "/fetch", .handler = [] { return handle_request(); }, .method = "POST"});
        opts.routes.push_back({.path = "/quit",
                               .handler = [quit]() mutable {
                                 quit.close();
                                 return std::string("bye\n");
                               },
                               .method = "POST"});
        goro::diag::DebugServer server;
        try {
          server = goro::diag::serve("127.0.0.1:" + std::to_string(port), opts);
        } catch (const std::runtime_error&) {
          server = goro::diag::serve("127.0.0.1:0", opts);  // 6060 is taken: any free port
        }
        std::cout << "leaky_server: debug endpoint at " << server.url() << "/debug/pprof/\n"
                  << "  open " << server.url() << "/debug/goro/ in a browser\n"
                  << "  go tool pprof -top " << server.url() << "/debug/pprof/goroutine\n"
                  << "  curl '" << server.url() << "/debug/pprof/goroutine?debug=1'\n"
                  << "  curl " << server.url() << "/metrics\n"
                  << "  curl -X POST " << server.url() << "/fetch   (one request)\n"
                  << "  curl -X POST " << server.url() << "/quit    (exit)"
                  << std::endl;

        goro::Channel<int> stop_traffic;
        if (traffic)
          goro::go_spawn(goro::SpawnOptions{"traffic"}, [stop_traffic] { drive_traffic(stop_traffic); });

        std::optional<int> closed;
        std::optional<std::chrono::steady_clock::time_point> deadline;
        if (duration_s) {
          const auto d = std::chrono::duration_cast<std::chrono::nanoseconds>(
              std::chrono::duration<double>(*duration_s));
          goro::select(goro::recv_case(quit, closed), goro::recv_case(goro::after(d), deadline));
        } else {
          quit.recv();
        }
        stop_traffic.close();
        server.stop();
        std::cout << "leaky_server: "
                  << goro::diag::blocked_tasks().size() << " tasks blocked at exit" << std::endl;
      },
      cfg);
}
