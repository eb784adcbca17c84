// goro/bubble.hpp — Go's testing/synctest for goro: run a test body in an isolated
// runtime (a "bubble") whose clock is virtual, so a 30-second timeout takes microseconds,
// and whose leaks and deadlocks are reported as a test failure.
//
//   TEST(Cache, ExpiresEntries) {
//     goro::testing::bubble([] {
//       Cache cache(std::chrono::seconds(30));
//       cache.put("k", 1);
//       goro::sleep_for(std::chrono::seconds(31));   // virtual: returns at once
//       goro::testing::wait_blocked();                // the expiry task has done its work
//       EXPECT_FALSE(cache.get("k"));
//     });                                             // throws BubbleFailure on a leak
//   }
//
// The bubble is a fresh runtime driven by the calling thread (one worker: tasks never run
// in parallel). Its clock starts at a fixed instant (kBubbleEpoch) and is what every goro
// timing reads inside the bubble: sleep_for / sleep_until, after(), Timer, Ticker,
// Context deadlines and timeouts, timed waits, and the ages in dumps ("[chan receive,
// 30 seconds]"). It moves only when every task of the bubble is durably blocked: then it
// jumps to the earliest pending timer.
//
// A task is durably blocked when it is parked on a goro object that only another task of
// the bubble can release: a channel, select, Mutex, RWMutex, WaitGroup, ConditionVariable,
// Once, Semaphore, or sleep (a timer of the bubble). It is NOT durably blocked while it
// waits for I/O (goro::io, goro::net) or for goro::blocking: the bubble then waits in real
// time for that to finish, without moving its clock. Code outside goro is invisible to the
// bubble: a task blocked in a std::mutex or a system call is simply running. A goro
// object shared with a plain thread or another runtime breaks the rule; when such an
// outsider wakes a durably blocked task of the bubble, the bubble fails with an error
// naming the task (it may already have reported a deadlock if the wake-up came late).
//
// What the bubble checks:
// - when every remaining task is durably blocked and no timer is pending, nothing can
//   ever happen again: BubbleFailure, "deadlock" while the body runs, "leak" after the
//   body returned, with the grouped dump of the tasks (what goro::diag::dump_blocked()
//   prints);
// - a task of the bubble that ends with an exception: BubbleFailure naming it;
// - an exception escaping the body propagates out of bubble() once the other tasks are
//   unwound.
// Before failing or rethrowing, bubble() unwinds the tasks that remain (as goro::run
// does), so no task outlives the call.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <source_location>
#include <stdexcept>
#include <string>

namespace goro::testing {

// What bubble() throws when its tasks deadlock, leak, fail, or are woken from outside.
// what(): the reason, then the grouped dump of the bubble's tasks.
struct BubbleFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs `body` as the main task of a fresh bubble on the calling thread (a plain thread,
// not a goro task) and returns when every task of the bubble has ended.
void bubble(std::function<void()> body);

// Go's synctest.Wait: returns once every other task of the calling task's bubble is
// durably blocked (or has ended). Virtual time does not move meanwhile. Throws
// std::logic_error outside a bubble, or when another task of the bubble is waiting in it.
// Dumps show the waiting task as "bubble wait" at the caller's line.
void wait_blocked(std::source_location where = std::source_location::current());

// Extension: where the virtual clock of every bubble starts.
inline constexpr std::chrono::steady_clock::time_point kBubbleEpoch{std::chrono::hours(24 * 365 * 30)};

// Extension: the calling bubble task's virtual clock (steady_clock::now() elsewhere).
// Use it, not std::chrono::steady_clock::now(), for deadlines inside a bubble:
//   goro::sleep_until(goro::testing::now() + 5s);
std::chrono::steady_clock::time_point now() noexcept;

// Extension: whether the calling thread runs a bubble's tasks now.
bool in_bubble() noexcept;

}  // namespace goro::testing
