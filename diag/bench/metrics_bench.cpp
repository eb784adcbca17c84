// diag/bench/metrics_bench.cpp — what one /metrics scrape costs with 100,000 parked tasks.
//
//   cmake --build build/release --target goro_metrics_bench && build/release/goro_metrics_bench [N]
//
// Parks N tasks (default 100,000) receiving on a channel that stays reachable (so none is
// leaked), then times diag::write_metrics() into a string stream 11 times back to back and
// prints the first scrape, the median and the maximum, in milliseconds, and the median
// CPU time of the scraping thread (steadier than wall time on a loaded machine). The first scrape
// pays for whatever a scrape computes from scratch; the median shows what a Prometheus
// server polling every few seconds sees.
#include <goro/goro.hpp>
#include <goro/metrics.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <ctime>
#include <vector>

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 100'000;
  goro::Config cfg;
  cfg.workers = 2;
  return goro::run(
      [n] {
        goro::Channel<int> inbox;
        for (int i = 0; i < n; ++i) goro::go_spawn([inbox]() mutable { inbox.recv(); });
        while (goro::diag::blocked_tasks().size() < static_cast<std::size_t>(n))
          goro::sleep_for(std::chrono::milliseconds(10));
        auto cpu_ms = [] {
          timespec ts{};
          clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
          return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
        };
        std::vector<double> ms, cpu;
        std::size_t bytes = 0;
        for (int i = 0; i < 11; ++i) {
          const auto t0 = std::chrono::steady_clock::now();
          const double c0 = cpu_ms();
          std::ostringstream out;
          goro::diag::write_metrics(out);
          cpu.push_back(cpu_ms() - c0);
          ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
          bytes = out.str().size();
        }
        const double first = ms.front();
        std::sort(ms.begin(), ms.end());
        std::sort(cpu.begin(), cpu.end());
        std::printf("tasks=%d scrape_first_ms=%.2f scrape_median_ms=%.2f scrape_max_ms=%.2f "
                    "scrape_median_cpu_ms=%.2f bytes=%zu\n",
                    n, first, ms[ms.size() / 2], ms.back(), cpu[cpu.size() / 2], bytes);
        inbox.close();
        return 0;
      },
      cfg);
}
