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

#include "leak_harness.hpp"

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


int main() {
  return show_leak([] {
    std::cout << "first reply: " << first_reply() << "\n";
  }, kReplicas - 1 - 4,  // stuck: 8 replicas - 1 reply read - 4 in the buffer
     goro::diag::WaitReason::chan_send);
}
