// channel/src/signals.cpp — goro::notify_signals / stop_signals (goro/signal.hpp).
//
// Delivery path: a signal reaches goro by one of two fds, both watched by the default
// runtime's poller (Netpoll::watch), so there is no dispatcher thread:
// - a signalfd whose mask is the set of subscribed signals. It yields a signal that is
//   blocked in every thread (process-directed and pending): no handler runs.
// - a handler (sigaction) for each subscribed signal, for a thread that does not block
//   it: async-signal-safe, it writes the number as one byte into a non-blocking pipe (a
//   full pipe drops it, as Go's sigsend when its queue is full).
// The kernel hands each delivery to exactly one of the two (a handler runs only in a
// thread that does not block the signal; signalfd reads only what is left pending), so
// each delivery is dispatched once. The worker whose poll sees an edge on either fd runs
// dispatch(): it drains both and try_sends each number to every channel subscribed to it.
//
// goro changes no thread's signal mask (see signal.hpp for why); blocking the signals
// in main() before any thread starts is what routes them through the signalfd.
//
// Lock discipline: g_mutex guards g_subs, g_saved (the dispositions goro replaced),
// g_listening, the signalfd's mask and the watch of the two fds. dispatch() copies the
// matching channel handles under it and sends after unlocking, so a subscriber's
// channel operations never run under the lock. The fds are created once (under
// g_mutex) and never closed: a dispatch may still be draining them after an unwatch.
#include "goro/signal.hpp"
#include "goro/deadlock.hpp"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "goro/internal/inspect.hpp"

namespace goro {

namespace {

struct Subscription {
  Channel<int> ch;
  int sig;
};

std::mutex g_mutex;
std::vector<Subscription>* g_subs = new std::vector<Subscription>();      // guarded by g_mutex
std::map<int, struct sigaction>* g_saved = new std::map<int, struct sigaction>();  // guarded by g_mutex
std::optional<detail::ExternalWait>* g_listening = new std::optional<detail::ExternalWait>();  // guarded
int g_pipe[2] = {-1, -1};  // written once under g_mutex, before any handler is installed
int g_signalfd = -1;       // written once under g_mutex
detail::Netpoll* g_poller = nullptr;  // the default runtime's, while watching; guarded by g_mutex

void on_signal(int sig) {
  const int saved_errno = errno;
  const unsigned char byte = static_cast<unsigned char>(sig);
  (void)!::write(g_pipe[1], &byte, 1);
  errno = saved_errno;
}

// Reads every signal waiting on both fds (non-blocking), in arrival order per fd.
void drain(std::vector<int>& out) {
  signalfd_siginfo infos[16];
  for (;;) {
    const ssize_t n = ::read(g_signalfd, infos, sizeof infos);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (std::size_t i = 0; i < static_cast<std::size_t>(n) / sizeof infos[0]; ++i)
      out.push_back(static_cast<int>(infos[i].ssi_signo));
  }
  unsigned char bytes[64];
  for (;;) {
    const ssize_t n = ::read(g_pipe[0], bytes, sizeof bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) out.push_back(bytes[i]);
  }
}

// Netpoll::watch's callback for both fds; runs on a polling worker.
void dispatch(void*) {
  std::vector<int> signals;
  drain(signals);
  std::vector<Channel<int>> targets;
  for (int sig : signals) {
    targets.clear();
    {
      std::lock_guard guard(g_mutex);
      for (const Subscription& s : *g_subs)
        if (s.sig == sig) targets.push_back(s.ch);
    }
    for (Channel<int>& ch : targets) {
      try {
        (void)ch.try_send(sig);  // full: dropped, as Go
      } catch (const ChannelClosed&) {
        // Closed by its owner without stop_signals: nothing to deliver to.
      }
    }
  }
}

void create_fds_locked() {
  if (g_pipe[0] >= 0) return;
  if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::system_error(errno, std::generic_category(), "goro::notify_signals: pipe2");
  sigset_t none;
  sigemptyset(&none);
  g_signalfd = ::signalfd(-1, &none, SFD_NONBLOCK | SFD_CLOEXEC);
  if (g_signalfd < 0) {
    const int error = errno;
    ::close(g_pipe[0]);
    ::close(g_pipe[1]);
    g_pipe[0] = g_pipe[1] = -1;
    throw std::system_error(error, std::generic_category(), "goro::notify_signals: signalfd");
  }
}

// The signalfd reads the subscribed signals, and the poller watches both fds while any
// subscription exists.
void update_delivery_locked() {
  sigset_t wanted;
  sigemptyset(&wanted);
  for (const Subscription& s : *g_subs) sigaddset(&wanted, s.sig);
  (void)::signalfd(g_signalfd, &wanted, 0);
  if (!g_subs->empty() && g_poller == nullptr) {
    detail::Netpoll& poller = detail::default_runtime_poller();
    std::vector<int> stale;  // bytes of deliveries nobody listened to any more
    drain(stale);
    poller.watch(g_signalfd, dispatch, nullptr);
    try {
      poller.watch(g_pipe[0], dispatch, nullptr);
    } catch (...) {
      poller.unwatch(g_signalfd);
      throw;
    }
    g_poller = &poller;
    detail::wake_default_runtime_for_poller();  // its idle workers may all be asleep on their futex
  } else if (g_subs->empty() && g_poller != nullptr) {
    g_poller->unwatch(g_signalfd);
    g_poller->unwatch(g_pipe[0]);
    g_poller = nullptr;
  }
  if (!g_subs->empty() && !g_listening->has_value()) g_listening->emplace();
  if (g_subs->empty()) g_listening->reset();
}

void check_signal(int sig) {
  if (sig <= 0 || sig >= NSIG || sig > 255)
    throw std::invalid_argument("goro::notify_signals: " + std::to_string(sig) + " is not a signal number");
  if (sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL)
    throw std::invalid_argument("goro::notify_signals: signal " + std::to_string(sig) + " (" + ::strsignal(sig) +
                                ") cannot be delivered to a channel: SIGKILL and SIGSTOP cannot be caught, and "
                                "SIGSEGV, SIGBUS, SIGFPE and SIGILL are faults of the thread that raised them");
}

}  // namespace

void notify_signals(Channel<int> ch, std::initializer_list<int> signals) {
  for (int sig : signals) check_signal(sig);
  std::lock_guard guard(g_mutex);
  create_fds_locked();
  for (int sig : signals) {
    bool already = false;
    for (const Subscription& s : *g_subs) already |= s.ch == ch && s.sig == sig;
    if (already) continue;
    if (!g_saved->contains(sig)) {
      struct sigaction action {};
      action.sa_handler = on_signal;
      sigemptyset(&action.sa_mask);
      action.sa_flags = SA_RESTART;
      struct sigaction previous {};
      if (::sigaction(sig, &action, &previous) != 0)
        throw std::system_error(errno, std::generic_category(), "goro::notify_signals: sigaction");
      (*g_saved)[sig] = previous;
    }
    g_subs->push_back({ch, sig});
  }
  update_delivery_locked();
}

void stop_signals(Channel<int> ch) {
  std::lock_guard guard(g_mutex);
  std::erase_if(*g_subs, [&](const Subscription& s) { return s.ch == ch; });
  for (auto it = g_saved->begin(); it != g_saved->end();) {
    bool wanted = false;
    for (const Subscription& s : *g_subs) wanted |= s.sig == it->first;
    if (wanted) {
      ++it;
      continue;
    }
    (void)::sigaction(it->first, &it->second, nullptr);
    it = g_saved->erase(it);
  }
  if (g_pipe[0] >= 0) update_delivery_locked();
}

}  // namespace goro
