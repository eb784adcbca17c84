// timer_latency: how late does goro::sleep_for wake a task while many others are parked?
//
//   timer_latency [procs=1,2] [load=none,pingpong] [parked=10000] [sleeps=50] [sleep_ms=10]
//
// For every combination of procs (worker threads) and load, one goro::run:
//   1. `parked` tasks are spawned, each blocked forever in recv() on its own unbuffered
//      channel (they are released by closing the channels at the end);
//   2. load=pingpong additionally keeps two tasks exchanging values on unbuffered
//      channels the whole time (a busy scheduler); load=none leaves the workers idle;
//   3. one task calls goro::sleep_for(sleep_ms) `sleeps` times; lateness of each wake-up =
//      steady_clock::now() after the call - (now() before the call + sleep_ms).
// Each run is a forked child process (the parent never starts a runtime). Prints one
// key=value line per run, lateness in microseconds:
//   impl=goro workload=timer_latency procs=1 load=none parked=10000 sleeps=50 sleep_ms=10
//     lateness_us_median=... lateness_us_p90=... lateness_us_max=... lateness_us_min=... early=0
// `early` counts wake-ups before the deadline (a bug: sleep_for must sleep at least d).
// A run that has not finished within timeout_s (default 10 + 4 x the total sleep time)
// is killed and reported as `status=STALLED completed_sleeps=K` (the sleeper was starved).
// The exit code is 1 when any run was early, stalled or failed.
#include <goro/goro.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using clk = std::chrono::steady_clock;

std::map<std::string, std::string> g_args;

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

long arg_long(const char* key, long def) {
  auto it = g_args.find(key);
  return it == g_args.end() ? def : std::strtol(it->second.c_str(), nullptr, 10);
}

struct Result {
  std::vector<double> late_us;  // sorted
  long load_round_trips = 0;
};

double percentile(const std::vector<double>& sorted, double q) {  // nearest-rank
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

double median(const std::vector<double>& sorted) {
  const std::size_t n = sorted.size();
  if (n == 0) return 0;
  return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

// Shared with the parent across fork(): how many sleeps the child has completed.
std::atomic<long>* g_progress = nullptr;

Result measure(long parked, long sleeps, std::chrono::milliseconds d, bool pingpong_load) {
  Result res;
  // Parked tasks: each blocks in recv() on its own channel until the channel is closed.
  std::vector<goro::Channel<int>> chans;
  chans.reserve(static_cast<std::size_t>(parked));
  goro::WaitGroup started, finished;
  started.add(static_cast<int>(parked));
  finished.add(static_cast<int>(parked));
  for (long i = 0; i < parked; ++i) {
    chans.emplace_back();
    goro::go_spawn([ch = chans.back(), &started, &finished]() mutable {
      started.done();
      (void)ch.recv();
      finished.done();
    });
  }
  started.wait();

  // Optional load: a ping-pong pair that never stops switching until told to.
  std::atomic<bool> stop{false};
  goro::WaitGroup load_done;
  goro::Channel<long> ping, pong;
  if (pingpong_load) {
    load_done.add(2);
    goro::go_spawn([ping, pong, &load_done]() mutable {
      for (long v : ping) pong.send(v);
      load_done.done();
    });
    goro::go_spawn([ping, pong, &stop, &load_done, &res]() mutable {
      long n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        ping.send(n);
        (void)pong.recv();
        ++n;
      }
      ping.close();
      res.load_round_trips = n;
      load_done.done();
    });
  }

  // The sleeper is an ordinary spawned task, like any user task.
  goro::WaitGroup slept;
  slept.add(1);
  goro::go_spawn([&] {
    res.late_us.reserve(static_cast<std::size_t>(sleeps));
    for (long i = 0; i < sleeps; ++i) {
      const auto deadline = clk::now() + d;
      goro::sleep_for(d);
      const auto late = clk::now() - deadline;
      res.late_us.push_back(std::chrono::duration<double, std::micro>(late).count());
      g_progress->fetch_add(1, std::memory_order_relaxed);
    }
    slept.done();
  });
  slept.wait();

  stop.store(true, std::memory_order_relaxed);
  if (pingpong_load) load_done.wait();
  for (auto& ch : chans) ch.close();
  finished.wait();
  std::sort(res.late_us.begin(), res.late_us.end());
  return res;
}


// Runs one configuration in this (child) process; returns its exit code.
int run_one(unsigned procs, const std::string& load, long parked, long sleeps, long sleep_ms) {
  Result r;
  const int rc = goro::run([&] { r = measure(parked, sleeps, std::chrono::milliseconds(sleep_ms), load == "pingpong"); },
                           goro::Config{.workers = procs});
  const long early = std::count_if(r.late_us.begin(), r.late_us.end(), [](double x) { return x < 0; });
  std::printf("impl=goro workload=timer_latency procs=%u load=%s parked=%ld sleeps=%ld sleep_ms=%ld "
              "lateness_us_median=%.1f lateness_us_p90=%.1f lateness_us_max=%.1f lateness_us_min=%.1f early=%ld",
              procs, load.c_str(), parked, sleeps, sleep_ms, median(r.late_us), percentile(r.late_us, 0.9),
              r.late_us.empty() ? 0.0 : r.late_us.back(), r.late_us.empty() ? 0.0 : r.late_us.front(), early);
  if (load == "pingpong") std::printf(" load_round_trips=%ld", r.load_round_trips);
  std::printf("\n");
  std::fflush(stdout);
  if (rc != 0) {
    std::fprintf(stderr, "timer_latency: goro::run returned %d\n", rc);
    return rc;
  }
  return early > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* eq = std::strchr(argv[i], '=');
    if (!eq) {
      std::fprintf(stderr, "usage: timer_latency [procs=1,2] [load=none,pingpong] [parked=10000] [sleeps=50] "
                           "[sleep_ms=10] [timeout_s=N]\n");
      return 2;
    }
    g_args[std::string(argv[i], static_cast<std::size_t>(eq - argv[i]))] = eq + 1;
  }
  const std::vector<std::string> procs_list = split_list(g_args.count("procs") ? g_args["procs"] : "1,2");
  const std::vector<std::string> load_list = split_list(g_args.count("load") ? g_args["load"] : "none,pingpong");
  const long parked = arg_long("parked", 10000);
  const long sleeps = arg_long("sleeps", 50);
  const long sleep_ms = arg_long("sleep_ms", 10);
  const long timeout_s = arg_long("timeout_s", 10 + 4 * sleeps * sleep_ms / 1000);

  void* shared = ::mmap(nullptr, sizeof(std::atomic<long>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) {
    std::perror("mmap");
    return 2;
  }
  g_progress = new (shared) std::atomic<long>(0);

  int exit_code = 0;
  for (const std::string& load : load_list) {
    if (load != "none" && load != "pingpong") {
      std::fprintf(stderr, "load must be none or pingpong\n");
      return 2;
    }
    for (const std::string& p : procs_list) {
      const auto procs = static_cast<unsigned>(std::strtoul(p.c_str(), nullptr, 10));
      if (procs == 0) {
        std::fprintf(stderr, "bad procs %s\n", p.c_str());
        return 2;
      }
      g_progress->store(0);
      std::fflush(stdout);
      const pid_t child = ::fork();
      if (child < 0) {
        std::perror("fork");
        return 2;
      }
      if (child == 0) {
        const int code = run_one(procs, load, parked, sleeps, sleep_ms);
        std::fflush(stdout);
        std::fflush(stderr);
        std::_Exit(code);
      }
      int status = 0;
      const auto give_up = clk::now() + std::chrono::seconds(timeout_s);
      pid_t done = 0;
      while ((done = ::waitpid(child, &status, WNOHANG)) == 0 && clk::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (done == 0) {
        ::kill(child, SIGKILL);
        ::waitpid(child, &status, 0);
        std::printf("impl=goro workload=timer_latency procs=%u load=%s parked=%ld sleeps=%ld sleep_ms=%ld "
                    "status=STALLED completed_sleeps=%ld timeout_s=%ld\n",
                    procs, load.c_str(), parked, sleeps, sleep_ms, g_progress->load(), timeout_s);
        std::fflush(stdout);
        exit_code = 1;
      } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "timer_latency: run procs=%u load=%s failed (status %d)\n", procs, load.c_str(), status);
        exit_code = 1;
      }
    }
  }
  return exit_code;
}
