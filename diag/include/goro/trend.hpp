// goro/trend.hpp — leak trends: a sampler that records, at a fixed period, how many tasks
// are alive, blocked (per wait site) and provably leaked, the process's RSS and goro's
// own memory by site (goro/memory.hpp), and warns once about every wait site whose
// blocked count keeps climbing and every site whose memory does.
//
// Go teams find slow leaks by watching the goroutine count rise on a dashboard; this is
// that dashboard's data, kept in the process, plus the alarm:
//
//   goro::Config cfg;
//   cfg.trend_period = std::chrono::seconds(1);   // or env GORO_TREND=1s
//   goro::run(serve, cfg);
//   // ... later, on the goro logger:
//   // possible leak: 8,532 tasks [chan send] at worker.cpp:41, +850/min over 10 min
//   // possible leak: 301 MiB of stack at worker.cpp:38 (8,532 tasks), +30 MiB/min over 10 min
//
//   for (const auto& s : goro::diag::trend()) plot(s.at, s.live_tasks, s.rss_bytes);
//
// Memory is bounded: the history is a ring of TrendOptions::capacity samples, each
// keeping at most max_sites wait sites (the most crowded), stored as source_location
// pointers into the binary's static data. At the defaults (one sample a second, an hour of
// history, 32 sites) the ring never exceeds about 3 MB, however long the process runs.
#pragma once

#include <chrono>
#include <optional>
#include <cstddef>
#include <source_location>
#include <string>
#include <vector>

#include "goro/memory.hpp"
#include "goro/wait_reason.hpp"

namespace goro::diag {

// Blocked tasks at one wait site, in one sample.
struct TrendSite {
  WaitReason reason = WaitReason::none;
  std::source_location site;  // the user's line that blocked
  std::size_t blocked = 0;
};

struct TrendSample {
  std::chrono::system_clock::time_point at;  // wall clock, for plotting
  std::chrono::steady_clock::time_point steady_at;
  std::size_t live_tasks = 0;
  std::size_t blocked_tasks = 0;  // blocked on channels, as diag::blocked_tasks() counts
  std::size_t waiting_tasks = 0;  // parked for any reason (channels, sleep, mutex, ...)
  // Provably leaked (diag::leaked_tasks()). That analysis is costly with many blocked
  // tasks, so it reruns only after 20 times its last duration; samples in between
  // repeat the last count (at most ~5% of a core).
  std::size_t leaked_tasks = 0;
  std::size_t rss_bytes = 0;      // resident set size of the process
  std::vector<TrendSite> sites;   // every wait reason; largest first; at most max_sites
  // goro's own memory (diag::memory()): the total, and the sites holding the most (at
  // most max_sites; allocated_* left zero). Measuring stacks costs about 20 ms per
  // 100,000 tasks per sample.
  std::size_t memory_bytes = 0;
  std::vector<MemorySite> memory;
};

struct TrendOptions {
  // Time between samples. Zero: no sampler thread; samples are taken only by
  // sample_trend() (for tests, or callers with their own scheduling).
  std::chrono::milliseconds period{1000};
  std::size_t capacity = 3600;  // samples kept; the oldest is dropped first
  std::size_t max_sites = 32;   // wait sites kept per sample
  // A site is flagged when, over the samples of the last `window`, its blocked count
  // rose by at least min_rise, ended at its highest, fell in at most a tenth of the
  // steps, and kept rising: each third of the window averages more than the one before.
  // (A pool of workers waiting for jobs goes up and down, one starting up goes up once
  // and stays flat; a leak keeps going up.)
  std::chrono::milliseconds window{std::chrono::minutes(10)};
  std::size_t min_rise = 10;
  std::size_t min_samples = 5;  // and the window holds at least this many samples
  // The same test for a site's memory (goro/memory.hpp), in bytes.
  std::size_t min_memory_rise = std::size_t{1} << 20;
};

// A wait site flagged as a possible leak (logged once, through the `goro` logger).
struct PossibleLeak {
  WaitReason reason = WaitReason::none;
  std::source_location site;
  std::size_t blocked = 0;     // when flagged (a memory site: its objects)
  double per_minute = 0;       // growth over the window (a memory site: bytes per minute)
  // Set for a site whose memory climbs (reason is then none): its kind and bytes.
  std::optional<MemoryKind> memory_kind;
  std::size_t bytes = 0;
  std::chrono::milliseconds over{0};  // time covered by the window's samples
  std::string message;         // "possible leak: 8,532 tasks [chan send] at worker.cpp:41, +850/min over 10 min"
                               // "possible leak: 301 MiB of stack at worker.cpp:38 (8,532 tasks), +30 MiB/min over 10 min"
};

// Starts the sampler (or changes its options; the history is kept, trimmed to the new
// capacity). Config::trend_period / GORO_TREND start it with default options otherwise.
void start_trend(const TrendOptions& opts = {});
// Stops the sampler thread; the history stays readable.
void stop_trend();
// Takes one sample now (whether or not the thread runs), appends it to the history and
// checks the sites; returns the sample.
TrendSample sample_trend();
// The history, oldest first.
std::vector<TrendSample> trend();
// Sites flagged so far, in the order they were flagged.
std::vector<PossibleLeak> possible_leaks();
// Forgets the history and the flagged sites (options and the thread are kept).
void reset_trend();

}  // namespace goro::diag
