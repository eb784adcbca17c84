// examples/leak_harness.hpp — the shared main() of the leak examples.
//
//   int main() {                 // leak_*.cpp: show the leak
//     return show_leak([] { fetch(20ms); }, 1, goro::diag::WaitReason::chan_send);
//   }
//   int main() {                 // fixed_*.cpp: prove there is none
//     return check_no_leak([] { fetch(20ms); });
//   }
#pragma once

#include <goro/goro.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <iostream>
#include <utility>
#include <vector>

// Runs `scenario` as goro::run's main task, waits (at most 10 s) until the leak has
// formed — exactly `stuck` tasks besides main are alive, all blocked in `reason` — and
// prints the dump (dump_blocked for channel waits, dump_tasks of the stuck tasks else). Non-zero if the leak did not form. run() reports the leftovers too.
inline int show_leak(const std::function<void()>& scenario, std::size_t stuck,
                     goro::diag::WaitReason reason) {
  int rc = 0;
  int exit_code = goro::run(
      [&] {
        scenario();
        bool formed = false;
        for (int i = 0; i < 10'000 && !formed; ++i) {
          std::size_t others = 0, blocked = 0;
          for (const goro::diag::TaskInfo& t : goro::diag::tasks()) {
            if (t.id == goro::current_task()) continue;
            ++others;
            if (t.reason == reason) ++blocked;
          }
          formed = others == stuck && blocked == stuck;
          if (!formed) goro::sleep_for(std::chrono::milliseconds(1));
        }
        if (!formed) {
          std::cout << "the leak did not form within 10 s\n";
          rc = 1;
        }
        // dump_blocked() lists channel and select waits, the leaks it can judge; any other
        // wait (a socket read, say) is shown with dump_tasks().
        const bool channel_wait = reason == goro::diag::WaitReason::chan_send ||
                                  reason == goro::diag::WaitReason::chan_recv ||
                                  reason == goro::diag::WaitReason::select;
        if (channel_wait) {
          std::size_t listed = goro::diag::dump_blocked(std::cout);
          std::cout << "dump_blocked listed " << listed << " task(s)\n";
        } else {
          std::vector<goro::diag::TaskInfo> stuck_tasks;
          for (goro::diag::TaskInfo& t : goro::diag::tasks())
            if (t.id != goro::current_task() && t.reason == reason) stuck_tasks.push_back(std::move(t));
          std::size_t listed = goro::diag::dump_tasks(std::cout, std::move(stuck_tasks));
          std::cout << "dump_tasks listed " << listed << " task(s)\n";
        }
      },
      goro::Config{.leak_policy = goro::LeakPolicy::report});
  return rc != 0 ? rc : exit_code;
}

// Runs `scenario` as goro::run's main task, then checks with goro::diag::find_leaks()
// (retrying with backoff for up to 10 s, while tasks finish) that no task is left.
inline int check_no_leak(const std::function<void()>& scenario) {
  int rc = 0;
  int exit_code = goro::run(
      [&] {
        scenario();
        goro::diag::LeakOptions opts;
        opts.max_wait = std::chrono::seconds(10);
        auto leaks = goro::diag::find_leaks(opts);
        if (!leaks.empty()) {
          std::cout << "LEAKED: " << leaks.size() << " task(s)\n";
          goro::diag::dump_blocked(std::cout);
          rc = 1;
          return;
        }
        std::cout << "no leaks: every task finished\n";
      },
      goro::Config{.leak_policy = goro::LeakPolicy::fail});
  return rc != 0 ? rc : exit_code;
}
