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

#include "leak_harness.hpp"

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


int main() {
  return show_leak([] {
    std::optional<std::string> answer = fetch(20ms);
    std::cout << "fetch: " << (answer ? *answer : "timed out after 20ms") << "\n";
  }, 1, goro::diag::WaitReason::chan_send);
}
