// fixed_full_buffer: leak_full_buffer.cpp, fixed.
//
// The buffer has room for every reply (one slot per replica), so no send can ever
// block, however many replies first_reply() ignores. The channel and the unread
// replies are freed with the last handle.
//
// It checks itself: goro::diag::find_leaks() (goleak's Find) must come back empty.
#include <goro/goro.hpp>

#include <chrono>
#include <iostream>
#include <string>

using namespace std::chrono_literals;

constexpr int kReplicas = 8;

int first_reply() {
  goro::Channel<int> replies(kReplicas);  // the fix: one slot per sender
  for (int r = 1; r <= kReplicas; ++r) {
    goro::go_spawn(goro::SpawnOptions{.name = "replica " + std::to_string(r)}, [replies, r]() mutable {
      replies.send(r * 100);  // never blocks
    });
  }
  return *replies.recv();
}

int main() {
  int rc = 0;
  int exit_code = goro::run([&] {
    std::cout << "first reply: " << first_reply() << "\n";

    goro::diag::LeakOptions opts;
    opts.max_wait = 10s;  // retries with backoff until every task has ended, at most 10 s
    auto leaks = goro::diag::find_leaks(opts);
    if (!leaks.empty()) {
      std::cout << "LEAKED: " << leaks.size() << " task(s)\n";
      goro::diag::dump_blocked(std::cout);
      rc = 1;
      return;
    }
    std::cout << "no leaks: every task finished\n";
  }, goro::Config{.leak_policy = goro::LeakPolicy::fail});
  return rc != 0 ? rc : exit_code;
}
