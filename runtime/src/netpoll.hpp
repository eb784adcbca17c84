// runtime/src/netpoll.hpp — the poller: tasks park on fd readiness, not their threads
// (Go's runtime/netpoll.go and netpoll_epoll.go).
//
//   // a task (goro::io::wait_readable):        // the scheduler (idle.hpp):
//   netpoll.wait(fd, PollDir::read, deadline);  if (netpoll.has_waiters()) poll_if_due();
//                                               // out of work: poll_now()
//                                               // idle: netpoll.block(w, timer deadline, ...)
//
// One Netpoll per runtime: an epoll instance, an eventfd that breaks a blocked
// epoll_wait, and one PollDesc per fd number (created on first use, never freed before
// the Netpoll). Each fd is in the epoll set once, edge-triggered for both directions.
//
// Invariants (PollDesc::rg / wg, one slot per direction, as Go's pollDesc):
// - A slot holds kIdle (0), kReady (an edge arrived that no waiter consumed yet), kWait
//   (a waiter is about to park) or the parked TaskRecord*. Only one task waits per
//   direction at a time; a second one is a usage error (std::logic_error).
// - Transitions: the waiter takes kReady -> kIdle (ready at once) or kIdle -> kWait,
//   then, once its fiber is switched out (park's release step), kWait -> task. If that
//   commit fails the slot was unblocked meanwhile and the waiter readies itself. An
//   unblocker (an epoll edge, the deadline timer, close) CASes the slot to kReady (I/O)
//   or kIdle (timer, close) and readies the task it took out, if any: exactly one party
//   takes a task pointer out of a slot, so a task is readied exactly once.
// - On resuming, the waiter exchanges the slot to kIdle: kReady means ready; anything
//   else means its deadline passed or the fd was closed (close_seq moved). An edge is
//   never lost: it is either consumed by a waiter or left as kReady for the next wait.
// - The deadline timer lives on the waiter's stack; the waiter does not return before
//   the timer is provably done with it (cancelled, or fire/drop finished).
// - Only the blocker reads the eventfd (level-triggered): an interrupt stays pending
//   until the worker it was meant for sees it, whoever else polls meanwhile.
// - hung_up is set (seq_cst) by a poll whose edge for the fd carried EPOLLRDHUP, EPOLLHUP
//   or EPOLLERR, before that poll reads the read slot, and a waiter takes kReady out of
//   the slot by a seq_cst RMW: so a reader that consumed the last edge sees the hang-up
//   that came with it. It is cleared before a fresh EPOLL_CTL_ADD and set when the ADD
//   finds the fd registered already (unknown past: assume a hang-up). While it is
//   false, every byte that reaches the socket after a recv brings a new edge, so a recv
//   that returned less than it asked for (the queue was empty) lets the next read wait
//   first (hung_up()); after a hang-up, the end of the stream needs no edge to be read.
// - closed is set (seq_cst) before close unblocks the slots, and a waiter re-reads it
//   (seq_cst) after its kIdle -> kWait CAS: so either close sees kWait/the task and
//   unblocks it, or the waiter sees closed and does not park.
//
// Lock discipline: PollDesc::lock guards registrations and in_epoll (the epoll_ctl
// calls for the fd); table_lock_ guards creating chunks of the descriptor table. The
// slots, closed and close_seq are atomics, touched without locks. No lock is held while
// parking or readying a task, except the process-wide poller list's mutex (netpoll.cpp),
// which evict_everywhere() holds so that no poller is destroyed under it; it is taken
// before any PollDesc::lock and never while a poller's own locks are held.
//
// The scheduler's seam: has_waiters() (one relaxed load per scheduling round, all a
// program without IO pays), poll_if_due() from busy workers, poll_now() from a worker
// out of work, block() for the one idle worker that sleeps in epoll_wait until the next
// timer, interrupt() after a worker's wake word is set. A worker runs the first task its
// own poll readied without waking anyone (Runtime::take_polled). While tasks wait on fds
// no worker spins (IdleWorkers::may_spin): a worker out of work polls once, steals what
// it can at once, and goes idle, and one idle worker sleeps in epoll_wait.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <source_location>

#include "goro/detail/futex_lock.hpp"

namespace goro::detail {

struct TaskRecord;
struct Worker;
class Runtime;
class Netpoll;

enum class PollDir : std::uint8_t { read, write };

// What an IO wait's WaitSite::object points to (on the waiter's stack), for diag.
// operation and peer are goro::net's labels ("read", "accept", "dial"; the address being
// dialed, which getpeername cannot tell yet); null for a plain goro::io wait. operation
// is a string literal; peer lives on the waiter's stack, so readers copy it while the
// wait record is pinned.
struct IoWaitObject {
  int fd;
  PollDir dir;
  const char* operation = nullptr;
  const char* peer = nullptr;
};

struct PollDesc {
  static constexpr std::uintptr_t kIdle = 0, kReady = 1, kWait = 2;
  std::atomic<std::uintptr_t> rg{kIdle};
  std::atomic<std::uintptr_t> wg{kIdle};
  std::atomic<bool> closed{false};           // close() ran; reset by a fresh registration
  std::atomic<std::uint32_t> close_seq{0};   // bumped by every close or deregistration
  FutexLock lock;                            // guards registrations, in_epoll
  std::atomic<int> registrations{0};         // live goro::io::Registration objects (written under lock)
  bool in_epoll = false;
  // An edge carried a hang-up or an error (EPOLLRDHUP, EPOLLHUP, EPOLLERR) since the fd
  // was registered: the end of its stream is there to read without a new edge.
  std::atomic<bool> hung_up{false};
  int fd = -1;
  // A watched fd (Netpoll::watch): its edges run on_ready(on_ready_arg) on the polling
  // worker instead of readying a task. Written by watch/unwatch only.
  std::atomic<void (*)(void*)> on_ready{nullptr};
  std::atomic<void*> on_ready_arg{nullptr};  // atomic: a poll that raced an unwatch may read it
};

// Up to this many tasks readied by one poll.
struct PollBatch {
  static constexpr int kEvents = 128;
  TaskRecord* tasks[2 * kEvents];
  int count = 0;
};

// A poller's liveness, for objects that may outlive their runtime (a goro::net socket
// kept past run()): hold the shared_ptr, and use `poller` only under a shared lock while
// it is non-null. ~Netpoll clears it under the exclusive lock.
struct PollerLife {
  explicit PollerLife(Netpoll* p) : poller(p) {}
  std::shared_mutex lock;
  Netpoll* poller;  // guarded by lock
};

class Netpoll {
 public:
  Netpoll();
  ~Netpoll();
  const std::shared_ptr<PollerLife>& life() const noexcept { return life_; }
  Netpoll(const Netpoll&) = delete;
  Netpoll& operator=(const Netpoll&) = delete;

  // --- the scheduler's seam
  bool has_waiters() const noexcept { return waiters_.load(std::memory_order_relaxed) != 0; }
  // Whether a task (not just a watched fd) waits on an fd: the process then waits on
  // other processes and the kernel (IdleWorkers::may_spin). Relaxed: a heuristic.
  bool has_task_waiters() const noexcept {
    return waiters_.load(std::memory_order_relaxed) > watched_.load(std::memory_order_relaxed);
  }
  // Busy worker: a non-blocking poll when nobody blocks in epoll_wait and the last poll
  // is over kPollIntervalNs old; `tick` is the worker's schedule counter.
  void poll_if_due(std::uint32_t tick, PollBatch& out) noexcept;
  // A worker out of work (Go's findRunnable before stealing or sleeping): a non-blocking
  // poll, unless an idle worker is inside epoll_wait (Go's lastpoll == 0). The kernel
  // wakes that worker for every edge anyway; a second poller would only race it for the
  // edge, turning its wake-up into a wasted one on every edge. Skipping lets the busy
  // worker go idle while the blocker runs what it got: a pair of tasks that ready each
  // other through fds then settles on one worker, with the others asleep on their futex
  // and nobody in epoll_wait, polling once per hand-off.
  void poll_now(PollBatch& out) noexcept;
  // Idle worker: sleeps in epoll_wait until deadline_ns (kNeverNs: no timeout), an fd
  // edge, or interrupt(); false at once when another worker is the blocker. Skips the
  // sleep when *wake_word is already set. Readied tasks are left in `out`.
  bool block(Worker* w, std::int64_t deadline_ns, std::atomic<std::uint32_t>* wake_word,
             PollBatch& out) noexcept;
  // After setting w's wake word: breaks w out of epoll_wait if it is the blocker.
  void interrupt(Worker* w) noexcept;

  // --- goro::io
  bool wait(int fd, PollDir dir, std::int64_t deadline_ns, const std::source_location& where,
            const char* operation = nullptr, const char* peer = nullptr);
  // A spurious readiness edge for fd's waiter in `dir` (or the next one): its wait returns
  // true at once, so a caller that changed what it waits for (goro::net's deadlines)
  // re-reads it. Never lost: it stays as kReady when nobody waits.
  void wake(int fd, PollDir dir) noexcept;
  void add_registration(int fd);
  void drop_registration(int fd) noexcept;
  // Whether an edge of fd carried a hang-up or an error since it was registered (see
  // PollDesc::hung_up). Until then, a reader whose recv returned less than it asked for
  // has emptied the socket, and any byte that arrives later brings an edge: it may wait
  // before its next recv instead of spending that recv on EAGAIN (goro::net's Conn::read).
  bool hung_up(int fd) noexcept;
  // Wakes every waiter of fd with goro::io::Closed; later waits throw it too, until the
  // fd is registered afresh. Does not close the fd.
  void evict(int fd) noexcept;
  // evict(fd) in every live runtime's poller: a task of any runtime may be waiting on
  // fd, and io::close may run on a plain thread.
  static void evict_everywhere(int fd) noexcept;

  // --- runtime services (the signal fds): an fd whose edges (readable, edge-triggered)
  // run on_ready(arg) on whichever worker polls them, with no lock of the poller held;
  // on_ready must drain the fd and may run concurrently with itself. A watched fd counts
  // as a waiter, so an idle worker sleeps in epoll_wait for it. The fd must stay open
  // until unwatch().
  void watch(int fd, void (*on_ready)(void*), void* arg);
  void unwatch(int fd) noexcept;

  // A busy runtime polls at most this often: ~0.5 us of epoll_wait per millisecond.
  static constexpr std::int64_t kPollIntervalNs = 1'000'000;

 private:
  static constexpr int kChunkBits = 10;
  static constexpr int kChunks = 4096;  // fds below 4 Mi

  void init();                         // creates epoll + eventfd on first use
  PollDesc& desc(int fd);
  // fd's descriptor if its chunk exists, else null (never allocates; fd may be any int).
  PollDesc* existing_desc(int fd) const noexcept;
  void epoll_add(PollDesc& pd, bool lazy, const std::source_location& where, PollDir dir);
  void unblock_all(PollDesc& pd) noexcept;
  int poll_events(std::int64_t timeout_ns, PollBatch& out) noexcept;  // < 0: no timeout

  std::atomic<bool> initialized_{false};
  FutexLock table_lock_;  // guards chunk creation and init()
  int epfd_ = -1;
  int eventfd_ = -1;
  std::atomic<PollDesc*> chunks_[kChunks]{};
  std::atomic<std::int64_t> waiters_{0};       // tasks parked (or parking) on an fd, and watched fds
  std::atomic<std::int64_t> watched_{0};       // watched fds (counted in waiters_ too)
  std::atomic<Worker*> blocker_{nullptr};      // the worker inside epoll_wait, if any
  std::atomic<std::int64_t> last_poll_ns_{0};
  std::shared_ptr<PollerLife> life_{std::make_shared<PollerLife>(this)};
};

// The calling task's runtime's poller, or nullptr on a plain thread.
Netpoll* current_netpoll() noexcept;

// The default runtime's poller (started on first use), and a wake-up of one of its idle
// workers so that one sleeps in epoll_wait: for watchers outside any task (signals).
Netpoll& default_runtime_poller();
void wake_default_runtime_for_poller() noexcept;

}  // namespace goro::detail
