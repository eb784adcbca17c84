// goro_net_load: the echo load generator of benchmarks/net (run.sh).
//
//   goro_net_load ADDRESS CONNECTIONS SECONDS [SIZE=64] [WORKERS=2]
//
// Opens CONNECTIONS connections to an echo server, then each connection's task sends
// SIZE bytes and waits for them to come back, over and over, for SECONDS. Prints one line:
//   conns=100 requests=123456 rps=41152 p50_us=2310 p99_us=5120
// Latency is per round trip; the percentiles are over every round trip of the run.
#include <goro/goro.hpp>
#include <goro/net.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s ADDRESS CONNECTIONS SECONDS [SIZE=64] [WORKERS=2]\n", argv[0]);
    return 2;
  }
  const std::string address = argv[1];
  const int conns = std::atoi(argv[2]);
  const double seconds = std::atof(argv[3]);
  const std::size_t size = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 64;
  goro::Config cfg;
  cfg.workers = argc > 5 ? static_cast<unsigned>(std::atoi(argv[5])) : 2;

  std::vector<std::vector<std::uint32_t>> latencies(static_cast<std::size_t>(conns));  // ns/100 per round trip
  std::atomic<bool> stop{false};
  std::atomic<int> failed{0};
  std::chrono::nanoseconds elapsed{};
  const int rc = goro::run([&] {
    std::vector<goro::net::Conn> open(static_cast<std::size_t>(conns));
    for (auto& c : open) c = goro::net::dial(address, std::chrono::seconds(10));
    goro::WaitGroup wg;
    wg.add(conns);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < conns; ++i) {
      goro::go_spawn([&, i] {
        std::vector<std::byte> out(size, std::byte{'x'}), in(size);
        auto& lat = latencies[static_cast<std::size_t>(i)];
        lat.reserve(1 << 16);
        try {
          while (!stop.load(std::memory_order_relaxed)) {
            const auto t0 = std::chrono::steady_clock::now();
            open[static_cast<std::size_t>(i)].write(out);
            if (open[static_cast<std::size_t>(i)].read_full(in) != size) throw std::runtime_error("short echo");
            lat.push_back(static_cast<std::uint32_t>((std::chrono::steady_clock::now() - t0).count() / 100));
          }
        } catch (const std::exception& e) {
          if (failed.fetch_add(1) == 0) std::fprintf(stderr, "connection %d: %s\n", i, e.what());
        }
        wg.done();
      });
    }
    goro::sleep_for(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds)));
    stop = true;
    wg.wait();
    elapsed = std::chrono::steady_clock::now() - start;
  }, cfg);
  std::vector<std::uint32_t> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  if (all.empty() || failed.load() != 0) {
    std::fprintf(stderr, "load: %d connection(s) failed, %zu round trips\n", failed.load(), all.size());
    return 1;
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all[std::min(all.size() - 1, static_cast<std::size_t>(p * all.size()))] / 10.0; };
  std::printf("conns=%d requests=%zu rps=%.0f p50_us=%.1f p99_us=%.1f\n", conns, all.size(),
              all.size() / std::chrono::duration<double>(elapsed).count(), pct(0.50), pct(0.99));
  return rc;
}
