// runtime/src/deadlock.cpp — the deadlock detector. See deadlock.hpp for the verdict, its
// invariants and lock order.
#include "deadlock.hpp"
#include "env.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "diag_hooks.hpp"
#include "external_waits.hpp"
#include "goro/detail/futex_lock.hpp"
#include "log.hpp"
#include "registry.hpp"
#include "runtime_list.hpp"
#include "scheduler.hpp"

namespace goro::detail {

std::atomic<ProvableLeakCheck> g_provable_leak_check{nullptr};

namespace {

// --------------------------------------------------------------- threads that never wake

std::atomic<int> g_never_waking_threads{0};
thread_local int t_never_waking_depth = 0;

// ------------------------------------------------------------------- the blocked threads

struct BlockedThread {
  BlockedThread* prev = nullptr;
  BlockedThread* next = nullptr;
  std::atomic<std::uint32_t>* word = nullptr;  // non-zero: woken
  const WaitSite* site = nullptr;              // the goro call; nullptr for run()
  TaskId main_task = 0;                        // run(): the task it waits for
  int tid = 0;
  bool never_wakes = false;                    // its thread is counted as NeverWakesTasks
  std::int64_t since_ns = 0;
  std::atomic<bool> condemned{false};          // a verdict covers it
  std::shared_ptr<const std::string> verdict;  // guarded by g_blocked_lock
};

std::mutex g_blocked_lock;
BlockedThread* g_blocked_head = nullptr;  // guarded by g_blocked_lock
std::uint64_t g_blocked_seq = 0;          // guarded by g_blocked_lock: joins + leaves so far

int this_tid() noexcept {
  thread_local int tid = static_cast<int>(::gettid());
  return tid;
}

void enlist(BlockedThread* b) {
  std::lock_guard guard(g_blocked_lock);
  b->next = g_blocked_head;
  if (g_blocked_head) g_blocked_head->prev = b;
  g_blocked_head = b;
  ++g_blocked_seq;
}

// Unlinks b; returns nullptr when it was woken, else the verdict that condemned it.
std::shared_ptr<const std::string> delist(BlockedThread* b) {
  std::lock_guard guard(g_blocked_lock);
  if (b->prev) b->prev->next = b->next; else g_blocked_head = b->next;
  if (b->next) b->next->prev = b->prev;
  ++g_blocked_seq;
  if (b->word->load(std::memory_order_acquire) != 0) return nullptr;
  return b->verdict;
}

std::string seconds_text(std::int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ns) / 1e9);
  return buf;
}

// One line per blocked thread. Caller holds g_blocked_lock.
std::string blocked_threads_text(std::int64_t now) {
  std::string out;
  for (const BlockedThread* b = g_blocked_head; b != nullptr; b = b->next) {
    out += "  thread " + std::to_string(b->tid) + ": ";
    if (b->site == nullptr) {
      out += "goro::run waiting for its main task (task " + std::to_string(b->main_task) + ")";
    } else {
      out += "[" + std::string(diag::to_string(b->site->reason)) + "] at " +
             b->site->where.file_name() + ":" + std::to_string(b->site->where.line()) + " in " +
             b->site->where.function_name();
    }
    out += ", for " + seconds_text(now - b->since_ns) + "\n";
  }
  return out;
}

// -------------------------------------------------------------------- the process state

struct Snapshot {
  bool asleep = false;
  std::uint64_t signature = 0;
  std::uint64_t blocked_seq = 0;
  std::size_t blocked_threads = 0;  // not counting NeverWakesTasks threads (counted there)
};

Snapshot take_snapshot() {
  Snapshot s;
  bool wake_pending = false;
  {
    std::lock_guard guard(g_blocked_lock);
    s.blocked_seq = g_blocked_seq;
    for (const BlockedThread* b = g_blocked_head; b != nullptr; b = b->next) {
      if (b->word->load(std::memory_order_acquire) != 0) wake_pending = true;
      if (!b->never_wakes) ++s.blocked_threads;
    }
  }
  s.signature = mix_signature(s.blocked_seq,
                              static_cast<std::uint64_t>(g_never_waking_threads.load()));
  s.asleep = !wake_pending && external_waits_in_flight() == 0 && all_quiescent(&s.signature);
  return s;
}

// The process's threads now (/proc/self/stat, field 20), or -1.
long process_threads() noexcept {
  const int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[2048];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so count the
  // fields from the last ')'. Field 3 (state) follows its space; field 20 is 17 later.
  const char* p = std::strrchr(buf, ')');
  for (int field = 2; p != nullptr && field < 20; ++field) p = std::strchr(p + 1, ' ');
  if (p == nullptr) return -1;
  return std::strtol(p + 1, nullptr, 10);
}

// Threads of the sanitizer's own runtime. libtsan starts one background thread at the
// process's first pthread_create and keeps it until exit; one thread created (and joined)
// here makes sure it exists, so the count is exact.
long sanitizer_threads() {
#if defined(GORO_TSAN)
  static const long background = [] {
    std::thread([] {}).join();
    return 1L;
  }();
  return background;
#else
  return 0;
#endif
}

// ------------------------------------------------------------------------- the verdicts

enum class Why { all_asleep, nothing_can_wake, main_leaked };

std::string verdict_text(Why why, std::int64_t asleep_ns, std::int64_t now) {
  std::string text;
  switch (why) {
    case Why::all_asleep:
      text = "Every task and every thread blocked in a goro call has been asleep for " +
             seconds_text(asleep_ns) +
             " (deadlock policy all_asleep: fatal as in Go; threads outside goro calls, "
             "which might still have woken one, are not considered).\n";
      break;
    case Why::nothing_can_wake:
      text = "Every task has been asleep for " + seconds_text(asleep_ns) +
             ", and nothing can wake one: no thread is alive outside goro calls, no timer is "
             "pending, no I/O or blocking call is in flight.\n";
      break;
    case Why::main_leaked:
      text = "Every task has been asleep for " + seconds_text(asleep_ns) +
             ", and the main task of goro::run is provably leaked: no code that can still run "
             "can reach the channels it waits on.\n";
      break;
  }
  {
    std::lock_guard guard(g_blocked_lock);
    text += "Threads blocked in goro calls:\n" + blocked_threads_text(now);
  }
  text += "Live tasks: " + live_task_report(nullptr, 0);
  return text;
}

// Condemns the listed threads that `select` picks, if the list is still the one of `s`;
// wakes them to see it. Returns how many.
template <class Select>
std::size_t condemn(const Snapshot& s, const std::shared_ptr<const std::string>& verdict,
                    Select select) {
  std::lock_guard guard(g_blocked_lock);
  if (g_blocked_seq != s.blocked_seq) return 0;
  std::size_t count = 0;
  for (BlockedThread* b = g_blocked_head; b != nullptr; b = b->next) {
    if (b->word->load(std::memory_order_acquire) != 0 || b->condemned.load() || !select(*b))
      continue;
    b->verdict = verdict;
    b->condemned.store(true, std::memory_order_release);
    // Under the lock: b cannot leave, so its word is still alive.
    futex_wake(b->word, 1);
    ++count;
  }
  return count;
}

// --------------------------------------------------------------------- the detector

std::mutex g_detector_lock;

// Guarded by g_detector_lock.
struct Episode {
  bool quiet = false;              // asleep at the last poll
  std::uint64_t signature = 0;     // the activity signature since quiet_since
  std::int64_t quiet_since = 0;
  bool leaks_checked = false;      // run()'s main tasks were put to diag
  bool declared = false;           // a verdict was made: wait for its threads to leave
  std::int64_t next_warning_check = 0;
};
Episode g_episode;
// The situation last warned about (live tasks with their waits, blocked threads), and
// when the same one may be warned about again. Guarded by g_detector_lock.
std::uint64_t g_warned_situation = 0;
std::int64_t g_warn_again_at = 0;
std::int64_t g_warn_interval = 0;
constexpr std::int64_t kFirstRepeatNs = 60'000'000'000;
constexpr std::int64_t kLastRepeatNs = 3600'000'000'000;

std::uint64_t situation_fingerprint() {
  std::vector<std::pair<std::uint64_t, std::uintptr_t>> items;
  registry_for_each([&](const TaskRecord& t) {
    items.emplace_back(t.id, reinterpret_cast<std::uintptr_t>(
                                 t.wait_site.load(std::memory_order_relaxed)));
  });
  {
    std::lock_guard guard(g_blocked_lock);
    for (const BlockedThread* b = g_blocked_head; b != nullptr; b = b->next)
      items.emplace_back(~static_cast<std::uint64_t>(b->tid),
                         reinterpret_cast<std::uintptr_t>(b->site));
  }
  std::sort(items.begin(), items.end());
  std::uint64_t h = items.size();
  for (const auto& [id, site] : items) h = mix_signature(mix_signature(h, id), site);
  return h;
}

void warn_possible_deadlock(std::int64_t asleep_ns, long outside, std::int64_t now) {
  Episode& ep = g_episode;
  if (now < ep.next_warning_check) return;
  const std::uint64_t situation = situation_fingerprint();
  if (situation == g_warned_situation && now < g_warn_again_at) {
    ep.next_warning_check = g_warn_again_at;
    return;
  }
  g_warn_interval = situation == g_warned_situation
                        ? std::min(g_warn_interval * 2, kLastRepeatNs)
                        : kFirstRepeatNs;
  g_warned_situation = situation;
  g_warn_again_at = now + g_warn_interval;
  ep.next_warning_check = g_warn_again_at;
  const std::string why =
      outside > 0 ? std::to_string(outside) + " other thread" + (outside == 1 ? " is" : "s are") +
                        " alive outside goro calls and may still wake one"
                  : std::string("the process's threads could not be accounted for");
  std::string threads;
  {
    std::lock_guard guard(g_blocked_lock);
    threads = blocked_threads_text(now);
  }
  logger().warn(
      "goro: possible deadlock: all tasks blocked for {}. Not proven ({}), so the waits go "
      "on. To make this fatal as in Go: Config::deadlock_policy = "
      "goro::DeadlockPolicy::all_asleep or GORO_DEADLOCK=all_asleep; a thread that never "
      "wakes tasks can say so with goro::NeverWakesTasks.\nThreads blocked in goro "
      "calls:\n{}Live tasks: {}",
      seconds_text(asleep_ns), why, threads, live_task_report(nullptr, 0));
  logger().flush();
}

void declare(Why why, const Snapshot& s, std::int64_t asleep_ns, std::int64_t now,
             const std::vector<TaskId>& leaked_mains = {}) {
  auto verdict = std::make_shared<const std::string>(verdict_text(why, asleep_ns, now));
  const std::size_t condemned = condemn(s, verdict, [&](const BlockedThread& b) {
    if (why != Why::main_leaked) return true;
    return b.site == nullptr && std::find(leaked_mains.begin(), leaked_mains.end(),
                                          b.main_task) != leaked_mains.end();
  });
  if (condemned == 0) {
    g_episode = {};  // the list changed meanwhile: decide again
    return;
  }
  g_episode.declared = true;
  logger().error("goro: all goro tasks are asleep - deadlock! {} thread{} blocked in goro "
                 "calls get{} goro::Deadlock. {}",
                 condemned, condemned == 1 ? "" : "s", condemned == 1 ? "s" : "", *verdict);
  logger().flush();
}

// Returns true when the state moved since `s` (and restarts the episode).
bool moved_since(const Snapshot& s) {
  const Snapshot now = take_snapshot();
  if (now.asleep && now.signature == s.signature) return false;
  g_episode = {};
  return true;
}

void poll_detector(const DeadlockSettings& settings) {
  std::unique_lock lock(g_detector_lock, std::try_to_lock);
  if (!lock.owns_lock()) return;  // another blocked thread is polling
  Episode& ep = g_episode;
  const Snapshot s = take_snapshot();
  const std::int64_t now = now_ns();
  if (!s.asleep) {
    ep = {};
    return;
  }
  if (!ep.quiet || ep.signature != s.signature) {
    ep = {};
    ep.quiet = true;
    ep.signature = s.signature;
    ep.quiet_since = now;
    return;
  }
  const std::int64_t asleep_ns = now - ep.quiet_since;
  if (asleep_ns < settings.grace_ns || ep.declared) return;
  if (settings.policy == DeadlockPolicy::all_asleep) return declare(Why::all_asleep, s, asleep_ns, now);

  const long threads = process_threads();
  const long outside = threads < 0 ? -1
                                   : threads - g_never_waking_threads.load() -
                                         static_cast<long>(s.blocked_threads) - sanitizer_threads();
  if (moved_since(s)) return;
  if (outside == 0) return declare(Why::nothing_can_wake, s, asleep_ns, now);

  if (!ep.leaks_checked) {
    ep.leaks_checked = true;
    if (ProvableLeakCheck leaked = g_provable_leak_check.load(std::memory_order_acquire)) {
      std::vector<TaskId> mains;
      {
        std::lock_guard guard(g_blocked_lock);
        for (const BlockedThread* b = g_blocked_head; b != nullptr; b = b->next)
          if (b->site == nullptr) mains.push_back(b->main_task);
      }
      std::erase_if(mains, [&](TaskId id) { return !leaked(id); });
      if (!mains.empty()) {
        if (moved_since(s)) return;
        return declare(Why::main_leaked, s, asleep_ns, now, mains);
      }
    }
  }
  warn_possible_deadlock(asleep_ns, outside, now);
}

}  // namespace

// ---------------------------------------------------------------------------- settings

DeadlockPolicy deadlock_policy_from_env() {
  constexpr DeadlockPolicy kPolicies[] = {DeadlockPolicy::proven, DeadlockPolicy::all_asleep,
                                          DeadlockPolicy::off};
  const auto choice = env::read_choice("GORO_DEADLOCK", {"proven", "all_asleep", "off"});
  return choice ? kPolicies[*choice] : DeadlockPolicy::proven;
}

// ----------------------------------------------------------------------------- waiting

std::shared_ptr<const std::string> wait_unless_deadlocked(std::atomic<std::uint32_t>* word,
                                                          const WaitSite* site, TaskId main_task) {
  if (word->load(std::memory_order_acquire) != 0) return nullptr;
  BlockedThread self;
  self.word = word;
  self.site = site;
  self.main_task = main_task;
  self.tid = this_tid();
  self.never_wakes = t_never_waking_depth > 0;
  self.since_ns = now_ns();
  enlist(&self);
  const auto settled = [&] {
    return word->load(std::memory_order_acquire) != 0 ||
           self.condemned.load(std::memory_order_acquire);
  };
  while (!settled()) {
    const DeadlockSettings settings = deadlock_settings();
    const bool detecting = settings.policy != DeadlockPolicy::off && settings.grace_ns > 0;
    if (!detecting) {
      futex_wait(word, 0);  // a verdict made by a detecting runtime still wakes us
      continue;
    }
    futex_wait_for(word, 0, std::clamp<std::int64_t>(settings.grace_ns / 4, 1'000'000, 100'000'000));
    if (settled()) break;
    poll_detector(settings);
  }
  return delist(&self);
}

// ---------------------------------------------------------------- settings and runtimes

// The longest grace period GORO_DEADLOCK_MS takes: a day (86400000); 0 turns detection off.
constexpr std::uint64_t kMaxDeadlockGraceMs = 86'400'000;

std::int64_t deadlock_grace_ns() {
  static const std::int64_t grace = [] {
    const std::uint64_t ms =
        env::read_unsigned("GORO_DEADLOCK_MS", 0, kMaxDeadlockGraceMs).value_or(1000);
    return static_cast<std::int64_t>(ms) * 1'000'000;
  }();
  return grace;
}

bool all_quiescent(std::uint64_t* signature) noexcept {
  std::lock_guard guard(g_runtimes_mutex);
  for (const Runtime* rt : *g_runtimes) {
    *signature = mix_signature(*signature, rt->id());
    if (!rt->quiescent(signature)) return false;
  }
  return true;
}

DeadlockSettings deadlock_settings() noexcept {
  std::optional<DeadlockPolicy> policy;
  std::optional<std::chrono::milliseconds> grace;
  {
    std::lock_guard guard(g_runtimes_mutex);
    for (const Runtime* rt : *g_runtimes) {  // oldest first: the last one setting a field wins
      if (rt->config().deadlock_policy) policy = rt->config().deadlock_policy;
      if (rt->config().deadlock_grace) grace = rt->config().deadlock_grace;
    }
  }
  DeadlockSettings settings;
  if (policy) {
    settings.policy = *policy;
  } else {
    try {
      settings.policy = deadlock_policy_from_env();
    } catch (const std::invalid_argument& e) {
      // Only reachable with no runtime alive (a runtime rejects it when it starts).
      static std::once_flag logged;
      std::call_once(logged, [&] { logger().error("{} Using proven.", e.what()); });
    }
  }
  if (!grace) {
    try {
      settings.grace_ns = deadlock_grace_ns();
    } catch (const std::invalid_argument& e) {
      // As for the policy: a runtime rejects it when it starts; a plain thread's wait
      // throws it (park_thread); here the default applies.
      static std::once_flag logged;
      std::call_once(logged, [&] { logger().error("{} Using 1000 ms.", e.what()); });
      settings.grace_ns = 1'000'000'000;
    }
  } else {  // saturated: a grace too long for the clock is "never"
    const auto ms = static_cast<std::int64_t>(grace->count());
    settings.grace_ns = ms > kNeverNs / 1'000'000 ? kNeverNs : ms * 1'000'000;
  }
  return settings;
}

}  // namespace goro::detail

namespace goro {

NeverWakesTasks::NeverWakesTasks() noexcept {
  if (detail::t_never_waking_depth++ == 0) detail::g_never_waking_threads.fetch_add(1);
}

NeverWakesTasks::~NeverWakesTasks() {
  if (--detail::t_never_waking_depth == 0) detail::g_never_waking_threads.fetch_sub(1);
}

}  // namespace goro
