// goro/profile.hpp — goro's tasks as pprof profiles, the ones Go's runtime/pprof writes.
//
//   // Where are my tasks? Save a goroutine profile and read it with Go's pprof:
//   std::ofstream out("goroutine.pb.gz", std::ios::binary);
//   goro::diag::write_profile(out, "goroutine");
//   //   $ go tool pprof -top goroutine.pb.gz      (or -traces, -list 'fetch')
//
//   // Where do tasks spend time blocked? Record every channel/select/sync wait:
//   goro::diag::set_block_profile_rate(1);     // Go's runtime.SetBlockProfileRate(1)
//   ... run the workload ...
//   goro::diag::write_profile(out, "block");
//
//   // Which critical sections hold up other tasks? Record every Mutex contention:
//   goro::diag::set_mutex_profile_fraction(1); // Go's runtime.SetMutexProfileFraction(1)
//   ... run the workload ...
//   goro::diag::write_profile("mutex", out);
//
// Profiles (`name`):
// - "goroutine": every live task, one sample per distinct (stack, labels) with the
//   number of tasks as its value (sample type goroutine/count). The stack is the wait
//   site (the user's line that blocked; the spawn site for a task that is not blocked),
//   the captured call stack under it when stacks are captured (Config::capture_stacks,
//   GORO_TRACEBACK=1), and at the bottom a "created by <function>" frame at the go_spawn
//   line — Go's dump ends with the same. Labels: reason ("chan send", ..., "running"),
//   name (when the task has one), leaked ("true"/"false").
// - "block": cumulative time tasks spent parked in channel operations, select,
//   WaitGroup and Mutex waits (not sleep_for), per (wait site, spawn site): sample types
//   contentions/count and delay/nanoseconds, as Go's block profile. Recorded only while
//   the rate is non-zero; tasks only (plain threads blocking in goro calls are not timed).
// - "goroutineleak": like "goroutine", for the provably leaked tasks only
//   (diag::leaked_tasks()).
// - "mutex": contention on goro::Mutex and goro::RWMutex, recorded only while the
//   fraction is non-zero (set_mutex_profile_fraction): sample types contentions/count
//   and delay/nanoseconds, as Go's mutex profile. As in Go, a contended Mutex::unlock()
//   is charged, at its call site, with the time the waiter it hands the mutex to spent
//   waiting during the critical section it ends. RWMutex is charged at the waiting call
//   instead (lock() or lock_shared(): from its first wait until it holds the lock).
//   Under the site, a "created by" frame at the go_spawn line of the task that made the
//   call (none for a plain thread); label operation ("goro::Mutex::unlock",
//   "goro::RWMutex::lock", "goro::RWMutex::lock_shared").
// - "threadcreate": the OS threads goro started that run now (workers, the wait-clock
//   ticker, the trend sampler, ...): one sample per creating call, a "created by <kind>"
//   frame ("goro worker", ...) under it, valued by the number of threads (sample type
//   threadcreate/count). Unlike Go's, threads that have exited are not counted.
//
// - "heap": the memory goro holds (goro/memory.hpp): task stacks (resident pages) and
//   task records by spawn site, channels by creation site; one sample per (site, kind),
//   the site as its only frame, label kind ("stack", "task", "channel"). Go's sample
//   types: alloc_objects/count, alloc_space/bytes, inuse_objects/count,
//   inuse_space/bytes (pprof's default). Memory the program allocates itself is not in
//   it (docs/diagnostics-oom.md shows how to add a malloc heap profiler).
//
// `debug` as in Go's net/http/pprof: 0 = gzip-compressed profile.proto; 1 = Go's legacy
// text ("goroutine profile: total 12" and a count per stack; "--- contention:" for
// block; "--- mutex:" and the sampling period for mutex; "threadcreate profile: total
// 3" for threadcreate; "heap profile: 3: 98304 [3: 98304] @ heap/1" for heap); 2 = for
// goroutine and goroutineleak, Go's goroutine dump (DumpFormat::go) of every task listed; for the others, the same as 1.
//
// Source paths: locations carry the file names std::source_location reports (absolute
// with CMake), so `go tool pprof -list <regex>` shows the source where the files are;
// elsewhere use pprof's -source_path / -trim_path.
#pragma once

#include <cstdint>
#include <ostream>
#include <string_view>

namespace goro::diag {

// Go's runtime.SetBlockProfileRate: 0 turns block profiling off (the default); a rate
// r > 0 records a wait lasting d ns with probability min(1, d / r) — 1 records every
// wait. A sampled short wait is scaled as Go does (it counts r / d contentions and r ns),
// so totals stay unbiased. Off costs each park one relaxed load and branch; on, two
// clock reads and, for sampled waits, a locked table update.
void set_block_profile_rate(std::int64_t rate_ns);
std::int64_t block_profile_rate();
// Forgets the recorded block events (Go has no such call; handy in tests and between
// measurements).
void reset_block_profile();

// Go's runtime.SetMutexProfileFraction: 0 turns the mutex profile off (the default);
// n > 0 records on average one contention in n (1: every one), each weighted by n so
// totals stay unbiased. Returns the previous fraction; a negative one only reads it.
// Off costs the contended lock and unlock paths one relaxed load (uncontended ones
// nothing); on, two clock reads per contention and, for sampled ones, a locked table
// update.
int set_mutex_profile_fraction(int rate);
// Forgets the recorded contentions (as reset_block_profile for the block profile).
void reset_mutex_profile();

// Writes profile `name` ("goroutine", "block", "goroutineleak", "heap", "mutex",
// "threadcreate") in the `debug` format; false (and nothing written) for an unknown
// name or a debug level other than 0, 1, 2.
bool write_profile(std::ostream& out, std::string_view name, int debug = 0);
bool write_profile(std::string_view name, std::ostream& out, int debug = 0);

}  // namespace goro::diag

namespace goro {
using diag::set_mutex_profile_fraction;
}  // namespace goro
