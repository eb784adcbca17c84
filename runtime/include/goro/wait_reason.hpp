// goro/wait_reason.hpp — why a task is parked.
//
// The runtime writes one of these into a task's record every time the task parks;
// goro::diag reads them back. It is declared here, with the runtime, because every
// parking primitive names its reason; it is named goro::diag::WaitReason because users
// meet it only in diag's results (TaskInfo::reason). Example:
//
//   for (const auto& t : goro::diag::tasks())
//     std::cout << t.id << " " << goro::diag::to_string(t.reason) << "\n";
#pragma once

#include <cstdint>
#include <string_view>

namespace goro::diag {

enum class WaitReason : std::uint8_t {
  none,             // running, runnable, or not a task
  chan_send,        // Channel::send on a full/unbuffered channel
  chan_recv,        // Channel::recv on an empty channel
  select,           // select() with at least one case, none ready
  select_no_cases,  // select() with no cases: blocks forever
  sleep,            // sleep_for
  wait_group,       // WaitGroup::wait
  mutex,            // Mutex::lock (also the relock at the end of ConditionVariable::wait)
  rwmutex_lock,     // RWMutex::lock: behind another writer, or for the readers to leave
  rwmutex_rlock,    // RWMutex::lock_shared: a writer holds the lock or is waiting for it
  cond_wait,        // ConditionVariable::wait / wait_for, until notified (or timed out)
  once,             // Once::call while another caller runs the function
  io_wait,          // goro::io::wait_readable / wait_writable and goro::net calls: the fd is not ready
  syscall,          // goro::blocking: the call runs on the blocking pool
  semaphore,        // Semaphore::acquire: not enough units free
  bubble_wait,      // goro::testing::wait_blocked: until the bubble's other tasks block
};

// Go's spelling (runtime2.go waitReasonStrings) where Go has one.
constexpr std::string_view to_string(WaitReason r) noexcept {
  switch (r) {
    case WaitReason::none: return "running";
    case WaitReason::chan_send: return "chan send";
    case WaitReason::chan_recv: return "chan receive";
    case WaitReason::select: return "select";
    case WaitReason::select_no_cases: return "select (no cases)";
    case WaitReason::sleep: return "sleep";
    case WaitReason::wait_group: return "wait group";
    case WaitReason::mutex: return "mutex";
    case WaitReason::rwmutex_lock: return "rwmutex lock";  // Go: "sync.RWMutex.Lock"
    case WaitReason::rwmutex_rlock: return "rwmutex rlock";  // Go: "sync.RWMutex.RLock"
    case WaitReason::cond_wait: return "cond wait";  // Go: "sync.Cond.Wait"
    case WaitReason::once: return "once";  // Go shows sync.Once waiters as "sync.Mutex.Lock"
    case WaitReason::io_wait: return "IO wait";
    case WaitReason::syscall: return "syscall";
    case WaitReason::semaphore: return "semaphore";
    case WaitReason::bubble_wait: return "bubble wait";  // Go: "synctest.Wait"
  }
  return "unknown";
}

// Blocked "on a channel" in the sense of diag::blocked_tasks().
constexpr bool is_channel_wait(WaitReason r) noexcept {
  return r == WaitReason::chan_send || r == WaitReason::chan_recv ||
         r == WaitReason::select || r == WaitReason::select_no_cases;
}

}  // namespace goro::diag
