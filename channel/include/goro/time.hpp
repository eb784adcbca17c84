// goro/time.hpp — Go's time.After: a channel that receives the time once, after a delay.
//
//   std::optional<std::chrono::steady_clock::time_point> fired;
//   std::optional<Reply> reply;
//   if (goro::select(goro::recv_case(replies, reply),
//                    goro::recv_case(goro::after(std::chrono::seconds(1)), fired)) == 1)
//     give_up();
//
// The channel has capacity 1, so the timer never blocks; nobody needs to receive from it.
#pragma once

#include <chrono>

#include "goro/channel.hpp"

namespace goro {

Channel<std::chrono::steady_clock::time_point> after(std::chrono::nanoseconds d);

}  // namespace goro
