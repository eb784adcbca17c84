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
// - Delivery goes through the default runtime's poller (no dispatcher thread), from a
//   signalfd when the signal is blocked in every thread, else from goro's handler
//   (sigaction) in whichever thread the kernel picks. No mask is required and goro
//   changes none; to route signals through the signalfd (no handler interrupts any of
//   your threads' system calls), block them in main() before any thread starts:
//     sigset_t set; sigemptyset(&set); sigaddset(&set, SIGINT); sigaddset(&set, SIGTERM);
//     pthread_sigmask(SIG_BLOCK, &set, nullptr);   // first thing in main()
//   Blocked signals stay blocked in processes you start (exec keeps the mask): unblock
//   them there (posix_spawnattr_setsigmask). raise() signals only the calling thread: in
//   a thread that blocks the signal it stays pending there; use kill(getpid(), sig).
//   Do not install your own handler for a subscribed signal meanwhile.
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
