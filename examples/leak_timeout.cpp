// leak_timeout: the classic timeout leak.
//
// fetch() starts a worker task that computes a result and sends it on an UNBUFFERED
// channel, then waits for it in a select with a goro::after() timeout. The worker is
// slower than the timeout, so fetch() gives up and returns. Nobody will ever receive
// from `result` again, and an unbuffered send completes only when a receiver takes the
// value: the worker blocks on `chan send` forever, holding everything it captured.
// One leaked task per timed-out call; a busy server leaks them by the thousand.
//
// How it shows: goro::diag::dump_blocked() lists the worker as [chan send] at the
// line marked "LEAK" below, created by the main task in fetch().
// The fix is in fixed_timeout.cpp.
#include <goro/goro.hpp>

#include <chrono>
#include <iostream>
#include <optional>
#include <string>

using namespace std::chrono_literals;

std::optional<std::string> fetch(std::chrono::milliseconds timeout) {
  goro::Channel<std::string> result;  // unbuffered: the bug
  goro::go_spawn(goro::SpawnOptions{.name = "fetch worker"}, [result]() mutable {
    goro::sleep_for(300ms);            // a slow backend
    result.send("the answer");         // LEAK: blocks here
  });

  std::optional<std::string> answer;
  std::optional<std::chrono::steady_clock::time_point> timed_out;
  if (goro::select(goro::recv_case(result, answer), goro::recv_case(goro::after(timeout), timed_out)) == 1)
    return std::nullopt;  // gave up: nobody will ever receive from `result`
  return answer;
}

// Waits (at most 10 s) until the leak has formed: exactly `n` tasks besides this one
// are alive, and every one of them is blocked in `reason`.
bool wait_for_leak(std::size_t n, goro::diag::WaitReason reason) {
  for (int i = 0; i < 10'000; ++i) {
    std::size_t others = 0, stuck = 0;
    for (const goro::diag::TaskInfo& t : goro::diag::tasks()) {
      if (t.id == goro::current_task()) continue;
      ++others;
      if (t.reason == reason) ++stuck;
    }
    if (others == n && stuck == n) return true;
    goro::sleep_for(1ms);
  }
  return false;
}

int main() {
  int rc = 0;
  int exit_code = goro::run([&] {
    std::optional<std::string> answer = fetch(20ms);
    std::cout << "fetch: " << (answer ? *answer : "timed out after 20ms") << "\n";

    // Wait (bounded) until the worker has reached its send and blocked there.
    if (!wait_for_leak(1, goro::diag::WaitReason::chan_send)) {
      std::cout << "the leak did not form within 10 s\n";
      rc = 1;
    }

    std::size_t listed = goro::diag::dump_blocked(std::cout);
    std::cout << "dump_blocked listed " << listed << " task(s)\n";
  }, goro::Config{.leak_policy = goro::LeakPolicy::report});
  return rc != 0 ? rc : exit_code;
}
