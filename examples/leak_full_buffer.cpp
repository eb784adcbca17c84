// leak_full_buffer: a buffered channel that fills up because its reader left early.
//
// first_reply() asks 8 replicas the same question and wants only the fastest reply.
// Each replica sends its reply on a channel with a buffer of 4, and first_reply()
// returns after receiving one. The buffer absorbs 4 more replies; the other 3
// replicas find it full and block on `chan send` forever. A buffer hides the leak
// in small tests and lets it through under load.
//
// How it shows: goro::diag::dump_blocked() groups the 3 replicas in one entry,
// [chan send] at the line marked "LEAK" below, on a channel that is full (4/4).
// The fix is in fixed_full_buffer.cpp.
#include <goro/goro.hpp>

#include <chrono>
#include <iostream>
#include <string>

using namespace std::chrono_literals;

constexpr int kReplicas = 8;

int first_reply() {
  goro::Channel<int> replies(4);  // too small for every reply: the bug
  for (int r = 1; r <= kReplicas; ++r) {
    goro::go_spawn(goro::SpawnOptions{.name = "replica " + std::to_string(r)}, [replies, r]() mutable {
      replies.send(r * 100);  // LEAK: blocks here
    });
  }
  return *replies.recv();  // the first reply wins; the others are ignored
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
    std::cout << "first reply: " << first_reply() << "\n";

    // Wait (bounded) until every replica has sent or blocked: 8 - 1 received - 4 buffered.
    constexpr std::size_t kStuck = kReplicas - 1 - 4;
    if (!wait_for_leak(kStuck, goro::diag::WaitReason::chan_send)) {
      std::cout << "the leak did not form within 10 s\n";
      rc = 1;
    }

    std::size_t listed = goro::diag::dump_blocked(std::cout);
    std::cout << "dump_blocked listed " << listed << " task(s)\n";
  }, goro::Config{.leak_policy = goro::LeakPolicy::report});
  return rc != 0 ? rc : exit_code;
}
