// goro/time.hpp — time in goro: after() (Go's time.After), sleep_until, and Timer/Ticker
// (goro/timer.hpp).
//
//   std::optional<std::chrono::steady_clock::time_point> fired;
//   std::optional<Reply> reply;
//   if (goro::select(goro::recv_case(replies, reply),
//                    goro::recv_case(goro::after(std::chrono::seconds(1)), fired)) == 1)
//     give_up();
//
//   goro::sleep_until(next_run);      // a task parks ("sleep"); a plain thread blocks
//
// after()'s channel has capacity 1, so the timer never blocks; nobody needs to receive from
// it. Its timer goes away with the channel's last handle: a select loop over after(1h)
// holds at most the timers of the selects still waiting.
#pragma once

#include <chrono>
#include <source_location>

#include "goro/channel.hpp"
#include "goro/timer.hpp"

namespace goro {

Channel<std::chrono::steady_clock::time_point> after(std::chrono::nanoseconds d);

// Sleeps until `t` (steady clock); a time already past yields instead.
void sleep_until(std::chrono::steady_clock::time_point t,
                 std::source_location where = std::source_location::current());

}  // namespace goro
