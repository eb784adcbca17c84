// leak_select: a select in which every case blocks forever.
//
// start_watcher() runs a background loop that waits for either an event or a config
// update. The service shuts down without closing either channel (and nobody ever
// sends on them again), and the watcher has no case that could tell it to stop: it
// waits in its select forever.
//
// How it shows: goro::diag::dump_blocked() lists the watcher as [select] at the line
// marked "LEAK" below (the select's own line).
// The fix is in fixed_select.cpp.
#include <goro/goro.hpp>

#include <chrono>
#include <iostream>
#include <optional>
#include <string>

using namespace std::chrono_literals;

struct Service {
  goro::Channel<std::string> events;
  goro::Channel<int> config_updates;
};

void start_watcher(Service& s) {
  goro::go_spawn(goro::SpawnOptions{.name = "watcher"},
                 [events = s.events, updates = s.config_updates]() mutable {
    for (;;) {
      std::optional<std::string> event;
      std::optional<int> update;
      goro::select(goro::recv_case(events, event), goro::recv_case(updates, update));  // LEAK: blocks here
      // ... handle *event or *update ...
    }
  });
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
    {
      Service service;
      start_watcher(service);
      service.events.send("started");
      service.config_updates.send(2);
    }  // shut down: nothing tells the watcher
    std::cout << "service sent an event and a config update, then shut down\n";

    // Wait (bounded) until the watcher is back in its select, waiting.
    if (!wait_for_leak(1, goro::diag::WaitReason::select)) {
      std::cout << "the leak did not form within 10 s\n";
      rc = 1;
    }

    std::size_t listed = goro::diag::dump_blocked(std::cout);
    std::cout << "dump_blocked listed " << listed << " task(s)\n";
  }, goro::Config{.leak_policy = goro::LeakPolicy::report});
  return rc != 0 ? rc : exit_code;
}
