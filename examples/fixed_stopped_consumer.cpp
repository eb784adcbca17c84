// fixed_stopped_consumer: leak_stopped_consumer.cpp, fixed with a goro::Context.
//
// The producer takes a Context and sends in a select with a second case, a receive
// on ctx.done(). The consumer cancels the context when it is through: done() is
// closed, a closed channel is always ready to receive from, so the select takes that
// case and the producer returns (closing `numbers` on the way out, as a producer
// should). Go's answer to "how does this task exit?".
//
// It checks itself: goro::diag::find_leaks() (goleak's Find) must come back empty.
#include <goro/goro.hpp>

#include "leak_harness.hpp"

#include <chrono>
#include <iostream>
#include <optional>
#include <variant>

using namespace std::chrono_literals;

// Sends 1, 2, 3, ... on the returned channel until ctx is cancelled.
goro::Channel<int> generate(goro::Context ctx) {
  goro::Channel<int> numbers;
  goro::go_spawn(goro::SpawnOptions{.name = "producer"}, [numbers, ctx]() mutable {
    for (int i = 1;; ++i) {
      std::optional<std::monostate> stop;
      if (goro::select(goro::send_case(numbers, i), goro::recv_case(ctx.done(), stop)) == 1) break;
    }
    numbers.close();
  });
  return numbers;
}

int main() {
  return check_no_leak([] {
    auto [ctx, cancel] = goro::with_cancel(goro::Context::background());
    int sum = 0, count = 0;
    for (int n : generate(ctx)) {
      sum += n;
      if (++count == 5) break;
    }
    cancel();  // the fix: tell the producer we are done
    std::cout << "consumer took " << count << " numbers, sum = " << sum << "\n";
  });
}
