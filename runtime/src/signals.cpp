// runtime/src/signals.cpp — goro::notify_signals / stop_signals (goro/signal.hpp).
//
// Delivery path (as Go's sigsend / signal_recv): the handler, async-signal-safe, writes
// the signal number as one byte into a non-blocking pipe (a full pipe drops it); one
// dispatcher thread, started on first use and never stopped, reads the pipe and
// try_sends the number to every channel subscribed to it.
//
// Lock discipline: g_mutex guards g_subs and g_saved (the dispositions goro replaced).
// The dispatcher copies the matching channel handles under it and sends after
// unlocking, so a subscriber's channel operations never run under the lock.
#include "goro/signal.hpp"
#include "goro/deadlock.hpp"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
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

void on_signal(int sig) {
  const int saved_errno = errno;
  const unsigned char byte = static_cast<unsigned char>(sig);
  (void)!::write(g_pipe[1], &byte, 1);
  errno = saved_errno;
}

void dispatch() {
  // While any channel is subscribed an ExternalWait is held; the thread itself is not a
  // waker the deadlock detector should count.
  goro::NeverWakesTasks bystander;
  std::vector<Channel<int>> targets;
  for (;;) {
    unsigned char byte;
    const ssize_t n = ::read(g_pipe[0], &byte, 1);
    if (n != 1) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    const int sig = byte;
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

void start_dispatcher_locked() {
  if (g_pipe[0] >= 0) return;
  if (::pipe2(g_pipe, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "goro::notify_signals: pipe2");
  ::fcntl(g_pipe[1], F_SETFL, ::fcntl(g_pipe[1], F_GETFL) | O_NONBLOCK);
  std::thread([note = detail::note_thread_created("goro signal dispatcher")] { dispatch(); }).detach();
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
  start_dispatcher_locked();
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
  if (!g_subs->empty() && !g_listening->has_value()) g_listening->emplace();
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
  if (g_subs->empty()) g_listening->reset();
}

}  // namespace goro
