// runtime/src/netpoll.cpp — see netpoll.hpp for the design and invariants.
#include "netpoll.hpp"

#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "external_waits.hpp"
#include "goro/detail/park.hpp"
#include "goro/detail/timer.hpp"
#include "goro/io.hpp"
#include "log.hpp"
#include "scheduler.hpp"

namespace goro::detail {

namespace {

constexpr std::uint32_t kEpollEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

std::string site_text(const std::source_location& where) {
  return std::string(where.file_name()) + ":" + std::to_string(where.line());
}

const char* dir_name(PollDir dir) { return dir == PollDir::read ? "wait_readable" : "wait_writable"; }

// Go's netpollunblock: takes the parked task out of the slot (if any) and leaves kReady
// (an fd edge) or kIdle (deadline, close) behind.
TaskRecord* unblock(std::atomic<std::uintptr_t>& slot, bool io_ready) noexcept {
  std::uintptr_t old = slot.load(std::memory_order_seq_cst);
  for (;;) {
    if (old == PollDesc::kReady) return nullptr;
    if (old == PollDesc::kIdle && !io_ready) return nullptr;
    const std::uintptr_t next = io_ready ? PollDesc::kReady : PollDesc::kIdle;
    if (slot.compare_exchange_weak(old, next, std::memory_order_seq_cst)) {
      if (old == PollDesc::kIdle || old == PollDesc::kWait) return nullptr;
      return reinterpret_cast<TaskRecord*>(old);
    }
  }
}

// The deadline timer of one wait; lives on the waiter's stack.
struct DeadlineTimer {
  std::atomic<std::uintptr_t>* slot = nullptr;
  TimerHandle handle;
  std::atomic<bool> done{false};  // fire or drop has finished with this object
};

void deadline_fired(void* arg) {
  auto* timer = static_cast<DeadlineTimer*>(arg);
  if (TaskRecord* t = unblock(*timer->slot, false)) ready_task(t);
  timer->done.store(true, std::memory_order_release);
}

void deadline_dropped(void* arg) {
  static_cast<DeadlineTimer*>(arg)->done.store(true, std::memory_order_release);
}

void retire(DeadlineTimer& timer) noexcept {
  (void)cancel_timer(timer.handle);  // drop runs if it removed the timer
  while (!timer.done.load(std::memory_order_acquire)) cpu_relax();  // firing right now
}

struct CommitArgs {
  std::atomic<std::uintptr_t>* slot;
  TaskRecord* task;
};

// park()'s release step: the fiber is switched out, so the task may be readied now.
void commit_wait(void* arg) {
  auto* args = static_cast<CommitArgs*>(arg);
  std::uintptr_t expected = PollDesc::kWait;
  if (!args->slot->compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(args->task),
                                           std::memory_order_seq_cst))
    ready_task(args->task);  // unblocked before we parked: do not sleep
}

// A plain thread's wait: poll(2) until ready or the deadline.
bool wait_on_thread(int fd, PollDir dir, std::int64_t deadline_ns, const std::source_location& where) {
  ExternalWait in_flight;
  for (;;) {
    int timeout_ms = -1;
    if (deadline_ns != kNeverNs) {
      const std::int64_t left = deadline_ns - now_ns();
      if (left <= 0) {
        timeout_ms = 0;
      } else {
        const std::int64_t ms = (left + 999'999) / 1'000'000;
        timeout_ms = ms > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(ms);
      }
    }
    pollfd p{fd, static_cast<short>(dir == PollDir::read ? POLLIN : POLLOUT), 0};
    const int n = ::poll(&p, 1, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(),
                              std::string("goro::io::") + dir_name(dir) + " at " + site_text(where) + ": poll");
    }
    if (n > 0) {
      if (p.revents & POLLNVAL)
        throw std::system_error(EBADF, std::generic_category(),
                                std::string("goro::io::") + dir_name(dir) + "(fd " + std::to_string(fd) +
                                    ") at " + site_text(where) + ": not an open file descriptor");
      return true;  // ready, or an error/hang-up the next read or write reports
    }
    if (timeout_ms == 0) return false;
  }
}

// Every live Netpoll, for io::close from any thread. Leaked: used until exit.
std::mutex& pollers_mutex() {
  static auto* m = new std::mutex;
  return *m;
}
std::vector<Netpoll*>& pollers() {  // guarded by pollers_mutex()
  static auto* v = new std::vector<Netpoll*>;
  return *v;
}

}  // namespace

Netpoll* current_netpoll() noexcept {
  Worker* w = this_worker();
  return (w != nullptr && w->current != nullptr) ? &w->rt->netpoll() : nullptr;
}

Netpoll::Netpoll() {
  std::lock_guard guard(pollers_mutex());
  pollers().push_back(this);
}

Netpoll::~Netpoll() {
  {
    std::unique_lock gone(life_->lock);
    life_->poller = nullptr;
  }
  {
    std::lock_guard guard(pollers_mutex());
    std::erase(pollers(), this);
  }
  for (auto& chunk : chunks_) delete[] chunk.load(std::memory_order_relaxed);
  if (epfd_ >= 0) ::close(epfd_);
  if (eventfd_ >= 0) ::close(eventfd_);
}

void Netpoll::init() {
  if (initialized_.load(std::memory_order_acquire)) return;
  std::lock_guard guard(table_lock_);
  if (initialized_.load(std::memory_order_relaxed)) return;
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "goro: epoll_create1");
  eventfd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (eventfd_ < 0) throw std::system_error(errno, std::generic_category(), "goro: eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: reported until read
  ev.data.ptr = nullptr;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, eventfd_, &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "goro: epoll_ctl(eventfd)");
  initialized_.store(true, std::memory_order_release);
}

PollDesc& Netpoll::desc(int fd) {
  if (fd < 0 || fd >= (kChunks << kChunkBits))
    throw std::invalid_argument("goro::io: fd " + std::to_string(fd) + " is out of range");
  init();
  std::atomic<PollDesc*>& chunk = chunks_[fd >> kChunkBits];
  PollDesc* descs = chunk.load(std::memory_order_acquire);
  if (descs == nullptr) {
    std::lock_guard guard(table_lock_);
    descs = chunk.load(std::memory_order_relaxed);
    if (descs == nullptr) {
      descs = new PollDesc[std::size_t{1} << kChunkBits];
      for (int i = 0; i < (1 << kChunkBits); ++i) descs[i].fd = ((fd >> kChunkBits) << kChunkBits) + i;
      chunk.store(descs, std::memory_order_release);
    }
  }
  return descs[fd & ((1 << kChunkBits) - 1)];
}

void Netpoll::epoll_add(PollDesc& pd, bool lazy, const std::source_location& where, PollDir dir) {
  epoll_event ev{};
  ev.events = kEpollEvents;
  ev.data.ptr = &pd;
  std::lock_guard guard(pd.lock);
  if (!lazy && pd.in_epoll) return;
  // Cleared before the ADD, whose first edge may be harvested at once by another worker.
  pd.hung_up.store(false, std::memory_order_relaxed);
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, pd.fd, &ev) == 0) {
    // A fresh registration: the file behind this fd number is new to us.
    pd.in_epoll = true;
    pd.closed.store(false, std::memory_order_seq_cst);
    return;
  }
  // Registered before: a hang-up it saw then is unknown now, so assume one.
  pd.hung_up.store(true, std::memory_order_relaxed);
  if (errno == EEXIST) return;
  const int error = errno;
  if (error == EBADF && pd.closed.load(std::memory_order_seq_cst))  // io::close ran: say so
    throw io::Closed("goro::io::" + std::string(dir_name(dir)) + "(fd " + std::to_string(pd.fd) + ") at " +
                     site_text(where) + ": the fd was closed (use of a closed file descriptor)");
  const std::string what = std::string("goro::io::") + (lazy ? dir_name(dir) : "Registration") + "(fd " +
                           std::to_string(pd.fd) + ") at " + site_text(where);
  if (error == EPERM)
    throw std::system_error(error, std::generic_category(),
                            what + ": this kind of file cannot be polled (a regular file or a "
                                   "directory?); run the blocking call through goro::blocking instead");
  throw std::system_error(error, std::generic_category(), what + ": epoll_ctl");
}

void Netpoll::add_registration(int fd) {
  PollDesc& pd = desc(fd);
  {
    std::lock_guard guard(pd.lock);
    if (pd.registrations.fetch_add(1, std::memory_order_relaxed) > 0) return;
    pd.in_epoll = false;  // check afresh below: the fd number may be a new file
  }
  try {
    epoll_add(pd, false, std::source_location::current(), PollDir::read);
  } catch (...) {
    std::lock_guard guard(pd.lock);
    pd.registrations.fetch_sub(1, std::memory_order_relaxed);
    throw;
  }
}

void Netpoll::drop_registration(int fd) noexcept {
  PollDesc& pd = desc(fd);
  {
    std::lock_guard guard(pd.lock);
    if (pd.registrations.fetch_sub(1, std::memory_order_relaxed) > 1) return;
    if (pd.in_epoll) (void)::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    pd.in_epoll = false;
  }
  unblock_all(pd);
}

PollDesc* Netpoll::existing_desc(int fd) const noexcept {
  if (fd < 0 || fd >= (kChunks << kChunkBits)) return nullptr;
  PollDesc* descs = chunks_[fd >> kChunkBits].load(std::memory_order_acquire);
  return descs == nullptr ? nullptr : &descs[fd & ((1 << kChunkBits) - 1)];
}

bool Netpoll::hung_up(int fd) noexcept {
  const PollDesc* pd = existing_desc(fd);
  if (pd == nullptr) return true;  // never waited on here: no edge to rely on
  return pd->hung_up.load(std::memory_order_seq_cst);
}

void Netpoll::evict(int fd) noexcept {
  PollDesc* found = existing_desc(fd);
  if (found == nullptr) return;
  PollDesc& pd = *found;
  pd.closed.store(true, std::memory_order_seq_cst);
  {
    std::lock_guard guard(pd.lock);
    if (pd.in_epoll) (void)::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    pd.in_epoll = false;
  }
  unblock_all(pd);
}

void Netpoll::evict_everywhere(int fd) noexcept {
  std::lock_guard guard(pollers_mutex());
  for (Netpoll* poller : pollers()) poller->evict(fd);
}

void Netpoll::watch(int fd, void (*on_ready)(void*), void* arg) {
  PollDesc& pd = desc(fd);
  std::lock_guard guard(pd.lock);
  pd.on_ready_arg.store(arg, std::memory_order_relaxed);
  pd.on_ready.store(on_ready, std::memory_order_release);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.ptr = &pd;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    pd.on_ready.store(nullptr, std::memory_order_relaxed);
    throw std::system_error(errno, std::generic_category(), "goro: epoll_ctl(watch fd " + std::to_string(fd) + ")");
  }
  pd.in_epoll = true;
  watched_.fetch_add(1, std::memory_order_relaxed);
  waiters_.fetch_add(1, std::memory_order_relaxed);
}

void Netpoll::unwatch(int fd) noexcept {
  PollDesc& pd = desc(fd);
  std::lock_guard guard(pd.lock);
  if (pd.on_ready.load(std::memory_order_relaxed) == nullptr) return;
  (void)::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  pd.in_epoll = false;
  pd.on_ready.store(nullptr, std::memory_order_relaxed);
  waiters_.fetch_sub(1, std::memory_order_relaxed);
  watched_.fetch_sub(1, std::memory_order_relaxed);
}

void Netpoll::unblock_all(PollDesc& pd) noexcept {
  pd.close_seq.fetch_add(1, std::memory_order_seq_cst);
  if (TaskRecord* t = unblock(pd.rg, false)) ready_task(t);
  if (TaskRecord* t = unblock(pd.wg, false)) ready_task(t);
}

void Netpoll::wake(int fd, PollDir dir) noexcept {
  PollDesc* pd = existing_desc(fd);
  if (pd == nullptr) return;
  if (TaskRecord* t = unblock(dir == PollDir::read ? pd->rg : pd->wg, true)) ready_task(t);
}

bool Netpoll::wait(int fd, PollDir dir, std::int64_t deadline_ns, const std::source_location& where,
                   const char* operation, const char* peer) {
  PollDesc& pd = desc(fd);
  std::atomic<std::uintptr_t>& slot = dir == PollDir::read ? pd.rg : pd.wg;
  auto closed_error = [&] {
    return io::Closed("goro::io::" + std::string(dir_name(dir)) + "(fd " + std::to_string(fd) + ") at " +
                      site_text(where) + ": the fd was closed (use of a closed file descriptor)");
  };
  if (pd.registrations.load(std::memory_order_relaxed) == 0) epoll_add(pd, true, where, dir);
  for (;;) {
    if (pd.closed.load(std::memory_order_seq_cst)) throw closed_error();
    std::uintptr_t v = slot.load(std::memory_order_acquire);
    if (v == PollDesc::kReady) {
      if (slot.compare_exchange_strong(v, PollDesc::kIdle, std::memory_order_seq_cst)) return true;
      continue;
    }
    if (v != PollDesc::kIdle)
      throw std::logic_error("goro::io::" + std::string(dir_name(dir)) + "(fd " + std::to_string(fd) +
                             ") at " + site_text(where) +
                             ": another task is already waiting on this fd in the same direction; "
                             "one waiter per fd and direction");
    if (deadline_ns != kNeverNs && deadline_ns <= now_ns())
      return wait_on_thread(fd, dir, 0, where);  // poll(2), no sleep
    const std::uint32_t seq = pd.close_seq.load(std::memory_order_seq_cst);
    if (!slot.compare_exchange_strong(v, PollDesc::kWait, std::memory_order_seq_cst)) continue;
    if (pd.closed.load(std::memory_order_seq_cst)) {  // close ran between our checks
      std::uintptr_t wait = PollDesc::kWait;
      (void)slot.compare_exchange_strong(wait, PollDesc::kIdle, std::memory_order_seq_cst);
      throw closed_error();
    }

    ExternalWait in_flight;
    waiters_.fetch_add(1, std::memory_order_relaxed);
    DeadlineTimer timer;
    timer.slot = &slot;
    if (deadline_ns != kNeverNs) timer.handle = add_timer(deadline_ns, deadline_fired, deadline_dropped, &timer);
    const IoWaitObject object{fd, dir, operation, peer};
    const WaitSite site{diag::WaitReason::io_wait, where, &object};
    CommitArgs args{&slot, current_task_record()};
    try {
      park(site, commit_wait, &args);
    } catch (...) {  // TaskUnwind: run() is unwinding this task
      std::uintptr_t mine = reinterpret_cast<std::uintptr_t>(args.task);
      (void)slot.compare_exchange_strong(mine, PollDesc::kIdle, std::memory_order_seq_cst);
      if (deadline_ns != kNeverNs) retire(timer);
      waiters_.fetch_sub(1, std::memory_order_relaxed);
      throw;
    }
    if (deadline_ns != kNeverNs) retire(timer);
    waiters_.fetch_sub(1, std::memory_order_relaxed);
    if (slot.exchange(PollDesc::kIdle, std::memory_order_seq_cst) == PollDesc::kReady) return true;
    if (pd.close_seq.load(std::memory_order_seq_cst) != seq || pd.closed.load(std::memory_order_seq_cst))
      throw closed_error();
    return false;  // the deadline passed
  }
}

int Netpoll::poll_events(std::int64_t timeout_ns, PollBatch& out) noexcept {
  const bool blocking = timeout_ns != 0;
  epoll_event events[PollBatch::kEvents];
  int n;
  if (timeout_ns == 0) {
    n = ::epoll_wait(epfd_, events, PollBatch::kEvents, 0);
  } else {
    // epoll_pwait2 takes nanoseconds, so timers keep their precision; older kernels
    // (ENOSYS) get epoll_wait, rounded up to the millisecond.
    timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000), static_cast<long>(timeout_ns % 1'000'000'000)};
    n = ::epoll_pwait2(epfd_, events, PollBatch::kEvents, timeout_ns < 0 ? nullptr : &ts, nullptr);
    if (n < 0 && errno == ENOSYS) {
      const std::int64_t ms = timeout_ns < 0 ? -1 : std::min<std::int64_t>((timeout_ns + 999'999) / 1'000'000, 1 << 30);
      n = ::epoll_wait(epfd_, events, PollBatch::kEvents, static_cast<int>(ms));
    }
  }
  for (int i = 0; i < n; ++i) {
    auto* pd = static_cast<PollDesc*>(events[i].data.ptr);
    if (pd == nullptr) {  // the eventfd: interrupt()
      // Only the blocker resets it. A non-blocking poll that read it could swallow an
      // interrupt meant for the worker inside epoll_wait (the eventfd is level-triggered,
      // so it stays reported until the blocker reads it).
      if (blocking) {
        std::uint64_t value;
        (void)!::read(eventfd_, &value, sizeof value);
      }
      continue;
    }
    if (auto on_ready = pd->on_ready.load(std::memory_order_acquire)) {  // watch()
      on_ready(pd->on_ready_arg.load(std::memory_order_relaxed));
      continue;
    }
    const std::uint32_t e = events[i].events;
    // seq_cst, before unblock() reads the slot: a reader that takes kReady after that
    // read (seq_cst) sees the hang-up, even when this edge found kReady already there.
    if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) pd->hung_up.store(true, std::memory_order_seq_cst);
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
      if (TaskRecord* t = unblock(pd->rg, true)) out.tasks[out.count++] = t;
    if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
      if (TaskRecord* t = unblock(pd->wg, true)) out.tasks[out.count++] = t;
  }
  return n;
}

void Netpoll::poll_if_due(std::uint32_t tick, PollBatch& out) noexcept {
  if (tick % 16 != 0 || !initialized_.load(std::memory_order_acquire)) return;
  if (blocker_.load(std::memory_order_relaxed) != nullptr) return;  // an idle worker polls
  const std::int64_t now = now_ns();
  if (now - last_poll_ns_.load(std::memory_order_relaxed) < kPollIntervalNs) return;
  last_poll_ns_.store(now, std::memory_order_relaxed);
  (void)poll_events(0, out);
}

void Netpoll::poll_now(PollBatch& out) noexcept {
  if (!initialized_.load(std::memory_order_acquire)) return;
  if (blocker_.load(std::memory_order_relaxed) != nullptr) return;
  (void)poll_events(0, out);
}

bool Netpoll::block(Worker* w, std::int64_t deadline_ns, std::atomic<std::uint32_t>* wake_word,
                    PollBatch& out) noexcept {
  if (!initialized_.load(std::memory_order_acquire)) return false;
  Worker* none = nullptr;
  if (!blocker_.compare_exchange_strong(none, w, std::memory_order_seq_cst)) return false;
  // Dekker with interrupt(): we publish blocker_ then read the wake word; the waker
  // stores the wake word then reads blocker_. One of us sees the other.
  if (wake_word->load(std::memory_order_seq_cst) == 0) {
    std::int64_t timeout_ns = -1;
    if (deadline_ns != kNeverNs) timeout_ns = std::max<std::int64_t>(deadline_ns - now_ns(), 0);
    (void)poll_events(timeout_ns, out);
  }
  blocker_.store(nullptr, std::memory_order_seq_cst);
  return true;
}

void Netpoll::interrupt(Worker* w) noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (blocker_.load(std::memory_order_seq_cst) != w) return;
  const std::uint64_t one = 1;
  (void)!::write(eventfd_, &one, sizeof one);
}

}  // namespace goro::detail

// --------------------------------------------------------------------- public API

namespace goro::io {

namespace {
bool wait_for(int fd, detail::PollDir dir, std::chrono::steady_clock::time_point deadline,
              const std::source_location& where) {
  const std::int64_t deadline_ns = detail::deadline_ns(deadline);
  if (detail::Netpoll* poller = detail::current_netpoll()) return poller->wait(fd, dir, deadline_ns, where);
  return detail::wait_on_thread(fd, dir, deadline_ns, where);
}
}  // namespace

bool wait_readable(int fd, std::chrono::steady_clock::time_point deadline, std::source_location where) {
  return wait_for(fd, detail::PollDir::read, deadline, where);
}

bool wait_writable(int fd, std::chrono::steady_clock::time_point deadline, std::source_location where) {
  return wait_for(fd, detail::PollDir::write, deadline, where);
}

void close(int fd) {
  detail::Netpoll::evict_everywhere(fd);
  ::close(fd);
}

Registration::Registration(int fd) : fd_(fd) {
  if (detail::Netpoll* poller = detail::current_netpoll()) {
    poller->add_registration(fd);
    poller_ = poller;
  }
}

Registration::~Registration() { release(); }

Registration& Registration::operator=(Registration&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    poller_ = other.poller_;
    other.fd_ = -1;
    other.poller_ = nullptr;
  }
  return *this;
}

void Registration::release() noexcept {
  if (poller_ != nullptr) static_cast<detail::Netpoll*>(poller_)->drop_registration(fd_);
  poller_ = nullptr;
}

void Registration::close() {
  if (fd_ < 0) return;
  detail::Netpoll::evict_everywhere(fd_);
  release();
  ::close(fd_);
  fd_ = -1;
}

}  // namespace goro::io
