// runtime/src/wait_record.cpp — the readers' side of the wait-record protocol
// (invariants in wait_record.hpp).
#include "wait_record.hpp"

#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mutex>

#include "goro/detail/futex_lock.hpp"

namespace goro::detail {

namespace {
bool g_have_membarrier = false;  // set once by init_wait_records, before any worker runs
}  // namespace

namespace {

bool register_membarrier() noexcept {
#if defined(GORO_TSAN)
  return false;  // TSan cannot see a membarrier; the fences it can at least compile.
#else
  const long supported = ::syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (supported < 0 || !(supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) return false;
  return ::syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#endif
}

}  // namespace

void init_wait_records() noexcept {
  // Called by every runtime before its first worker exists (and by readers), so no
  // writer runs while this is decided.
  static std::once_flag once;
  std::call_once(once, [] {
    g_have_membarrier = register_membarrier();
    if (!g_have_membarrier) g_park_hooks.fetch_add(kParkHookReader, std::memory_order_seq_cst);
  });
}

WaitRecordReaders::WaitRecordReaders() noexcept {
  init_wait_records();  // a reader may come before any runtime
  g_park_hooks.fetch_add(kParkHookReader, std::memory_order_seq_cst);
  // Every writer that has not seen the count above has its wait_site stores visible
  // to us after this (see the invariants). Without a runtime there are no writers.
  if (g_have_membarrier) ::syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

WaitRecordReaders::~WaitRecordReaders() {
  g_park_hooks.fetch_sub(kParkHookReader, std::memory_order_release);
}

void wait_out_record_readers(TaskRecord* t) noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (int attempt = 0; t->wait_pins.load(std::memory_order_acquire) != 0; ++attempt) {
    if (attempt < 64)
      cpu_relax();
    else
      ::sched_yield();
  }
}

}  // namespace goro::detail
