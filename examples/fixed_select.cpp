// fixed_select: leak_select.cpp, fixed.
//
// The watcher's select gets one more case: a receive on the service's `done`
// channel, which the service closes when it shuts down. A closed channel is always
// ready to receive from, so the select takes that case and the watcher returns.
// Every loop that selects forever needs such a way out.
//
// It checks itself: goro::diag::find_leaks() (goleak's Find) must come back empty.
#include <goro/goro.hpp>

#include "leak_harness.hpp"

#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <variant>

using namespace std::chrono_literals;

struct Service {
  goro::Channel<std::string> events;
  goro::Channel<int> config_updates;
  goro::Channel<std::monostate> done;  // the fix: closed on shutdown
  ~Service() { done.close(); }
};

void start_watcher(Service& s) {
  goro::go_spawn(goro::SpawnOptions{.name = "watcher"},
                 [events = s.events, updates = s.config_updates, done = s.done]() mutable {
    for (;;) {
      std::optional<std::string> event;
      std::optional<int> update;
      std::optional<std::monostate> stop;
      if (goro::select(goro::recv_case(events, event), goro::recv_case(updates, update),
                       goro::recv_case(done, stop)) == 2)
        return;  // shut down
      // ... handle *event or *update ...
    }
  });
}

int main() {
  return check_no_leak([] {
    {
      Service service;
      start_watcher(service);
      service.events.send("started");
      service.config_updates.send(2);
    }  // shut down: ~Service closes `done`, the watcher returns
    std::cout << "service sent an event and a config update, then shut down\n";
  });
}
