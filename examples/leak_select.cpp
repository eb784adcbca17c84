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

#include "leak_harness.hpp"

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


int main() {
  return show_leak([] {
    {
      Service service;
      start_watcher(service);
      service.events.send("started");
      service.config_updates.send(2);
    }  // shut down: nothing tells the watcher
    std::cout << "service sent an event and a config update, then shut down\n";
  }, 1, goro::diag::WaitReason::select);
}
