// runtime/src/explore.cpp — goro::testing::explore: many bubbles, each under a schedule
// drawn from its run's seed (bubble.hpp), until one fails.
//
// Seeds: run 1 uses ExploreOptions::seed (or a fresh one), run i+1 uses mix(seed of run
// i). A run's schedule depends only on its own seed and the strategy options, so the
// failing run's seed alone (with the same options) replays it.

#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <typeinfo>

#include "bubble.hpp"
#include "env.hpp"
#include "switch.hpp"
#include "goro/bubble.hpp"
#include "goro/explore.hpp"

namespace goro::detail {
namespace {
std::atomic<TestFailureProbe> g_test_failure_probe{nullptr};
}  // namespace

void set_test_failure_probe(TestFailureProbe probe) noexcept {
  g_test_failure_probe.store(probe, std::memory_order_release);
}
}  // namespace goro::detail

namespace goro::testing {

namespace {

std::uint64_t next_seed(std::uint64_t s) noexcept {  // splitmix64's finaliser; never 0
  std::uint64_t z = s + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return z != 0 ? z : 1;
}

std::uint64_t fresh_seed() {
  std::random_device device;
  const std::uint64_t s = (std::uint64_t{device()} << 32) ^ device();
  return s != 0 ? s : 1;
}

// GORO_EXPLORE_SEED, if set: the one seed to run (0 when unset).
std::uint64_t seed_from_env() {
  try {
    return detail::env::read_unsigned("GORO_EXPLORE_SEED", 1, std::numeric_limits<std::uint64_t>::max())
        .value_or(0);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("goro::testing::explore: ") + e.what() +
                                " (the seed a failing run's report printed), or unset it");
  }
}

std::string options_text(const ExploreOptions& o, std::uint64_t seed) {
  std::string s = "{.runs = 1, .seed = " + std::to_string(seed) + "u";
  if (o.strategy == Strategy::pct)
    s += ", .strategy = goro::testing::Strategy::pct, .pct_depth = " + std::to_string(o.pct_depth) +
         ", .pct_steps = " + std::to_string(o.pct_steps);
  return s + "}";
}

}  // namespace

const char* to_string(Strategy s) noexcept { return s == Strategy::pct ? "pct" : "random"; }

ExploreResult explore(std::function<void()> body, ExploreOptions opts) {
  if (!body) throw std::invalid_argument("goro::testing::explore: the body is empty");
  if (opts.runs < 1 || opts.pct_depth < 1 || opts.pct_steps < 1 || opts.max_decisions < 1)
    throw std::invalid_argument("goro::testing::explore: runs, pct_depth, pct_steps and "
                                "max_decisions must be at least 1 (runs = " +
                                std::to_string(opts.runs) + ", pct_depth = " +
                                std::to_string(opts.pct_depth) + ", pct_steps = " +
                                std::to_string(opts.pct_steps) + ", max_decisions = " +
                                std::to_string(opts.max_decisions) + ")");
  const ExploreOptions asked = opts;
  if (const std::uint64_t replay = seed_from_env(); replay != 0) {
    opts.seed = replay;
    opts.runs = 1;
  }
  std::uint64_t seed = opts.seed != 0 ? opts.seed : fresh_seed();
  const detail::TestFailureProbe probe = detail::g_test_failure_probe.load(std::memory_order_acquire);

  ExploreResult result;
  result.strategy = opts.strategy;
  for (int run = 1; run <= opts.runs; ++run) {
    result.runs = run;
    result.seed = seed;
    const int failed_parts = probe != nullptr ? probe(nullptr) : 0;
    std::string why;
    try {
      detail::BubblePolicy policy;
      policy.kind = opts.strategy == Strategy::pct ? detail::BubblePolicy::Kind::pct
                                                   : detail::BubblePolicy::Kind::random;
      policy.seed = seed;
      policy.pct_depth = opts.pct_depth;
      policy.pct_steps = opts.pct_steps;
      policy.max_picks = opts.max_decisions;
      detail::Bubble bubble(policy);
      bubble.run(body);
    } catch (const BubbleFailure& e) {
      why = e.what();
    } catch (const std::exception& e) {
      why = "the body threw " + detail::demangled(typeid(e).name()) + ": " + e.what();
    } catch (...) {
      why = "the body threw an exception not derived from std::exception";
    }
    if (why.empty() && probe != nullptr) {
      std::string assertion;
      if (probe(&assertion) > failed_parts) why = "a GoogleTest assertion failed:\n" + assertion;
    }
    if (!why.empty()) {
      result.failed = true;
      result.report = "goro::testing::explore: run " + std::to_string(run) + " of " +
                      std::to_string(opts.runs) + " failed (strategy " + to_string(opts.strategy) +
                      (opts.strategy == Strategy::pct
                           ? ", depth " + std::to_string(opts.pct_depth) + ", " +
                                 std::to_string(opts.pct_steps) + " steps"
                           : std::string()) +
                      ", seed " + std::to_string(seed) + ").\nReplay it: GORO_EXPLORE_SEED=" +
                      std::to_string(seed) + " <this test>, or explore(body, " +
                      options_text(asked, seed) + ").\n" + why;
      return result;
    }
    seed = next_seed(seed);
  }
  return result;
}

}  // namespace goro::testing
