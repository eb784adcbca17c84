// explore_bench: what a bubble run costs (goro/bubble.hpp, goro/explore.hpp).
//
//   explore_bench [runs=N]
//
// Prints, per kernel and strategy, runs per second and microseconds per run: "empty" (the
// fixed cost of a run: a fresh bubble runtime, its main task, its teardown), "pingpong"
// (two tasks, 10 round trips on unbuffered channels), "mutex4" (4 tasks, 10 lock/unlock
// each, joined by a WaitGroup), "sleep30s" (a 30-second Context timeout in virtual time).
#include <goro/goro.hpp>
#include <goro/testing.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

namespace {

void empty() {}

void pingpong() {
  goro::Channel<int> ping, pong;
  goro::go_spawn([ping, pong]() mutable {
    for (int i = 0; i < 10; ++i) pong.send(*ping.recv());
  });
  for (int i = 0; i < 10; ++i) {
    ping.send(i);
    (void)pong.recv();
  }
}

void mutex4() {
  goro::Mutex mu;
  goro::WaitGroup wg;
  int x = 0;
  for (int t = 0; t < 4; ++t) {
    wg.add(1);
    goro::go_spawn([&] {
      for (int i = 0; i < 10; ++i) {
        std::lock_guard g(mu);
        ++x;
      }
      wg.done();
    });
  }
  wg.wait();
}

void sleep30s() {
  auto [ctx, cancel] = goro::with_timeout(goro::Context::background(), std::chrono::seconds(30));
  (void)ctx.done().recv();
  cancel();
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 20000;
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "runs=", 5) == 0) runs = std::atoi(argv[i] + 5);
  struct K {
    const char* name;
    void (*fn)();
  } kernels[] = {{"empty", empty}, {"pingpong", pingpong}, {"mutex4", mutex4}, {"sleep30s", sleep30s}};
  for (const K& k : kernels) {
    for (auto s : {goro::testing::Strategy::random, goro::testing::Strategy::pct}) {
      goro::testing::ExploreOptions o;
      o.runs = runs;
      o.seed = 1;
      o.strategy = s;
      const auto t0 = std::chrono::steady_clock::now();
      const auto r = goro::testing::explore(k.fn, o);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (r.failed) {
        std::fprintf(stderr, "%s failed:\n%s\n", k.name, r.report.c_str());
        return 1;
      }
      std::printf("kernel=%s strategy=%s runs=%d runs_per_s=%.0f us_per_run=%.2f\n", k.name,
                  goro::testing::to_string(s), r.runs, r.runs / secs, 1e6 * secs / r.runs);
    }
    // Plain bubble() (FIFO, no exploration) for comparison.
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < runs; ++i) goro::testing::bubble(k.fn);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("kernel=%s strategy=bubble runs=%d runs_per_s=%.0f us_per_run=%.2f\n", k.name, runs,
                runs / secs, 1e6 * secs / runs);
  }
  return 0;
}
