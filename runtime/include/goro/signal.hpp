// goro/signal.hpp — OS signals delivered to a channel (Go's os/signal.Notify).
//
//   goro::Channel<int> signals(1);
//   goro::notify_signals(signals, {SIGINT, SIGTERM});
//   int sig = *signals.recv();        // parks until one arrives
//   goro::stop_signals(signals);      // the default disposition is back once nobody listens
//
// - Each delivery of a listed signal is sent to every channel subscribed to it without
//   blocking: when a channel is full (or unbuffered with no receiver waiting) that
//   delivery is dropped for it, as in Go. Give the channel a buffer.
// - Works whichever thread the kernel picks: goro installs a handler for the signal
//   (sigaction) that hands the number to a dispatcher thread, so no thread needs the
//   signal blocked. Do not install your own handler for a subscribed signal meanwhile.
// - notify_signals may be called again for the same channel to add signals. stop_signals
//   removes every subscription of the channel; a signal nobody listens to any more gets
//   the disposition it had before goro took it.
// - SIGKILL and SIGSTOP cannot be caught, and SIGSEGV, SIGBUS, SIGFPE and SIGILL are
//   faults of the thread that raised them (goro reports stack overflows through
//   SIGSEGV): all six throw std::invalid_argument, as does a number out of range.
// - While any subscription exists, the deadlock detector counts it as something outside
//   the tasks that can still wake one of them (a task may be waiting for a signal).
#pragma once

#include <initializer_list>

#include "goro/channel.hpp"

namespace goro {

void notify_signals(Channel<int> ch, std::initializer_list<int> signals);
void stop_signals(Channel<int> ch);

}  // namespace goro
