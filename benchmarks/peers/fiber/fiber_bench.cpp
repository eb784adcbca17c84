// fiber_bench: the benchmark workloads of benchmarks/README.md ("Workloads") on
// Boost.Fiber, the C++ peer that benchmarks/compare.sh sets beside goro and Go.
//
//   fiber_bench <skynet|spawn|pingpong|buffered|select|parked> [key=value ...]
//     procs=1|2      1: this thread alone, Boost's default round_robin scheduler.
//                    2: this thread and one more, both running algo::work_stealing.
//     suspend=0|1    work_stealing only: 0 (Boost's default) lets an idle thread poll for
//                    work, 1 puts it to sleep until another thread readies a fiber.
//     launch=post|dispatch  how a fiber starts: post (like Go's `go`: the spawner keeps
//                    running) or dispatch (the child runs at once, the parent is requeued).
//     stack=fixed16|fixed128|pooled16|prot16|prot128  the stack allocator: fixedsize (malloc,
//                    no guard), pooled fixedsize (boost::pool) or protected fixedsize (mmap
//                    plus a guard page), 16 KiB or Boost's default 128 KiB. Default fixed16.
//     n=N            iteration count; skynet: size=LEAVES (a power of 10, default 1000000)
//                    and chan=unbuf|buf; buffered: p=, c=, cap=; select: cap=
//
//   $ fiber_bench pingpong procs=1 n=1000000
//   impl=fiber workload=pingpong procs=1 mode=rr suspend=1 stack=fixed16 launch=post n=1000000 wall_ms=... ns_per_op=...
//
// Output: one line of key=value pairs in the format goro_bench and gobench print, so
// compare.py can set them side by side. A wrong result prints "FAIL: ..." on stderr and
// exits 1; a bad argument exits 2.
//
// Boost.Fiber has no select: the select workload polls both channels with try_pop and
// yields when both are empty (a busy loop, not a blocking wait). Boost's buffered_channel
// needs a power-of-two capacity and holds one item less than it.
//
// Every workload body runs in a fresh fiber (the "measuring task", which may be stolen
// like any other), never in a thread's main fiber; the clock is read inside it. The
// process ends with std::_Exit: the parked workload leaves its fibers blocked for good.
#include <boost/fiber/algo/work_stealing.hpp>
#include <boost/fiber/all.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

namespace fibers = boost::fibers;
using Clock = std::chrono::steady_clock;
using Value = std::int64_t;
using Unbuffered = fibers::unbuffered_channel<Value>;
using Buffered = fibers::buffered_channel<Value>;

[[noreturn]] void fail(const std::string& what) {
  std::fflush(stdout);
  std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  std::_Exit(1);
}

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "fiber_bench: %s\n", what.c_str());
  std::_Exit(2);
}

double millis_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A field of /proc/self/status in KiB ("VmRSS", "VmHWM"), or -1.
long status_kib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, field.size(), field) == 0 && line.size() > field.size() &&
        line[field.size()] == ':')
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

long mapping_count() {
  std::ifstream in("/proc/self/maps");
  long lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

// The key=value arguments after the workload name.
class Args {
 public:
  Args(int argc, char** argv) {
    for (int i = 2; i < argc; ++i) {
      const char* eq = std::strchr(argv[i], '=');
      if (eq == nullptr) usage_error(std::string("expected key=value, got '") + argv[i] + "'");
      values_[std::string(argv[i], static_cast<std::size_t>(eq - argv[i]))] = eq + 1;
    }
  }
  long number(const std::string& key, long fallback) const {
    auto it = values_.find(key);
    if (it == values_.end()) return fallback;
    char* end = nullptr;
    long v = std::strtol(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0') usage_error("bad " + key + "=" + it->second);
    return v;
  }
  std::string text(const std::string& key, const std::string& fallback) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : it->second;
  }

 private:
  std::map<std::string, std::string> values_;
};

// How fibers are started and scheduled; fixed for the whole process.
struct Setup {
  int procs = 1;
  bool suspend = false;
  fibers::launch launch = fibers::launch::post;
  std::string launch_name = "post";
  std::string stack = "fixed16";
  std::shared_ptr<fibers::pooled_fixedsize_stack> pool;  // stack=pooled16 only

  // The configuration keys every result line starts with.
  std::string header(const char* workload) const {
    std::ostringstream out;
    // round_robin always sleeps when idle; work_stealing only with suspend=1.
    out << "impl=fiber workload=" << workload << " procs=" << procs
        << " mode=" << (procs == 1 ? "rr" : "ws") << " suspend=" << (procs == 1 || suspend ? 1 : 0)
        << " stack=" << stack << " launch=" << launch_name;
    return out.str();
  }

  template <class F>
  fibers::fiber start(F&& fn) const {
    constexpr std::size_t k16 = 16 * 1024;
    if (stack == "fixed16")
      return fibers::fiber(launch, std::allocator_arg, fibers::fixedsize_stack(k16), std::forward<F>(fn));
    if (stack == "fixed128")
      return fibers::fiber(launch, std::allocator_arg, fibers::fixedsize_stack(), std::forward<F>(fn));
    if (stack == "pooled16")
      return fibers::fiber(launch, std::allocator_arg, *pool, std::forward<F>(fn));
    if (stack == "prot16")
      return fibers::fiber(launch, std::allocator_arg, fibers::protected_fixedsize_stack(k16),
                           std::forward<F>(fn));
    if (stack == "prot128")
      return fibers::fiber(launch, std::allocator_arg, fibers::protected_fixedsize_stack(),
                           std::forward<F>(fn));
    usage_error("unknown stack=" + stack);
  }
};

const Setup* setup = nullptr;

// Runs `body` in a fresh fiber and returns when it has ended. With procs=2 a second
// thread joins the work-stealing pool for the duration: its main fiber waits on a fiber
// condition variable, so its scheduler runs the fibers it steals meanwhile.
void run_measured(const std::function<void()>& body) {
  if (setup->procs == 1) {
    setup->start(body).join();
    return;
  }
  fibers::mutex mu;
  fibers::condition_variable finished_cv;
  bool finished = false;
  std::thread helper([&] {
    fibers::use_scheduling_algorithm<fibers::algo::work_stealing>(setup->procs, setup->suspend);
    std::unique_lock<fibers::mutex> lock(mu);
    finished_cv.wait(lock, [&] { return finished; });
  });
  fibers::use_scheduling_algorithm<fibers::algo::work_stealing>(setup->procs, setup->suspend);
  setup->start(body).join();
  {
    std::unique_lock<fibers::mutex> lock(mu);
    finished = true;
  }
  finished_cv.notify_all();
  helper.join();
}

// ---------------------------------------------------------------- skynet
// Each inner node spawns ten children, in order, on a channel of its own, and sends the
// sum of what they send back; a leaf sends its number.
template <class Chan>
std::unique_ptr<Chan> make_skynet_channel() {
  if constexpr (std::is_same_v<Chan, Buffered>) {
    return std::make_unique<Chan>(16);  // 15 usable slots: a child's send never waits
  } else {
    return std::make_unique<Chan>();
  }
}

template <class Chan>
void skynet_node(Chan& out, Value num, Value size) {
  if (size == 1) {
    out.push(num);
    return;
  }
  auto children = make_skynet_channel<Chan>();
  Chan& to_parent = *children;
  const Value child_size = size / 10;
  for (Value i = 0; i < 10; ++i) {
    const Value child_num = num + i * child_size;
    setup->start([&to_parent, child_num, child_size] { skynet_node(to_parent, child_num, child_size); })
        .detach();
  }
  Value sum = 0;
  for (int i = 0; i < 10; ++i) sum += children->value_pop();
  out.push(sum);
}

template <class Chan>
void skynet(const Args& args, const std::string& chan_kind) {
  const Value leaves = args.number("size", 1000000);
  Value tasks = 0;  // 1 + 10 + ... + leaves
  for (Value level = 1; level <= leaves; level *= 10) tasks += level;
  if (leaves < 1 || tasks != (leaves * 10 - 1) / 9) usage_error("size must be a power of 10");
  double ms = 0;
  Value result = 0;
  run_measured([&] {
    const auto start = Clock::now();
    auto top = make_skynet_channel<Chan>();
    Chan& root_out = *top;
    setup->start([&root_out, leaves] { skynet_node(root_out, 0, leaves); }).detach();
    result = top->value_pop();
    ms = millis_since(start);
  });
  const Value want = leaves * (leaves - 1) / 2;
  if (result != want) fail("skynet: sum " + std::to_string(result) + ", want " + std::to_string(want));
  // Like goro_bench and gobench: size is printed only when it is not the default.
  const std::string size_key = leaves == 1000000 ? "" : " size=" + std::to_string(leaves);
  std::printf("%s chan=%s%s wall_ms=%.2f ns_per_op=%.1f result=%lld peak_rss_mb=%.1f\n",
              setup->header("skynet").c_str(), chan_kind.c_str(), size_key.c_str(), ms,
              ms * 1e6 / static_cast<double>(tasks), static_cast<long long>(result),
              status_kib("VmHWM") / 1024.0);
}

// ---------------------------------------------------------------- spawn
// N fibers that each decrement a counter; the last one fulfils the promise the
// measuring fiber waits on.
void spawn(const Args& args) {
  const long n = args.number("n", 1000000);
  double ms = 0;
  run_measured([&] {
    std::atomic<long> remaining{n};
    fibers::promise<void> all_ran;
    fibers::future<void> all_ran_future = all_ran.get_future();
    const auto start = Clock::now();
    for (long i = 0; i < n; ++i) {
      setup->start([&] {
        if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) all_ran.set_value();
      }).detach();
    }
    all_ran_future.wait();
    ms = millis_since(start);
  });
  std::printf("%s n=%ld wall_ms=%.2f ns_per_op=%.1f peak_rss_mb=%.1f\n", setup->header("spawn").c_str(), n,
              ms, ms * 1e6 / static_cast<double>(n), status_kib("VmHWM") / 1024.0);
}

// ---------------------------------------------------------------- pingpong
// The measuring fiber sends i on `ping` and expects i back on `pong`, N times.
void pingpong(const Args& args) {
  const long n = args.number("n", 1000000);
  double ms = 0;
  run_measured([&] {
    Unbuffered ping, pong;
    const auto start = Clock::now();
    fibers::fiber echo = setup->start([&] {
      for (long i = 0; i < n; ++i) pong.push(ping.value_pop());
    });
    for (long i = 0; i < n; ++i) {
      ping.push(i);
      if (pong.value_pop() != i) fail("pingpong: answer out of order");
    }
    echo.join();
    ms = millis_since(start);
  });
  std::printf("%s n=%ld wall_ms=%.2f ns_per_op=%.1f\n", setup->header("pingpong").c_str(), n, ms,
              ms * 1e6 / static_cast<double>(n));
}

// ---------------------------------------------------------------- buffered
// C consumers (started first) sum what P producers send through one channel; the
// producers are joined, the channel closed, the consumers joined.
void buffered(const Args& args) {
  const long n = args.number("n", 10000000), producers = args.number("p", 1),
             consumers = args.number("c", 1), cap = args.number("cap", 128);
  if (producers <= 0 || consumers <= 0 || n % producers != 0) usage_error("n must be a multiple of p > 0, c > 0");
  double ms = 0;
  Value total = 0;
  run_measured([&] {
    Buffered items(cap);
    std::vector<Value> sums(consumers, 0);
    std::vector<fibers::fiber> consumer_fibers, producer_fibers;
    const long per_producer = n / producers;
    const auto start = Clock::now();
    for (long c = 0; c < consumers; ++c) {
      consumer_fibers.push_back(setup->start([&, c] {
        Value sum = 0, v = 0;
        while (items.pop(v) == fibers::channel_op_status::success) sum += v;
        sums[c] = sum;
      }));
    }
    for (long p = 0; p < producers; ++p) {
      producer_fibers.push_back(setup->start([&, p] {
        const Value first = p * per_producer;
        for (Value i = 0; i < per_producer; ++i) items.push(first + i);
      }));
    }
    for (auto& f : producer_fibers) f.join();
    items.close();
    for (auto& f : consumer_fibers) f.join();
    ms = millis_since(start);
    for (Value s : sums) total += s;
  });
  if (total != static_cast<Value>(n) * (n - 1) / 2) fail("buffered: wrong sum " + std::to_string(total));
  const double ns = ms * 1e6 / static_cast<double>(n);
  std::printf("%s p=%ld c=%ld cap=%ld n=%ld wall_ms=%.2f ns_per_op=%.2f items_per_s=%.0f\n",
              setup->header("buffered").c_str(), producers, consumers, cap, n, ms, ns, 1e9 / ns);
}

// ---------------------------------------------------------------- select
// Two producers fill one channel each; the measuring fiber takes N values from
// whichever has one, polling (see the file comment). cap=0 becomes a one-slot channel,
// since Boost's unbuffered_channel cannot be polled.
void polled_select(const Args& args) {
  const long n = args.number("n", 1000000), cap = args.number("cap", 0);
  if (n % 2 != 0) usage_error("n must be even");
  double ms = 0;
  Value sum = 0;
  long yields = 0;
  run_measured([&] {
    Buffered first(cap == 0 ? 2 : cap), second(cap == 0 ? 2 : cap);
    const long half = n / 2;
    const auto start = Clock::now();
    fibers::fiber fill_first = setup->start([&] {
      for (long i = 0; i < half; ++i) first.push(i);
    });
    fibers::fiber fill_second = setup->start([&] {
      for (long i = 0; i < half; ++i) second.push(half + i);
    });
    bool first_goes_first = true;
    for (long received = 0; received < n;) {
      Buffered& a = first_goes_first ? first : second;
      Buffered& b = first_goes_first ? second : first;
      first_goes_first = !first_goes_first;  // alternate, so neither channel is favoured
      Value v = 0;
      if (a.try_pop(v) == fibers::channel_op_status::success ||
          b.try_pop(v) == fibers::channel_op_status::success) {
        sum += v;
        ++received;
      } else {
        ++yields;
        boost::this_fiber::yield();
      }
    }
    fill_first.join();
    fill_second.join();
    ms = millis_since(start);
  });
  if (sum != static_cast<Value>(n) * (n - 1) / 2) fail("select: wrong sum " + std::to_string(sum));
  std::printf("%s cap=%ld n=%ld wall_ms=%.2f ns_per_op=%.1f yields_per_select=%.2f\n",
              setup->header("select").c_str(), cap, n, ms, ms * 1e6 / static_cast<double>(n),
              static_cast<double>(yields) / static_cast<double>(n));
}

// ---------------------------------------------------------------- parked
// RSS added by N fibers that each block forever receiving on a channel of their own.
// The handle array is allocated before the baseline is read.
[[noreturn]] void parked(const Args& args) {
  const long n = args.number("n", 100000);
  std::vector<std::unique_ptr<Unbuffered>> channels(static_cast<std::size_t>(n));
  run_measured([&] {
    std::atomic<long> not_started{n};
    fibers::promise<void> all_parked;
    fibers::future<void> all_parked_future = all_parked.get_future();
    const long rss_before = status_kib("VmRSS"), maps_before = mapping_count();
    std::optional<std::string> error;
    long started = 0;
    try {
      for (; started < n; ++started) {
        channels[started] = std::make_unique<Unbuffered>();
        Unbuffered* never_sent = channels[started].get();
        setup->start([never_sent, &not_started, &all_parked] {
          if (not_started.fetch_sub(1, std::memory_order_acq_rel) == 1) all_parked.set_value();
          never_sent->value_pop();
        }).detach();
      }
      all_parked_future.wait();
    } catch (const std::exception& e) {
      error = e.what();  // e.g. protected stacks beyond vm.max_map_count
      for (int i = 0; i < 100; ++i) boost::this_fiber::yield();
    }
    boost::this_fiber::sleep_for(std::chrono::milliseconds(100));
    const long rss_after = status_kib("VmRSS"), maps_after = mapping_count();
    const double per_task = started > 0 ? (rss_after - rss_before) * 1024.0 / static_cast<double>(started) : 0;
    if (error) {
      for (char& ch : *error)
        if (ch == ' ') ch = '_';
      std::printf("%s n=%ld status=FAILED error=%s spawned=%ld rss_base_kb=%ld rss_kb=%ld bytes_per_task=%.0f\n",
                  setup->header("parked").c_str(), n, error->c_str(), started, rss_before, rss_after, per_task);
    } else {
      std::printf("%s n=%ld rss_base_kb=%ld rss_kb=%ld bytes_per_task=%.0f maps_added=%ld\n",
                  setup->header("parked").c_str(), n, rss_before, rss_after, per_task, maps_after - maps_before);
    }
    std::fflush(stdout);
    std::_Exit(error ? 1 : 0);  // the parked fibers are never woken
  });
  std::_Exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage_error("usage: fiber_bench <skynet|spawn|pingpong|buffered|select|parked> [key=value ...]");
  const std::string workload = argv[1];
  const Args args(argc, argv);

  Setup s;
  s.procs = static_cast<int>(args.number("procs", 1));
  if (s.procs != 1 && s.procs != 2) usage_error("procs must be 1 or 2");
  s.suspend = args.number("suspend", 0) != 0;
  s.launch_name = args.text("launch", "post");
  if (s.launch_name == "dispatch") {
    s.launch = fibers::launch::dispatch;
  } else if (s.launch_name != "post") {
    usage_error("launch must be post or dispatch");
  }
  s.stack = args.text("stack", "fixed16");
  if (s.stack == "pooled16") s.pool = std::make_shared<fibers::pooled_fixedsize_stack>(16 * 1024);
  setup = &s;

  if (workload == "skynet") {
    const std::string chan = args.text("chan", "unbuf");
    if (chan == "unbuf") {
      skynet<Unbuffered>(args, chan);
    } else if (chan == "buf") {
      skynet<Buffered>(args, chan);
    } else {
      usage_error("chan must be unbuf or buf");
    }
  } else if (workload == "spawn") {
    spawn(args);
  } else if (workload == "pingpong") {
    pingpong(args);
  } else if (workload == "buffered") {
    buffered(args);
  } else if (workload == "select") {
    polled_select(args);
  } else if (workload == "parked") {
    parked(args);
  } else {
    usage_error("unknown workload '" + workload + "'");
  }
  std::fflush(stdout);
  // work_stealing keeps its schedulers in a static registry; skip static destructors
  // rather than depend on their order.
  std::_Exit(0);
}
