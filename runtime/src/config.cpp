// runtime/src/config.cpp — Config resolution; see config.hpp. Reads the environment
// (env.hpp) and the stack pools' size range; touches no runtime state.
#include "config.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "deadlock.hpp"
#include "env.hpp"
#include "log.hpp"
#include "stack_pool.hpp"

namespace goro::detail {

namespace {

std::size_t default_stack_size() {
#if defined(GORO_ASAN) || defined(GORO_TSAN)
  return 256 * 1024;  // instrumented frames are several times larger
#else
  return 64 * 1024;
#endif
}

// The most worker threads a runtime may have (Config::workers, GORO_MAXPROCS): far more
// than any machine has cores; a larger number is a typo, and each worker is a thread.
constexpr unsigned kMaxWorkers = 1024;

unsigned resolve_workers(unsigned requested) {
  if (requested > kMaxWorkers)
    throw std::invalid_argument("goro: Config::workers = " + std::to_string(requested) +
                                " is out of range: use 1 to " + std::to_string(kMaxWorkers) +
                                ", or 0 for $GORO_MAXPROCS, else one per CPU");
  if (requested != 0) return requested;
  if (auto v = env::read_unsigned("GORO_MAXPROCS", 1, kMaxWorkers))
    return static_cast<unsigned>(*v);
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : std::min(hw, kMaxWorkers);
}

LeakPolicy resolve_leak_policy(const std::optional<LeakPolicy>& configured) {
  if (configured) return *configured;
  if (auto v = env::read_choice("GORO_LEAKCHECK", {"off", "report", "fail"})) {
    constexpr LeakPolicy kPolicies[] = {LeakPolicy::off, LeakPolicy::report, LeakPolicy::fail};
    return kPolicies[*v];
  }
  return LeakPolicy::report;
}

// Config::trend_period, else GORO_TREND: "1s", "500ms", "2m", "3" (seconds), "on", "off".
std::chrono::milliseconds resolve_trend_period(const std::optional<std::chrono::milliseconds>& configured) {
  using namespace std::chrono;
  if (configured) {
    if (configured->count() < 0)
      throw std::invalid_argument("goro: Config::trend_period = " +
                                  std::to_string(configured->count()) +
                                  "ms is negative: use zero for no sampling, or a period");
    return *configured;
  }
  const auto env = env::get("GORO_TREND");
  if (!env) return milliseconds(0);
  if (env::equals_ignoring_case(*env, "off")) return milliseconds(0);
  if (env::equals_ignoring_case(*env, "on")) return seconds(1);
  const nanoseconds period = env::parse_duration("GORO_TREND", *env, seconds(1),
                                                 {nanoseconds(0), hours(24)}, "on, off");
  // A period shorter than the sampler's millisecond resolution samples every millisecond.
  if (period.count() == 0) return milliseconds(0);
  return std::max(milliseconds(1), duration_cast<milliseconds>(period));
}

// GORO_TRACEBACK (read once): capture parked tasks' stacks in every runtime.
bool traceback_env() {
  static const bool on = env::read_bool("GORO_TRACEBACK").value_or(false);
  return on;
}

}  // namespace

std::size_t checked_stack_size(std::size_t bytes, std::string_view source) {
  if (bytes >= StackPool::kMinStackSize && bytes <= StackPool::kMaxStackSize) return bytes;
  throw std::invalid_argument(fmt::format(
      "goro: {} = {} is out of range: a task stack is {} (16 KiB) to {} (1 GiB) bytes; "
      "0 means the default",
      source, bytes, StackPool::kMinStackSize, StackPool::kMaxStackSize));
}

std::size_t resolve_stack_size(std::size_t configured) {
  if (configured != 0) return checked_stack_size(configured, "goro::Config::stack_size");
  if (const std::size_t env = env::read_bytes("GORO_STACK_SIZE").value_or(0); env != 0)
    return checked_stack_size(env, "GORO_STACK_SIZE");
  return default_stack_size();
}

Config resolve_config(const Config& requested) {
  Config cfg = requested;
  cfg.workers = resolve_workers(requested.workers);
  cfg.leak_policy = resolve_leak_policy(requested.leak_policy);
  cfg.capture_stacks = requested.capture_stacks || traceback_env();
  cfg.trend_period = resolve_trend_period(requested.trend_period);
  (void)deadlock_grace_ns();
  // Read by the stack pool when it first carves a stack; checked here, where an invalid
  // value can still be reported to the caller.
  (void)env::read_unsigned("GORO_STACK_GUARDS", 0, std::numeric_limits<long>::max());
  return cfg;
}

void check_deadlock_config(const Config& cfg) {
  if (cfg.deadlock_grace && cfg.deadlock_grace->count() < 0)
    throw std::invalid_argument("goro: Config::deadlock_grace is negative (" +
                                std::to_string(cfg.deadlock_grace->count()) +
                                " ms): give a positive grace period, or zero to turn deadlock "
                                "detection off.");
  if (!cfg.deadlock_policy) (void)deadlock_policy_from_env();
}

void resolve_limits(Config& cfg) {
  if (cfg.max_tasks == 0) cfg.max_tasks = env::read_count("GORO_MAX_TASKS").value_or(0);
  if (cfg.soft_max_tasks == 0)
    cfg.soft_max_tasks = env::read_count("GORO_SOFT_MAX_TASKS").value_or(0);
  if (cfg.max_stack_bytes == 0)
    cfg.max_stack_bytes = env::read_bytes("GORO_MAX_STACK_BYTES").value_or(0);
}

}  // namespace goro::detail
