// goro_bench: the benchmark workloads (benchmarks/README.md, "Workloads") on goro.
//
//   goro_bench <skynet|spawn|pingpong|buffered|select|parked|pipepingpong> [key=value ...]
//     procs=N     worker threads (goro::Config::workers), default 2
//     n=N         iteration count (per workload default as in benchmarks/README.md)
//     skynet:     chan=unbuf|buf (buf = capacity 16), size=1000000 (leaves; a power of 10)
//     buffered:   p=producers c=consumers cap=capacity (default 1, 1, 128)
//     select:     cap=capacity of both channels (default 0 = unbuffered)
//     pipepingpong: two tasks pass a counter through two non-blocking pipes, each waiting
//                 in goro::io (the poller); ns_per_op is one round trip
//     stack=B     goro::Config::stack_size in bytes (default 0 = goro's default)
//
// Prints one line of space-separated key=value pairs, in the format of the Go and
// Boost.Fiber peers, with impl=goro; exits non-zero when a result is wrong.
//
// Timing rule (benchmarks/README.md, "Workloads"): wall time on steady_clock, read
// inside the measuring task (goro::run's main task), from just before the first task of the workload is spawned
// until the result is in the measuring task's hands. Runtime start-up, worker creation
// and teardown are excluded. After the clock stops, the measuring task waits (untimed)
// for the workload's tasks to finish, so that goro::run's exit leak check sees none.
#include <goro/goro.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

using clk = std::chrono::steady_clock;
using i64 = std::int64_t;

std::map<std::string, std::string> g_args;

long arg_long(const char* key, long def) {
  auto it = g_args.find(key);
  if (it == g_args.end()) return def;
  char* end = nullptr;
  long v = std::strtol(it->second.c_str(), &end, 10);
  if (end == it->second.c_str() || *end != '\0') {
    std::fprintf(stderr, "bad %s=%s\n", key, it->second.c_str());
    std::exit(2);
  }
  return v;
}

std::string arg_str(const char* key, const char* def) {
  auto it = g_args.find(key);
  return it == g_args.end() ? std::string(def) : it->second;
}

// A field of /proc/self/status ("VmRSS", "VmHWM"), in KiB; -1 if unavailable.
long proc_status_kb(const char* field) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  const std::size_t len = std::strlen(field);
  long v = -1;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, field, len) == 0 && line[len] == ':') {
      v = std::strtol(line + len + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return v;
}

long count_maps() {
  FILE* f = std::fopen("/proc/self/maps", "r");
  if (!f) return -1;
  long n = 0;
  for (int ch; (ch = std::fgetc(f)) != EOF;)
    if (ch == '\n') ++n;
  std::fclose(f);
  return n;
}

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "FAIL: %s\n", msg.c_str());
  std::fflush(stdout);
  std::_Exit(1);
}

double ms_since(clk::time_point t0) {
  return std::chrono::duration<double, std::milli>(clk::now() - t0).count();
}

double peak_rss_mb() { return static_cast<double>(proc_status_kb("VmHWM")) / 1024.0; }

// Untimed: give tasks that already delivered their last value time to return, so the
// exit leak check of goro::run has nothing to report. Anything left after goleak's
// bounded wait is a real problem and is said on stderr (the run's numbers still stand).
void settle(const char* workload) {
  auto left = goro::diag::find_leaks();
  if (!left.empty()) {
    std::fprintf(stderr, "goro_bench %s: %zu task(s) still alive after the workload finished\n", workload,
                 left.size());
    goro::diag::dump_blocked(std::cerr);
  }
}

unsigned g_procs = 2;

// ---------------------------------------------------------------- 1. skynet
std::size_t g_skynet_cap = 0;  // 0: canonical (unbuffered); 16: chan=buf

void skynet(goro::Channel<i64> out, i64 num, i64 size) {
  if (size == 1) {
    out.send(num);
    return;
  }
  goro::Channel<i64> rc(g_skynet_cap);  // one per parent
  const i64 sub = size / 10;
  for (i64 i = 0; i < 10; ++i) {
    goro::go_spawn([rc, num, i, sub] { skynet(rc, num + i * sub, sub); });
  }
  i64 sum = 0;
  for (int i = 0; i < 10; ++i) sum += *rc.recv();
  out.send(sum);
}

void run_skynet() {
  const std::string chan = arg_str("chan", "unbuf");
  if (chan == "unbuf") {
    g_skynet_cap = 0;
  } else if (chan == "buf") {
    g_skynet_cap = 16;
  } else {
    fail("chan must be unbuf or buf");
  }
  const long size = arg_long("size", 1000000);
  i64 tasks = 0;  // 1 + 10 + ... + size
  for (i64 s = size; s >= 1; s /= 10) {
    tasks += size / s;
    if (s != 1 && s % 10 != 0) fail("size must be a power of 10");
  }
  const auto t0 = clk::now();
  goro::Channel<i64> c(g_skynet_cap);
  goro::go_spawn([c, size] { skynet(c, 0, size); });
  const std::optional<i64> r = c.recv();
  const double ms = ms_since(t0);
  const i64 want = static_cast<i64>(size) * (size - 1) / 2;
  if (!r || *r != want) fail("skynet result " + (r ? std::to_string(*r) : std::string("nullopt")));
  settle("skynet");
  std::string size_kv = size == 1000000 ? "" : " size=" + std::to_string(size);
  std::printf("impl=goro workload=skynet procs=%u chan=%s%s wall_ms=%.2f ns_per_op=%.1f result=%lld peak_rss_mb=%.1f\n",
              g_procs, chan.c_str(), size_kv.c_str(), ms, ms * 1e6 / static_cast<double>(tasks),
              static_cast<long long>(*r), peak_rss_mb());
}

// ---------------------------------------------------------------- 2. spawn
void run_spawn() {
  const long n = arg_long("n", 1000000);
  goro::WaitGroup wg;
  const auto t0 = clk::now();
  wg.add(static_cast<int>(n));
  for (long i = 0; i < n; ++i) goro::go_spawn([&wg] { wg.done(); });
  wg.wait();
  const double ms = ms_since(t0);
  settle("spawn");
  std::printf("impl=goro workload=spawn procs=%u n=%ld wall_ms=%.2f ns_per_op=%.1f peak_rss_mb=%.1f\n", g_procs, n, ms,
              ms * 1e6 / static_cast<double>(n), peak_rss_mb());
}

// ---------------------------------------------------------------- 3. pingpong
void run_pingpong() {
  const long n = arg_long("n", 1000000);
  goro::Channel<i64> ping, pong;
  goro::WaitGroup joined;
  joined.add(1);
  const auto t0 = clk::now();
  goro::go_spawn([=, &joined]() mutable {
    for (long i = 0; i < n; ++i) {
      std::optional<i64> v = ping.recv();
      pong.send(*v);
    }
    joined.done();
  });
  for (i64 i = 0; i < n; ++i) {
    ping.send(i);
    std::optional<i64> v = pong.recv();
    if (!v || *v != i) fail("pingpong mismatch at " + std::to_string(i));
  }
  const double ms = ms_since(t0);
  joined.wait();
  settle("pingpong");
  std::printf("impl=goro workload=pingpong procs=%u n=%ld wall_ms=%.2f ns_per_op=%.1f\n", g_procs, n, ms,
              ms * 1e6 / static_cast<double>(n));
}

// ---------------------------------------------------------------- 3b. pipepingpong
// Reads exactly one i64 from the non-blocking fd, parking in the poller while it is empty.
i64 pipe_read(int fd) {
  i64 v = 0;
  for (;;) {
    const ssize_t got = ::read(fd, &v, sizeof v);
    if (got == static_cast<ssize_t>(sizeof v)) return v;
    if (got >= 0 || errno != EAGAIN) fail("pipepingpong: read failed");
    goro::io::wait_readable(fd);
  }
}

void pipe_write(int fd, i64 v) {
  if (::write(fd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) fail("pipepingpong: write failed");
}

void run_pipepingpong() {
  const long n = arg_long("n", 200000);
  int there[2], back[2];
  if (::pipe2(there, O_NONBLOCK | O_CLOEXEC) != 0 || ::pipe2(back, O_NONBLOCK | O_CLOEXEC) != 0)
    fail("pipepingpong: pipe2 failed");
  goro::WaitGroup joined;
  joined.add(1);
  const auto t0 = clk::now();
  goro::go_spawn([=, &joined] {
    goro::io::Registration reg(there[0]);
    for (long i = 0; i < n; ++i) pipe_write(back[1], pipe_read(there[0]));
    joined.done();
  });
  {
    goro::io::Registration reg(back[0]);
    for (i64 i = 0; i < n; ++i) {
      pipe_write(there[1], i);
      if (pipe_read(back[0]) != i) fail("pipepingpong mismatch at " + std::to_string(i));
    }
  }
  const double ms = ms_since(t0);
  joined.wait();
  settle("pipepingpong");
  for (int fd : {there[0], there[1], back[0], back[1]}) ::close(fd);
  std::printf("impl=goro workload=pipepingpong procs=%u n=%ld wall_ms=%.2f ns_per_op=%.1f\n", g_procs, n, ms,
              ms * 1e6 / static_cast<double>(n));
}

// ---------------------------------------------------------------- 4. buffered
void run_buffered() {
  const long n = arg_long("n", 10000000);
  const long np = arg_long("p", 1);
  const long nc = arg_long("c", 1);
  const long cap = arg_long("cap", 128);
  if (np < 1 || nc < 1 || n % np != 0) fail("need p>=1, c>=1 and n divisible by p");
  const long per = n / np;
  goro::Channel<i64> ch(static_cast<std::size_t>(cap));
  std::vector<i64> sums(static_cast<std::size_t>(nc), 0);
  goro::WaitGroup pwg, cwg;
  const auto t0 = clk::now();
  cwg.add(static_cast<int>(nc));
  for (long c = 0; c < nc; ++c) {
    goro::go_spawn([ch, &sums, &cwg, c]() mutable {
      i64 s = 0;
      for (i64 v : ch) s += v;
      sums[static_cast<std::size_t>(c)] = s;
      cwg.done();
    });
  }
  pwg.add(static_cast<int>(np));
  for (long p = 0; p < np; ++p) {
    goro::go_spawn([ch, &pwg, p, per]() mutable {
      const i64 base = static_cast<i64>(p) * per;
      for (i64 i = 0; i < per; ++i) ch.send(base + i);
      pwg.done();
    });
  }
  pwg.wait();
  ch.close();
  cwg.wait();
  const double ms = ms_since(t0);
  i64 total = 0;
  for (i64 s : sums) total += s;
  const i64 want = static_cast<i64>(n) * (n - 1) / 2;
  if (total != want) fail("buffered sum " + std::to_string(total) + " want " + std::to_string(want));
  settle("buffered");
  const double ns = ms * 1e6 / static_cast<double>(n);
  std::printf("impl=goro workload=buffered procs=%u p=%ld c=%ld cap=%ld n=%ld wall_ms=%.2f ns_per_op=%.2f items_per_s=%.0f\n",
              g_procs, np, nc, cap, n, ms, ns, 1e9 / ns);
}

// ---------------------------------------------------------------- 5. select
void run_select() {
  const long n = arg_long("n", 1000000);
  const long cap = arg_long("cap", 0);
  if (n % 2 != 0) fail("n must be even");
  const i64 half = n / 2;
  goro::Channel<i64> c1(static_cast<std::size_t>(cap)), c2(static_cast<std::size_t>(cap));
  goro::WaitGroup joined;
  joined.add(2);
  const auto t0 = clk::now();
  goro::go_spawn([c1, half, &joined]() mutable {
    for (i64 i = 0; i < half; ++i) c1.send(i);
    joined.done();
  });
  goro::go_spawn([c2, half, &joined]() mutable {
    for (i64 i = 0; i < half; ++i) c2.send(half + i);
    joined.done();
  });
  i64 sum = 0, from1 = 0;
  std::optional<i64> v1, v2;
  for (long i = 0; i < n; ++i) {
    const std::size_t k = goro::select(goro::recv_case(c1, v1), goro::recv_case(c2, v2));
    if (k == 0) {
      if (!v1) fail("select: c1 closed");
      sum += *v1;
      ++from1;
    } else if (k == 1) {
      if (!v2) fail("select: c2 closed");
      sum += *v2;
    } else {
      fail("select returned " + std::to_string(k));
    }
  }
  const double ms = ms_since(t0);
  const i64 want = static_cast<i64>(n) * (n - 1) / 2;
  if (sum != want || from1 != half)
    fail("select sum " + std::to_string(sum) + " want " + std::to_string(want) + ", from c1 " +
         std::to_string(from1) + " want " + std::to_string(half));
  joined.wait();
  settle("select");
  std::printf("impl=goro workload=select procs=%u cap=%ld n=%ld wall_ms=%.2f ns_per_op=%.1f\n", g_procs, cap, n, ms,
              ms * 1e6 / static_cast<double>(n));
}

// ---------------------------------------------------------------- 6. parked
void run_parked(std::size_t stack_size) {
  using namespace std::chrono_literals;
  const long n = arg_long("n", 100000);
  // The handle array is allocated and touched before the baseline.
  std::vector<std::optional<goro::Channel<i64>>> handles(static_cast<std::size_t>(n));
  goro::sleep_for(20ms);
  const long base = proc_status_kb("VmRSS");
  const long maps0 = count_maps();
  goro::WaitGroup started;
  started.add(static_cast<int>(n));
  for (long i = 0; i < n; ++i) {
    goro::Channel<i64> ch;  // unbuffered, never sent on
    handles[static_cast<std::size_t>(i)] = ch;
    goro::go_spawn([ch, &started]() mutable {
      started.done();
      (void)ch.recv();  // blocks forever
    });
  }
  started.wait();
  goro::sleep_for(100ms);  // let every task reach its receive and park
  const long after = proc_status_kb("VmRSS");
  const long maps1 = count_maps();
  const std::string stack = stack_size == 0 ? std::string("default") : std::to_string(stack_size);
  std::printf("impl=goro workload=parked procs=%u n=%ld stack=%s rss_base_kb=%ld rss_kb=%ld bytes_per_task=%.0f maps_added=%ld\n",
              g_procs, n, stack.c_str(), base, after,
              static_cast<double>(after - base) * 1024.0 / static_cast<double>(n), maps1 - maps0);
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(0);  // the parked tasks are never woken
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: goro_bench <skynet|spawn|pingpong|buffered|select|parked|pipepingpong> [key=value ...]\n");
    return 2;
  }
  const std::string workload = argv[1];
  for (int i = 2; i < argc; ++i) {
    const char* eq = std::strchr(argv[i], '=');
    if (!eq) {
      std::fprintf(stderr, "bad arg %s (want key=value)\n", argv[i]);
      return 2;
    }
    g_args[std::string(argv[i], static_cast<std::size_t>(eq - argv[i]))] = eq + 1;
  }
  const long procs = arg_long("procs", 2);
  if (procs < 1) {
    std::fprintf(stderr, "procs must be >= 1\n");
    return 2;
  }
  g_procs = static_cast<unsigned>(procs);
  const auto stack_size = static_cast<std::size_t>(arg_long("stack", 0));

  std::function<void()> body;
  if (workload == "skynet") {
    body = run_skynet;
  } else if (workload == "spawn") {
    body = run_spawn;
  } else if (workload == "pingpong") {
    body = run_pingpong;
  } else if (workload == "pipepingpong") {
    body = run_pipepingpong;
  } else if (workload == "buffered") {
    body = run_buffered;
  } else if (workload == "select") {
    body = run_select;
  } else if (workload == "parked") {
    body = [stack_size] { run_parked(stack_size); };
  } else {
    std::fprintf(stderr, "unknown workload %s\n", workload.c_str());
    return 2;
  }
  const int rc = goro::run(body, goro::Config{.workers = g_procs, .stack_size = stack_size});
  std::fflush(stdout);
  if (rc != 0) std::fprintf(stderr, "goro_bench %s: goro::run returned %d\n", workload.c_str(), rc);
  return rc;
}
