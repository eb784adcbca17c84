// fixed_timeout: leak_timeout.cpp, fixed.
//
// The result channel gets a buffer of one value. The worker's send then completes
// whether or not anybody still waits for the result: if fetch() gave up, the value
// sits in the buffer, the worker returns, and channel and value are freed with the
// last handle. Same timeout, same slow worker, no leaked task.
//
// It checks itself: goro::diag::find_leaks() (goleak's Find) must come back empty.
#include <goro/goro.hpp>

#include "leak_harness.hpp"

#include <chrono>
#include <iostream>
#include <optional>
#include <string>

using namespace std::chrono_literals;

std::optional<std::string> fetch(std::chrono::milliseconds timeout) {
  goro::Channel<std::string> result(1);  // the fix: room for the one result
  goro::go_spawn(goro::SpawnOptions{.name = "fetch worker"}, [result]() mutable {
    goro::sleep_for(300ms);               // a slow backend
    result.send("the answer");            // never blocks: the buffer has room
  });

  std::optional<std::string> answer;
  std::optional<std::chrono::steady_clock::time_point> timed_out;
  if (goro::select(goro::recv_case(result, answer), goro::recv_case(goro::after(timeout), timed_out)) == 1)
    return std::nullopt;
  return answer;
}

int main() {
  return check_no_leak([] {
    std::optional<std::string> answer = fetch(20ms);
    std::cout << "fetch: " << (answer ? *answer : "timed out after 20ms") << "\n";
  });
}
