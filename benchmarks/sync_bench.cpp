// sync_bench: goro::RWMutex vs std::shared_mutex, the same workload as the Go program in
// benchmarks/go/rwmutex (sync.RWMutex). Plain chrono timing, one key=value result line.
//
//   sync_bench impl=goro|std mode=excl|shared|mixed procs=N tasks=G n=OPS
//     excl    every op is lock(); ++counter; unlock()
//     shared  every op is lock_shared(); read counter; unlock_shared()
//     mixed   one op in ten is exclusive, the rest shared (a read-mostly cache)
//     tasks   G workers, each doing OPS/G ops back to back; tasks=1 is the uncontended
//             cost. goro: G tasks on procs worker threads (goro::Config::workers);
//             std: G std::threads, the process pinned to the first `procs` CPUs so both
//             get the same cores.
//
// Output: impl=... workload=rwmutex mode=... procs=... tasks=... n=... ns_per_op=...
// (wall time from the first spawn until the last worker finished, divided by OPS).
// A wrong counter prints FAIL on stderr and exits 1.
#include <goro/goro.hpp>

#include <sched.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Params {
  std::string impl = "goro";
  std::string mode = "excl";
  unsigned procs = 2;
  int tasks = 1;
  long n = 2'000'000;
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::exit(2);
}

Params parse(int argc, char** argv) {
  Params p;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    if (eq == std::string::npos) die("bad arg " + arg + " (want key=value)");
    std::string key = arg.substr(0, eq), value = arg.substr(eq + 1);
    if (key == "impl") p.impl = value;
    else if (key == "mode") p.mode = value;
    else if (key == "procs") p.procs = static_cast<unsigned>(std::stoul(value));
    else if (key == "tasks") p.tasks = std::stoi(value);
    else if (key == "n") p.n = std::stol(value);
    else die("unknown key " + key);
  }
  if (p.impl != "goro" && p.impl != "std") die("impl must be goro or std");
  if (p.mode != "excl" && p.mode != "shared" && p.mode != "mixed") die("mode must be excl, shared or mixed");
  if (p.procs < 1 || p.tasks < 1 || p.n < p.tasks) die("need procs >= 1, tasks >= 1, n >= tasks");
  return p;
}

// One worker's share of the ops; returns the number of exclusive ops it did.
template <class RW>
long run_ops(RW& mu, long ops, const std::string& mode, long& counter, long& sink) {
  const int write_every = mode == "excl" ? 1 : (mode == "shared" ? 0 : 10);
  long writes = 0;
  for (long i = 0; i < ops; ++i) {
    if (write_every != 0 && i % write_every == 0) {
      mu.lock();
      ++counter;
      mu.unlock();
      ++writes;
    } else {
      mu.lock_shared();
      sink += counter;
      mu.unlock_shared();
    }
  }
  return writes;
}

struct Result {
  double seconds;
  long counter, writes;
};

Result bench_goro(const Params& p) {
  Result r{};
  const int rc = goro::run(
      [&] {
        goro::RWMutex mu;
        long counter = 0;
        std::vector<long> writes(static_cast<std::size_t>(p.tasks)), sinks(writes.size());
        goro::WaitGroup wg;
        const auto t0 = Clock::now();
        wg.add(p.tasks);
        for (int t = 0; t < p.tasks; ++t)
          goro::go_spawn([&, t] {
            writes[t] = run_ops(mu, p.n / p.tasks, p.mode, counter, sinks[t]);
            wg.done();
          });
        wg.wait();
        r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        r.counter = counter;
        for (long w : writes) r.writes += w;
        (void)goro::diag::find_leaks();  // untimed: tasks still returning after done()
      },
      goro::Config{.workers = p.procs});
  if (rc != 0) die("goro::run returned " + std::to_string(rc));
  return r;
}

Result bench_std(const Params& p) {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  for (unsigned c = 0; c < p.procs; ++c) CPU_SET(c, &cpus);
  if (sched_setaffinity(0, sizeof cpus, &cpus) != 0) die("sched_setaffinity failed");
  std::shared_mutex mu;
  long counter = 0;
  std::vector<long> writes(static_cast<std::size_t>(p.tasks)), sinks(writes.size());
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int t = 0; t < p.tasks; ++t)
    threads.emplace_back([&, t] { writes[t] = run_ops(mu, p.n / p.tasks, p.mode, counter, sinks[t]); });
  for (auto& th : threads) th.join();
  Result r{std::chrono::duration<double>(Clock::now() - t0).count(), counter, 0};
  for (long w : writes) r.writes += w;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const Params p = parse(argc, argv);
  const Result r = p.impl == "goro" ? bench_goro(p) : bench_std(p);
  if (r.counter != r.writes) {
    std::fprintf(stderr, "FAIL: counter %ld after %ld exclusive ops\n", r.counter, r.writes);
    return 1;
  }
  const long ops = p.n / p.tasks * p.tasks;
  std::printf("impl=%s workload=rwmutex mode=%s procs=%u tasks=%d n=%ld ns_per_op=%.1f\n",
              p.impl.c_str(), p.mode.c_str(), p.procs, p.tasks, ops, r.seconds * 1e9 / ops);
  return 0;
}
