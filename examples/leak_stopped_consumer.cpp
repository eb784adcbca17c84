// leak_stopped_consumer: a producer whose consumer stopped listening.
//
// A producer task generates numbers and sends them on a channel; the consumer ranges
// over the channel, but stops after the first five numbers (a `break`) and returns.
// The producer has no way to know: its next send waits for a receiver that will
// never come, so it blocks on `chan send` forever.
//
// How it shows: goro::diag::dump_blocked() lists the producer as [chan send] at the
// line marked "LEAK" below.
// The fix is in fixed_stopped_consumer.cpp.
#include <goro/goro.hpp>

#include "leak_harness.hpp"

#include <chrono>
#include <iostream>

using namespace std::chrono_literals;

// Sends 1, 2, 3, ... on the returned channel, forever.
goro::Channel<int> generate() {
  goro::Channel<int> numbers;
  goro::go_spawn(goro::SpawnOptions{.name = "producer"}, [numbers]() mutable {
    for (int i = 1;; ++i) {
      numbers.send(i);  // LEAK: blocks here
    }
  });
  return numbers;
}


int main() {
  return show_leak([] {
    int sum = 0, count = 0;
    for (int n : generate()) {
      sum += n;
      if (++count == 5) break;  // the consumer is done, the producer does not know
    }
    std::cout << "consumer took " << count << " numbers, sum = " << sum << "\n";
  }, 1, goro::diag::WaitReason::chan_send);
}
