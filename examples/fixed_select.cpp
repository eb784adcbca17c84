// fixed_select: leak_select.cpp, fixed.
//
// The watcher's select gets one more case: a receive on the service's `done`
// channel, which the service closes when it shuts down. A closed channel is always
// ready to receive from, so the select takes that case and the watcher returns.
// Every loop that selects forever needs such a way out.
//
// It checks itself: goro::diag::find_leaks() (goleak's Find) must come back empty.
#include <goro/goro.hpp>

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
  int rc = 0;
  int exit_code = goro::run([&] {
    {
      Service service;
      start_watcher(service);
      service.events.send("started");
      service.config_updates.send(2);
    }  // shut down: ~Service closes `done`, the watcher returns
    std::cout << "service sent an event and a config update, then shut down\n";

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
