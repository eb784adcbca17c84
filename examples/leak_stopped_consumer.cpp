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
    int sum = 0, count = 0;
    for (int n : generate()) {
      sum += n;
      if (++count == 5) break;  // the consumer is done, the producer does not know
    }
    std::cout << "consumer took " << count << " numbers, sum = " << sum << "\n";

    // Wait (bounded) until the producer has blocked on its next send.
    if (!wait_for_leak(1, goro::diag::WaitReason::chan_send)) {
      std::cout << "the leak did not form within 10 s\n";
      rc = 1;
    }

    std::size_t listed = goro::diag::dump_blocked(std::cout);
    std::cout << "dump_blocked listed " << listed << " task(s)\n";
  }, goro::Config{.leak_policy = goro::LeakPolicy::report});
  return rc != 0 ? rc : exit_code;
}
