// diag/bench/dump_bench.cpp — how long the diag readers take with 100,000 blocked tasks.
//
//   cmake --build build/release --target goro_dump_bench && build/release/goro_dump_bench [N]
//
// Blocks N tasks (default 100,000) in three groups: 60% receiving on one channel, 30%
// sending on a full buffered channel, 10% in a two-case select; then times, each the
// median of 5 runs: diag::tasks() (the snapshot), blocked_tasks(), dump_blocked() in the
// grouped goro format and in the Go format (one entry per task), into a string stream.
// Then the provable-leak analysis (diag::leaked_tasks()): once with the N tasks reachable
// (one pass finds nothing), once with N tasks that are all leaked (two passes + re-check).
#include <goro/goro.hpp>

#include <algorithm>
#include <atomic>
#include <thread>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

template <class F>
double median_ms(F&& f, std::size_t* out_size = nullptr) {
  std::vector<double> ms;
  for (int i = 0; i < 5; ++i) {
    auto t0 = Clock::now();
    std::size_t n = f();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (out_size) *out_size = n;
  }
  std::sort(ms.begin(), ms.end());
  return ms[2];
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 100'000;
  goro::Config cfg;
  cfg.workers = 2;
  cfg.leak_policy = goro::LeakPolicy::off;  // the leaked tasks of the last measurement
  return goro::run(
      [n] {
        goro::Channel<int> inbox;
        inbox.set_name("inbox");
        goro::Channel<int> full(1);
        full.set_name("full");
        full.send(0);
        goro::Channel<int> other;
        goro::WaitGroup started;
        const int receivers = n * 6 / 10, senders = n * 3 / 10, selectors = n - receivers - senders;
        for (int i = 0; i < receivers; ++i) goro::go_spawn([inbox]() mutable { inbox.recv(); });
        for (int i = 0; i < senders; ++i) goro::go_spawn([full]() mutable { full.send(1); });
        for (int i = 0; i < selectors; ++i)
          goro::go_spawn([inbox, other]() mutable {
            std::optional<int> v;
            goro::select(goro::recv_case(inbox, v), goro::send_case(other, 2));
          });
        // Wait until every task is parked.
        while (goro::diag::blocked_tasks().size() < static_cast<std::size_t>(n)) goro::sleep_for(std::chrono::milliseconds(10));

        std::size_t count = 0, bytes_goro = 0, bytes_go = 0;
        double snap = median_ms([] { return goro::diag::tasks().size(); }, &count);
        double blocked = median_ms([] { return goro::diag::blocked_tasks().size(); });
        double dump_goro = median_ms([&] {
          std::ostringstream out;
          std::size_t k = goro::diag::dump_blocked(out);
          bytes_goro = out.str().size();
          return k;
        });
        double dump_go = median_ms([&] {
          std::ostringstream out;
          goro::diag::DumpOptions o;
          o.format = goro::diag::DumpFormat::go;
          std::size_t k = goro::diag::dump_blocked(out, o);
          bytes_go = out.str().size();
          return k;
        });
        std::printf("tasks: %zu blocked (median of 5 runs, 2 workers)\n", count);
        std::printf("diag::tasks() snapshot:        %8.1f ms\n", snap);
        std::printf("diag::blocked_tasks():         %8.1f ms\n", blocked);
        std::printf("dump_blocked (goro, grouped):  %8.1f ms  (%zu bytes)\n", dump_goro, bytes_goro);
        std::printf("dump_blocked (go, per task):   %8.1f ms  (%zu bytes)\n", dump_go, bytes_go);
        // The pause a snapshot imposes: a task spawning (each spawn takes a registry shard
        // lock, which a snapshot holds while it copies that shard's records) measures its
        // slowest go_spawn while a plain thread takes snapshots, and without them.
        auto slowest_spawn = [](bool with_snapshots) {
          std::atomic<bool> stop{false};
          std::thread snapper([&] {
            while (with_snapshots && !stop.load()) (void)goro::diag::tasks();
          });
          double worst = 0;
          auto until = Clock::now() + std::chrono::milliseconds(500);
          while (Clock::now() < until) {
            auto t0 = Clock::now();
            goro::go_spawn([] {});
            worst = std::max(worst, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
            goro::yield();
          }
          stop = true;
          snapper.join();
          return worst;
        };
        double spawn_quiet = slowest_spawn(false);
        double spawn_snap = slowest_spawn(true);
        std::printf("slowest go_spawn over 0.5 s:   %8.2f ms without snapshots, %.2f ms while a thread snapshots in a loop\n",
                    spawn_quiet, spawn_snap);
        std::ostringstream sample;
        goro::diag::dump_blocked(sample);
        std::printf("\n%s", sample.str().c_str());
        std::size_t none_leaked = 0;
        double analysis_reachable = median_ms([] { return goro::diag::leaked_tasks().size(); }, &none_leaked);
        // Release everyone.
        inbox.close();
        full.recv();
        for (int i = 0; i < senders; ++i) full.recv();
        while (!goro::diag::blocked_tasks().empty()) goro::sleep_for(std::chrono::milliseconds(10));
        // N leaked tasks: pairs blocked on each other's channels, and singles whose
        // channel nobody else holds.
        for (int i = 0; i < n; i += 2) {
          goro::Channel<int> a, b;
          goro::go_spawn([a, b]() mutable { a.recv(); b.send(1); });
          if (i + 1 < n) goro::go_spawn([a, b]() mutable { b.recv(); a.send(1); });
        }
        while (goro::diag::blocked_tasks().size() < static_cast<std::size_t>(n)) goro::sleep_for(std::chrono::milliseconds(10));
        std::size_t all_leaked = 0;
        double analysis_leaked = median_ms([] { return goro::diag::leaked_tasks().size(); }, &all_leaked);
        std::printf("leaked_tasks(), %zu blocked, %zu leaked: %8.1f ms\n", count, none_leaked, analysis_reachable);
        std::printf("leaked_tasks(), %d blocked, %zu leaked: %8.1f ms\n", n, all_leaked, analysis_leaked);
      },
      cfg);
}
