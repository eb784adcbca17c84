// hello_channels: a short tour of goro, Go's concurrency model for C++20.
//
//   scripts/demo.sh          # builds this file as the `demo` target and runs it
//
// 1. an unbuffered channel: ping-pong between two tasks (every send waits for its receiver)
// 2. a buffered channel + WaitGroup: a pool of workers squares numbers
// 3. select with a timeout: goro::after() is Go's time.After
// 4. select with default_case: a send that never blocks
// 5. diagnostics: goro::diag::dump_blocked() shows who waits where, and since when
#include <goro/goro.hpp>

#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <utility>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Spawn options with a task name; the name shows up in goro::diag dumps.
goro::SpawnOptions named(std::string name) {
  goro::SpawnOptions opts;
  opts.name = std::move(name);
  return opts;
}

// 1. Unbuffered channels: a send completes only when a receiver takes the value,
//    so the two tasks move in lock step.
void ping_pong() {
  std::cout << "\n== 1. unbuffered channel: ping-pong\n";
  goro::Channel<std::string> ping;  // capacity 0: unbuffered
  goro::Channel<std::string> pong;

  goro::go_spawn(named("ponger"), [ping, pong]() mutable {
    for (std::string msg : ping) {  // receives until `ping` is closed and drained
      pong.send(msg + " -> pong");
    }
    pong.close();
  });

  for (int i = 1; i <= 3; ++i) {
    ping.send("ping " + std::to_string(i));
    std::cout << "main got: " << *pong.recv() << "\n";
  }
  ping.close();                                // ends the ponger's for loop...
  std::optional<std::string> last = pong.recv();  // ...and it closes `pong`
  std::cout << "pong closed: recv() returned " << (last ? *last : "nullopt") << "\n";
}

// 2. Buffered channels + WaitGroup: a send blocks only when the buffer is full.
//    Three workers square the numbers 1..10; a closer task closes `results`
//    once all workers are done, which ends main's for loop.
void worker_pool() {
  std::cout << "\n== 2. buffered channel + WaitGroup: 3 workers square 1..10\n";
  goro::Channel<int> jobs(4);  // capacity 4
  goro::Channel<int> results(10);
  goro::WaitGroup workers;

  for (int w = 1; w <= 3; ++w) {
    workers.add();
    goro::go_spawn(named("worker " + std::to_string(w)), [jobs, results, &workers]() mutable {
      for (int n : jobs) results.send(n * n);
      workers.done();
    });
  }
  goro::go_spawn(named("closer"), [results, &workers]() mutable {
    workers.wait();
    results.close();
  });

  for (int n = 1; n <= 10; ++n) jobs.send(n);  // blocks only while 4 jobs are queued
  std::cout << "queued 10 jobs through a buffer of " << jobs.capacity() << "\n";
  jobs.close();

  int sum = 0, count = 0;
  for (int square : results) {
    sum += square;
    ++count;
  }
  std::cout << "received " << count << " squares, sum = " << sum << " (expected 385)\n";
}

// 3. select with a timeout: wait for a slow task, but give up on each wait
//    after 50 ms. goro::after(d) is a channel that receives once, after d.
void select_with_timeout() {
  std::cout << "\n== 3. select with a timeout\n";
  goro::Channel<std::string> slow;
  goro::go_spawn(named("slow sender"), [slow]() mutable {
    goro::sleep_for(120ms);
    slow.send("the slow result");
  });

  const auto start = Clock::now();
  auto ms = [&] { return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count(); };
  for (;;) {
    std::optional<std::string> msg;
    std::optional<Clock::time_point> fired;
    switch (goro::select(goro::recv_case(slow, msg), goro::recv_case(goro::after(50ms), fired))) {
      case 0:
        std::cout << "after " << ms() << " ms: got \"" << *msg << "\"\n";
        return;
      case 1:
        std::cout << "after " << ms() << " ms: timed out (50 ms), waiting again\n";
        break;
    }
  }
}

// 4. select with default_case never blocks: try to send, and drop the value
//    when the buffer is full.
void non_blocking_send() {
  std::cout << "\n== 4. select with default_case: a send that never blocks\n";
  goro::Channel<int> box(2);
  for (int i = 1; i <= 4; ++i) {
    if (goro::select(goro::send_case(box, i), goro::default_case()) == 0) {
      std::cout << "sent " << i << " (buffered: " << box.size() << "/" << box.capacity() << ")\n";
    } else {
      std::cout << "buffer full, dropped " << i << "\n";
    }
  }
}

// 5. Diagnostics: every blocked task records why and where it waits.
//    Here one task waits on a channel nobody sends to; we dump it, then close
//    the channel so that it finishes (otherwise goro would report it as a leak
//    when run() returns).
void diagnostics() {
  std::cout << "\n== 5. diagnostics: goro::diag::dump_blocked()\n";
  goro::Channel<int> never;
  goro::WaitGroup wg;
  wg.add();
  goro::go_spawn(named("waiter"), [never, &wg]() mutable {
    std::optional<int> v = never.recv();  // blocks until `never` is closed
    std::cout << "waiter woke up with " << (v ? std::to_string(*v) : "nullopt") << "\n";
    wg.done();
  });
  goro::sleep_for(50ms);  // let it block for a while
  std::size_t n = goro::diag::dump_blocked(std::cout);
  std::cout << "(" << n << " blocked task(s) listed)\n";
  never.close();
  wg.wait();
}

}  // namespace

int main() {
  // run() starts the runtime, runs this lambda as the main task and returns the
  // exit code: non-zero only if the leak policy (GORO_LEAKCHECK) says so.
  return goro::run([] {
    std::cout << "goro demo: main task " << goro::current_task() << "\n";
    ping_pong();
    worker_pool();
    select_with_timeout();
    non_blocking_send();
    diagnostics();
    std::cout << "\ndone.\n";
  });
}
