// fixed_full_buffer: leak_full_buffer.cpp, fixed.
//
// The buffer has room for every reply (one slot per replica), so no send can ever
// block, however many replies first_reply() ignores. The channel and the unread
// replies are freed with the last handle.
//
// It checks itself: goro::diag::find_leaks() (goleak's Find) must come back empty.
#include <goro/goro.hpp>

#include "leak_harness.hpp"

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
  return check_no_leak([] {
    std::cout << "first reply: " << first_reply() << "\n";
  });
}
