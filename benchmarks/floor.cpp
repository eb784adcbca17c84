// floor_bench: the least a correct cooperative single-threaded scheduler built on
// Boost.Context must do for goro_bench's pingpong and select cap 0, and a raw context
// switch. It is a lower bound to hold goro's procs=1 numbers against; it does not use goro.
//
//   floor_bench pingpong n=1000000       ns per round trip on two unbuffered channels
//   floor_bench select cap=0 n=1000000   ns per two-case receive select, unbuffered
//   floor_bench switch n=10000000        ns per jump_fcontext between two contexts
//
// What it does: fibers on 64 KiB stacks (make_fcontext / jump_fcontext), a fixed FIFO
// ring of ready fibers, and a loop on the main thread that pops one and switches to it; a
// fiber that blocks switches back to that loop, as goro's tasks do to their worker. A
// channel carries int64 values and has room for one parked sender and one parked receiver
// (the receiver may be a select parked on two channels): the workloads need no more.
// What goro does and this leaves out: several workers, stealing, and the atomics and locks
// they need; wait records and the task registry behind dumps and leak checks; timers, the
// poller, closing, cancellation; channels of any T, with buffers and queues of waiters;
// stack pools, guard pages, exceptions. The gap to goro is what those cost.
// One thing goes the other way: on x86-64 goro switches with its own inline code, which
// saves less than jump_fcontext (runtime/src/switch.hpp), so the switch here costs more.
//
// Output: one line in goro_bench's format, impl=floor procs=1; exits non-zero when a
// result is wrong. Timing as in workloads.cpp: steady_clock read inside the measuring
// fiber, from just before the first spawn until the result is in its hands.
#include <boost/context/detail/fcontext.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <utility>

namespace {

namespace ctx = boost::context::detail;
using clk = std::chrono::steady_clock;
using i64 = std::int64_t;

[[noreturn]] void fail(const char* msg) {
  std::fprintf(stderr, "FAIL: %s\n", msg);
  std::fflush(stdout);
  std::_Exit(1);
}

// ---------------------------------------------------------------- fibers and the loop
constexpr std::size_t kStackSize = 64 * 1024;

struct Fiber {
  ctx::fcontext_t context = nullptr;  // where to resume it; valid while it is not running
  std::function<void()> body;
  void* stack = nullptr;
  bool done = false;
};

// The ready queue: a FIFO ring. The workloads have at most four fibers, each in it at
// most once, so it cannot fill.
constexpr std::uint32_t kRingSize = 16;
Fiber* g_ring[kRingSize];
std::uint32_t g_head = 0, g_tail = 0;

ctx::fcontext_t g_loop = nullptr;  // the loop's context, handed over by every switch into a fiber
Fiber* g_running = nullptr;
int g_live = 0;

void ready(Fiber* f) {
  if (g_tail - g_head == kRingSize) fail("ready queue full");
  g_ring[g_tail++ % kRingSize] = f;
}

// Back to the loop; returns when someone has made this fiber ready and the loop picked it.
void park() {
  const ctx::transfer_t back = ctx::jump_fcontext(g_loop, nullptr);
  g_loop = back.fctx;
}

void fiber_entry(ctx::transfer_t from) {
  g_loop = from.fctx;
  auto* self = static_cast<Fiber*>(from.data);
  self->body();
  self->done = true;
  ctx::jump_fcontext(g_loop, nullptr);  // never resumed
  std::abort();
}

void spawn(std::function<void()> body) {
  auto* f = new Fiber;
  f->body = std::move(body);
  f->stack = std::aligned_alloc(64, kStackSize);
  if (!f->stack) fail("out of memory");
  f->context = ctx::make_fcontext(static_cast<char*>(f->stack) + kStackSize, kStackSize, &fiber_entry);
  ++g_live;
  ready(f);
}

// Runs fibers until none is ready; every fiber must have finished by then.
void run_loop() {
  while (g_head != g_tail) {
    Fiber* f = g_ring[g_head++ % kRingSize];
    g_running = f;
    const ctx::transfer_t back = ctx::jump_fcontext(f->context, f);
    f->context = back.fctx;
    if (f->done) {
      std::free(f->stack);
      delete f;
      --g_live;
    }
  }
  g_running = nullptr;
  if (g_live != 0) fail("deadlock: fibers parked with nothing ready");
}

// ---------------------------------------------------------------- channels and select
struct Chan;

// A parked receiver: a plain receive waits on one channel, a select on two. The sender
// that completes it fills `value` and `from` (the case index) and unregisters it from the
// other channel.
struct Receiver {
  Fiber* fiber;
  Chan* chans[2];
  int count;
  i64 value;
  int from;
};

// Unbuffered: a value moves only from a parked sender to a receiver or from a sender to a
// parked receiver. One sender and one receiver at a time, as in the workloads.
struct Chan {
  Fiber* sender = nullptr;  // parked in send, offering sent_value
  i64 sent_value = 0;
  Receiver* receiver = nullptr;  // parked in recv or select
  int receiver_case = 0;         // which of the receiver's cases this channel is
};

void send(Chan& c, i64 v) {
  if (Receiver* r = c.receiver) {
    for (int i = 0; i < r->count; ++i) r->chans[i]->receiver = nullptr;
    r->value = v;
    r->from = c.receiver_case;
    ready(r->fiber);
    return;
  }
  if (c.sender) fail("two senders on one channel");
  c.sender = g_running;
  c.sent_value = v;
  park();  // the receiver took the value and readied us
}

// Takes the parked sender's value, if there is one.
bool try_take(Chan& c, i64& out) {
  Fiber* s = c.sender;
  if (!s) return false;
  out = c.sent_value;
  c.sender = nullptr;
  ready(s);
  return true;
}

void wait_on(Receiver& r) {
  for (int i = 0; i < r.count; ++i) {
    if (r.chans[i]->receiver) fail("two receivers on one channel");
    r.chans[i]->receiver = &r;
    r.chans[i]->receiver_case = i;
  }
  park();
}

i64 recv(Chan& c) {
  i64 v;
  if (try_take(c, v)) return v;
  Receiver r{g_running, {&c, nullptr}, 1, 0, 0};
  wait_on(r);
  return r.value;
}

std::uint64_t g_rng = 0x9E3779B97F4A7C15ull;

std::uint64_t xorshift() {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return g_rng;
}

// A two-case receive select: returns the index of the case taken and its value in `out`.
// Ready cases are polled in a random order, as Go's select does.
int select2(Chan& a, Chan& b, i64& out) {
  const int first = static_cast<int>(xorshift() & 1);
  Chan* cases[2] = {&a, &b};
  if (try_take(*cases[first], out)) return first;
  if (try_take(*cases[1 - first], out)) return 1 - first;
  Receiver r{g_running, {&a, &b}, 2, 0, 0};
  wait_on(r);
  out = r.value;
  return r.from;
}

// ---------------------------------------------------------------- workloads
double g_wall_ms = 0;  // the measuring fiber's result

double ms_since(clk::time_point t0) {
  return std::chrono::duration<double, std::milli>(clk::now() - t0).count();
}

void pingpong(long n) {
  static Chan ping, pong;
  const auto t0 = clk::now();
  spawn([n] {
    for (long i = 0; i < n; ++i) send(pong, recv(ping));
  });
  for (i64 i = 0; i < n; ++i) {
    send(ping, i);
    if (recv(pong) != i) fail("pingpong mismatch");
  }
  g_wall_ms = ms_since(t0);
}

void select_cap0(long n) {
  static Chan c1, c2;
  const i64 half = n / 2;
  const auto t0 = clk::now();
  spawn([half] {
    for (i64 i = 0; i < half; ++i) send(c1, i);
  });
  spawn([half] {
    for (i64 i = 0; i < half; ++i) send(c2, half + i);
  });
  i64 sum = 0, from1 = 0;
  for (long i = 0; i < n; ++i) {
    i64 v;
    if (select2(c1, c2, v) == 0) ++from1;
    sum += v;
  }
  g_wall_ms = ms_since(t0);
  const i64 want = static_cast<i64>(n) * (n - 1) / 2;
  if (sum != want || from1 != half) {
    std::fprintf(stderr, "select sum %lld want %lld, from c1 %lld want %lld\n", static_cast<long long>(sum),
                 static_cast<long long>(want), static_cast<long long>(from1), static_cast<long long>(half));
    fail("select result");
  }
}

// The partner of the switch loop: bounces every switch straight back until told to stop.
void bounce(ctx::transfer_t t) {
  while (t.data == nullptr) t = ctx::jump_fcontext(t.fctx, nullptr);
  ctx::jump_fcontext(t.fctx, nullptr);  // the last switch; never resumed
  std::abort();
}

void raw_switch(long n) {
  static char stop;
  const auto t0 = clk::now();
  void* stack = std::aligned_alloc(64, kStackSize);
  if (!stack) fail("out of memory");
  ctx::transfer_t t{ctx::make_fcontext(static_cast<char*>(stack) + kStackSize, kStackSize, &bounce), nullptr};
  for (long i = 0; i < n / 2 - 1; ++i) t = ctx::jump_fcontext(t.fctx, nullptr);
  ctx::jump_fcontext(t.fctx, &stop);  // and back: n switches in all
  g_wall_ms = ms_since(t0);
  std::free(stack);
}

long parse_long(const std::string& key, const std::string& text) {
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0') {
    std::fprintf(stderr, "bad %s=%s\n", key.c_str(), text.c_str());
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage = "usage: floor_bench <pingpong|select|switch> [n=N] [cap=0] [procs=1]\n";
  if (argc < 2) {
    std::fputs(usage, stderr);
    return 2;
  }
  const std::string workload = argv[1];
  long n = workload == "switch" ? 10000000 : 1000000;
  for (int i = 2; i < argc; ++i) {
    const char* eq = std::strchr(argv[i], '=');
    if (!eq) {
      std::fprintf(stderr, "bad arg %s (want key=value)\n", argv[i]);
      return 2;
    }
    const std::string key(argv[i], static_cast<std::size_t>(eq - argv[i]));
    const long v = parse_long(key, eq + 1);
    if (key == "n") {
      n = v;
    } else if ((key == "cap" || key == "procs") && v == (key == "cap" ? 0 : 1)) {
      // the only configuration there is
    } else {
      std::fprintf(stderr, "floor_bench has no %s=%ld (only cap=0 and procs=1)\n", key.c_str(), v);
      return 2;
    }
  }
  if (n < 2 || n % 2 != 0) {
    std::fprintf(stderr, "n must be even and >= 2\n");
    return 2;
  }

  std::function<void()> measure;
  const char* extra = "";
  if (workload == "pingpong") {
    measure = [n] { pingpong(n); };
  } else if (workload == "select") {
    measure = [n] { select_cap0(n); };
    extra = " cap=0";
  } else if (workload == "switch") {
    measure = [n] { raw_switch(n); };
  } else {
    std::fputs(usage, stderr);
    return 2;
  }
  spawn(std::move(measure));  // the measuring fiber, as goro::run's main task
  run_loop();
  // goro_bench's precision for pingpong and select; a switch takes a few ns, so one more digit.
  const char* format = workload == "switch" ? "impl=floor workload=%s procs=1%s n=%ld wall_ms=%.2f ns_per_op=%.2f\n"
                                            : "impl=floor workload=%s procs=1%s n=%ld wall_ms=%.2f ns_per_op=%.1f\n";
  std::printf(format, workload.c_str(), extra, n, g_wall_ms, g_wall_ms * 1e6 / static_cast<double>(n));
  return 0;
}
