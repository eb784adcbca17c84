// ticker: timers, a dynamic select with disabled cases, and context values in one loop.
//
//   cmake --build build/release --target ticker && build/release/examples/ticker
//
// Three sensors report readings on their own channels. A collector selects over all of
// them at once (a dynamic select: the number of sensors is known only at run time),
// switches a sensor's case off when its channel closes (Go's nil-channel idiom), prints a
// summary on every tick of a Ticker, and gives up after a quiet period (a Timer that each
// reading pushes back). A context carries the run's name and stops the sensors at the end;
// after_func announces that.
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using TimePoint = std::chrono::steady_clock::time_point;

namespace {

const goro::ContextKey<std::string> run_name{"run_name"};

void sensor(goro::Context ctx, goro::Channel<int> out, int id, int readings) {
  goro::Ticker every(std::chrono::milliseconds(3 + id));
  for (int i = 0; i < readings; ++i) {
    std::optional<TimePoint> tick;
    std::optional<std::monostate> stop;
    if (goro::select(goro::recv_case(every.c(), tick), goro::recv_case(ctx.done(), stop)) == 1)
      break;
    out.send(id * 100 + i);
  }
  out.close();
}

}  // namespace

int main() {
  return goro::run([] {
    auto [base, cancel] = goro::with_cancel(goro::Context::background());
    auto ctx = goro::with_value(base, run_name, std::string("demo-run"));
    auto announce = goro::after_func(ctx, [ctx] {
      std::printf("%s: context done (%s)\n", ctx.value(run_name)->c_str(),
                  std::string(goro::to_string(ctx.err())).c_str());
    });

    const int kSensors = 3;
    std::vector<goro::Channel<int>> inputs;
    for (int id = 0; id < kSensors; ++id) {
      inputs.emplace_back(1);
      goro::go_spawn([ctx, out = inputs.back(), id] { sensor(ctx, out, id, 5 + 5 * id); });
    }

    std::vector<std::optional<int>> readings(kSensors);
    std::vector<bool> open(kSensors, true);
    std::optional<TimePoint> tick, quiet;
    goro::Ticker summary(10ms);
    goro::Timer quiet_for(200ms);
    int received = 0, open_count = kSensors;
    while (open_count > 0) {
      std::vector<goro::SelectCase> cases;
      for (int id = 0; id < kSensors; ++id)
        cases.push_back(goro::recv_case(inputs[id], readings[id]).when(open[id]));
      cases.push_back(goro::recv_case(summary.c(), tick));
      cases.push_back(goro::recv_case(quiet_for.c(), quiet));
      const std::size_t fired = goro::select(cases);
      if (fired < static_cast<std::size_t>(kSensors)) {
        if (!readings[fired]) {  // closed: never select it again
          open[fired] = false;
          --open_count;
          std::printf("sensor %zu done\n", fired);
        } else {
          ++received;
          quiet_for.reset(200ms);
        }
      } else if (fired == static_cast<std::size_t>(kSensors)) {
        std::printf("%s: %d readings so far\n", ctx.value(run_name)->c_str(), received);
      } else {
        std::printf("no reading for 200ms: giving up\n");
        break;
      }
    }
    std::printf("%d readings in all\n", received);
    cancel();
    (void)announce;
    goro::sleep_until(std::chrono::steady_clock::now() + 5ms);  // let the announcement print
  });
}
