// runtime/src/stack_pool.cpp — see stack_pool.hpp for the layout and invariants.
#include "stack_pool.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>

#include "sanitizers.hpp"
#include "task.hpp"

namespace goro::detail {

struct Region {
  std::byte* base;
  std::size_t bytes;
  std::size_t slot_size;
  std::size_t nslots;
  std::atomic<std::size_t> guarded{0};  // slots [0, guarded) have a guard
  Region* next_spare = nullptr;         // the owning pool's spare regions (its lock_)
};

namespace {

constexpr std::size_t kRegionBytes = std::size_t{32} << 20;  // 32 MiB of address space
constexpr std::size_t kMaxRegions = 1 << 17;                  // 4 TiB of stacks
constexpr std::uint64_t kCanary = 0x676f726f5f737461ULL;      // "goro_sta"
constexpr std::size_t kCanaryWords = StackPool::kTopReserve / sizeof(std::uint64_t);

// Append-only table read by the signal handler.
std::atomic<Region*> g_regions[kMaxRegions];
std::atomic<std::size_t> g_region_count{0};

// Linux 6.13's lightweight guard regions (older headers lack the names).
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

// How guards are made (stack_pool.hpp), decided at the first slot carved.
enum class GuardKind : int { undecided, markers, mprotect };
std::atomic<GuardKind> g_guard_kind{GuardKind::undecided};

constexpr long kUnlimited = LONG_MAX;
constexpr long kMprotectGuards = 16384;  // 2 map entries each, of vm.max_map_count's 65530
std::atomic<long> g_guards_left{-1};  // -1: not yet read from the environment
std::atomic<long> g_guard_cap{kUnlimited};  // GORO_STACK_GUARDS, once read

long guard_budget() {
  long v = g_guards_left.load(std::memory_order_acquire);
  if (v >= 0) return v;
  long budget = kUnlimited;
  if (const char* env = std::getenv("GORO_STACK_GUARDS")) {
    char* end = nullptr;
    errno = 0;
    const long parsed = std::strtol(env, &end, 10);
    if (end == env || *end != '\0' || parsed < 0 || errno != 0)
      throw std::invalid_argument(std::string("GORO_STACK_GUARDS=\"") + env +
                                  "\" is not valid: give a whole number of stacks >= 0 "
                                  "(0: no guard regions)");
    budget = parsed;
  }
  g_guard_cap.store(budget, std::memory_order_relaxed);  // the same value whoever stores
  long expected = -1;
  g_guards_left.compare_exchange_strong(expected, budget);
  return g_guards_left.load();
}

// Makes [p, p + bytes) a guard; false when the kernel refuses (the slot stays unguarded).
// Caller: a pool's lock_ held, so carving is serial per pool; the kind is shared.
bool install_guard(std::byte* p, std::size_t bytes) {
  GuardKind kind = g_guard_kind.load(std::memory_order_relaxed);
#if !defined(GORO_ASAN)
  // LeakSanitizer scans the stack regions and reads guard markers as ordinary memory
  // (it skips only what /proc/self/maps shows unreadable): under ASan, mprotect.
  if (kind != GuardKind::mprotect) {
    if (::madvise(p, bytes, MADV_GUARD_INSTALL) == 0) {
      g_guard_kind.store(GuardKind::markers, std::memory_order_relaxed);
      return true;
    }
    if (kind == GuardKind::markers) return false;  // worked before: out of memory now
  }
#endif
  if (kind != GuardKind::mprotect) {
    g_guard_kind.store(GuardKind::mprotect, std::memory_order_relaxed);
    // Guards now cost map entries: cap them, unless GORO_STACK_GUARDS asked for fewer.
    long left = g_guards_left.load(std::memory_order_relaxed);
    while (left > kMprotectGuards && g_guard_cap.load(std::memory_order_relaxed) > kMprotectGuards &&
           !g_guards_left.compare_exchange_weak(left, kMprotectGuards, std::memory_order_relaxed)) {
    }
  }
  if (::mprotect(p, bytes, PROT_NONE) != 0) {
    g_guards_left.store(0, std::memory_order_relaxed);  // out of map entries
    return false;
  }
  return true;
}

bool take_guard() {
  long v = guard_budget();
  if (v == kUnlimited) return true;
  while (v > 0) {
    if (g_guards_left.compare_exchange_weak(v, v - 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

// Pools by index (StackPool::index()): append-only, guarded by g_pools_mutex for writers.
std::mutex g_pools_mutex;
std::atomic<StackPool*> g_pools[StackPool::kMaxPools];
std::size_t g_pool_count = 0;  // guarded by g_pools_mutex

// The free-list link of a free slot, and whether it is guarded, just below its reserve.
struct FreeLink {
  std::byte* next;
  bool guarded;
};
FreeLink& free_link(std::byte* base, std::size_t slot_size) {
  return *reinterpret_cast<FreeLink*>(base + slot_size - StackPool::kTopReserve -
                                      sizeof(FreeLink));
}

std::uint64_t* canary_of(std::byte* base) {
  return reinterpret_cast<std::uint64_t*>(base - StackPool::kTopReserve);
}

void write_canary(std::byte* base) {
  std::uint64_t* words = canary_of(base);
  for (std::size_t i = 0; i < kCanaryWords; ++i) words[i] = kCanary;
}

// A small per-thread cache so that spawn/exit on a worker takes no lock. It trades
// slots with the shared free list kBatch at a time (one lock acquisition each): a task
// that migrated ends on another worker than the one that gave it a stack, so one cache
// runs dry while another overflows.
constexpr int kBatch = 32;
struct ThreadCache {
  static constexpr int kCap = 2 * kBatch;
  StackPool* pool = nullptr;
  StackPool::Slot slots[kCap];
  int count = 0;
  ~ThreadCache() {
    if (pool)
      while (count > 0) pool->release_to_pool(slots[--count]);
  }
};

// Reservations a thread holds for later spawns, per pool: reserve() takes them from the
// pool's count kBatch at a time, so a spawn touches no shared cache line.
struct ReservationCredits {
  std::uint32_t count[StackPool::kMaxPools] = {};
  ~ReservationCredits() {
    for (std::size_t i = 0; i < StackPool::kMaxPools; ++i)
      if (count[i] != 0) StackPool::by_index(static_cast<std::uint8_t>(i)).unreserve_shared(count[i]);
  }
};

}  // namespace

std::size_t StackPool::page_size() noexcept {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

std::size_t StackPool::guard_size() noexcept { return kGuardPages * page_size(); }

StackPool& StackPool::for_size(std::size_t stack_size) {
  const std::size_t page = page_size();
  // usable + reserve, rounded to pages, + the guard
  const std::size_t slot = ((stack_size + kTopReserve + page - 1) / page) * page + guard_size();
  std::lock_guard guard(g_pools_mutex);
  for (std::size_t i = 0; i < g_pool_count; ++i) {
    StackPool* pool = g_pools[i].load(std::memory_order_relaxed);
    if (pool->slot_size_ == slot) return *pool;
  }
  if (g_pool_count == kMaxPools)
    throw std::length_error("goro: too many distinct task stack sizes (at most 255 per process)");
  // Lives forever: slots may outlive any runtime.
  auto* pool = new StackPool(slot, static_cast<std::uint8_t>(g_pool_count));
  g_pools[g_pool_count++].store(pool, std::memory_order_release);
  return *pool;
}

StackPool& StackPool::by_index(std::uint8_t index) noexcept {
  return *g_pools[index].load(std::memory_order_acquire);
}

StackPool::StackPool(std::size_t slot_size, std::uint8_t index)
    : slot_size_(slot_size), guard_(guard_size()), index_(index) {}

void StackPool::map_region() {
  // lock_ held
  guard_budget();  // an invalid GORO_STACK_GUARDS fails here, at a spawn
  const std::size_t nslots = std::max<std::size_t>(kRegionBytes / slot_size_, 4);
  const std::size_t bytes = page_size() + nslots * slot_size_;
  Region* region = new (std::nothrow) Region{nullptr, nslots * slot_size_, slot_size_, nslots, {}, nullptr};
  if (region == nullptr) throw StackMemoryUnavailable(ENOMEM);
  void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) {
    const int error = errno;
    delete region;
    throw StackMemoryUnavailable(error);
  }
  const std::size_t index = g_region_count.fetch_add(1, std::memory_order_relaxed);
  if (index >= kMaxRegions) {
    g_region_count.fetch_sub(1, std::memory_order_relaxed);
    ::munmap(mem, bytes);
    delete region;
    throw StackMemoryUnavailable(ENOMEM);
  }
  region->base = static_cast<std::byte*>(mem) + page_size();
  g_regions[index].store(region, std::memory_order_release);
  sanitizers::register_root_region(mem, bytes);
  if (spare_tail_ == nullptr)
    spare_head_ = region;
  else
    spare_tail_->next_spare = region;
  spare_tail_ = region;
  capacity_.store(capacity_.load(std::memory_order_relaxed) + nslots, std::memory_order_release);
}

void StackPool::take_reservations(std::size_t n) {
  const std::size_t wanted = reserved_.fetch_add(n, std::memory_order_acq_rel) + n;
  if (wanted <= capacity_.load(std::memory_order_acquire)) return;
  std::lock_guard guard(lock_);
  try {
    while (capacity_.load(std::memory_order_relaxed) < reserved_.load(std::memory_order_relaxed))
      map_region();
  } catch (...) {
    reserved_.fetch_sub(n, std::memory_order_relaxed);
    throw;
  }
}

namespace {
thread_local ReservationCredits t_credits;
}

void StackPool::reserve() {
  std::uint32_t& credits = t_credits.count[index_];
  if (credits > 0) {
    --credits;
    return;
  }
  try {
    take_reservations(kBatch);
  } catch (const StackMemoryUnavailable&) {
    take_reservations(1);  // room for one more, perhaps, if not for a batch
    return;
  }
  credits += kBatch - 1;
}

void StackPool::unreserve() noexcept {
  std::uint32_t& credits = t_credits.count[index_];
  if (++credits > 2 * static_cast<std::uint32_t>(kBatch)) {
    credits -= kBatch;
    unreserve_shared(kBatch);
  }
}

void StackPool::unreserve_shared(std::size_t n) noexcept {
  reserved_.fetch_sub(n, std::memory_order_acq_rel);
}

StackPool::Slot StackPool::carve() {
  // lock_ held
  if (region_ == nullptr || carved_in_region_ == region_->nslots) {
    if (spare_head_ == nullptr) map_region();  // only for a slot nobody reserved
    region_ = spare_head_;
    spare_head_ = region_->next_spare;
    if (spare_head_ == nullptr) spare_tail_ = nullptr;
    carved_in_region_ = 0;
  }
  Slot slot{region_->base + carved_in_region_ * slot_size_, false};
  // Guards are only given to a prefix of each region, so "guarded" is one counter.
  slot.guarded = carved_in_region_ == region_->guarded.load(std::memory_order_relaxed) &&
                 take_guard() && install_guard(slot.base, guard_);
  if (slot.guarded)
    region_->guarded.store(carved_in_region_ + 1, std::memory_order_release);
  else
    write_canary(slot.base);
  ++carved_in_region_;
  return slot;
}

namespace {
thread_local ThreadCache t_cache;
}

StackPool::Slot StackPool::acquire() {
  ThreadCache& cache = t_cache;
  Slot slot;
  bool recycled = true;
  if (cache.pool == this && cache.count > 0) {
    slot = cache.slots[--cache.count];
    unreserve();  // the cached slot's reservation: the task brought its own
  } else {
    const bool refill = cache.pool == nullptr || cache.pool == this;
    std::lock_guard guard(lock_);
    if (free_head_ != nullptr) {
      FreeLink& link = free_link(free_head_, slot_size_);
      slot = Slot{free_head_, link.guarded};
      free_head_ = link.next;
      // Slots moved into the cache stay reserved for this thread's later tasks (they
      // are out of other threads' reach), if the mapped regions can hold that.
      // (Added first, then trimmed: a concurrent reserve() then sees the total.)
      std::size_t room = refill ? kBatch : 0;
      if (room > 0) {
        const std::size_t after = reserved_.fetch_add(room, std::memory_order_acq_rel) + room;
        const std::size_t capacity = capacity_.load(std::memory_order_relaxed);  // lock_ held
        if (after > capacity) {
          const std::size_t excess = std::min(room, after - capacity);
          unreserve_shared(excess);
          room -= excess;
        }
      }
      if (room > 0) {
        cache.pool = this;
        std::size_t moved = 0;
        while (moved < room && free_head_ != nullptr) {
          ++moved;
          FreeLink& more = free_link(free_head_, slot_size_);
          cache.slots[cache.count++] = Slot{free_head_, more.guarded};
          free_head_ = more.next;
        }
        if (moved < room) unreserve_shared(room - moved);
      }
    } else {
      slot = carve();
      recycled = false;  // fresh from mmap: all zero
    }
  }
  sanitizers::unpoison(usable_bottom(slot.base), usable_size());
  if (recycled && scrub_recycled_.load(std::memory_order_relaxed)) [[unlikely]] {
    const std::size_t n = std::min(kScrubBytes, usable_size());
    std::memset(stack_top(slot.base) - n, 0, n);
  }
  return slot;
}

void StackPool::release(Slot slot) noexcept {
  ThreadCache& cache = t_cache;
  if (cache.pool == nullptr) cache.pool = this;
  if (cache.pool != this) {
    release_to_pool(slot);
    return;
  }
  if (cache.count == ThreadCache::kCap) {
    // Full: chain the older half together, then splice it in under one lock.
    for (int i = 0; i + 1 < kBatch; ++i)
      free_link(cache.slots[i].base, slot_size_) =
          FreeLink{cache.slots[i + 1].base, cache.slots[i].guarded};
    Slot last = cache.slots[kBatch - 1];
    {
      std::lock_guard guard(lock_);
      free_link(last.base, slot_size_) = FreeLink{free_head_, last.guarded};
      free_head_ = cache.slots[0].base;
    }
    unreserve_shared(kBatch);
    for (int i = kBatch; i < cache.count; ++i) cache.slots[i - kBatch] = cache.slots[i];
    cache.count -= kBatch;
  }
  cache.slots[cache.count++] = slot;
}

void StackPool::release_to_pool(Slot slot) noexcept {
  {
    std::lock_guard guard(lock_);
    free_link(slot.base, slot_size_) = FreeLink{free_head_, slot.guarded};
    free_head_ = slot.base;
  }
  unreserve_shared(1);
}

bool StackPool::canary_intact(Slot slot) noexcept {
  if (slot.guarded) return true;
  const std::uint64_t* words = canary_of(slot.base);
  for (std::size_t i = 0; i < kCanaryWords; ++i)
    if (words[i] != kCanary) return false;
  return true;
}

const std::byte* StackPool::guard_slot_of(const void* addr) noexcept {
  const auto* a = static_cast<const std::byte*>(addr);
  std::size_t n = g_region_count.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < n; ++i) {
    Region* r = g_regions[i].load(std::memory_order_acquire);
    if (r == nullptr) continue;  // being added
    if (a < r->base || a >= r->base + r->bytes) continue;
    std::size_t index = static_cast<std::size_t>(a - r->base) / r->slot_size;
    const std::byte* slot = r->base + index * r->slot_size;
    if (index < r->guarded.load(std::memory_order_acquire) && a < slot + guard_size()) return slot;
    return nullptr;
  }
  return nullptr;
}

// ---------------------------------------------------------------- overflow reporting

const TaskRecord* current_task_record_for_signal() noexcept;  // park.cpp

namespace {

struct sigaction g_previous_segv;
std::once_flag g_handler_once;

void write_str(const char* s) {
  if (::write(2, s, std::strlen(s)) < 0) {
  }
}

void write_num(unsigned long long v) {
  char buf[24];
  int i = 23;
  buf[i] = '\0';
  do {
    buf[--i] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && i > 0);
  write_str(buf + i);
}

// The stack pointer of the interrupted code, or 0 where unknown.
std::uintptr_t interrupted_sp(void* context) {
#if defined(__x86_64__)
  return static_cast<std::uintptr_t>(static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
  return static_cast<std::uintptr_t>(static_cast<ucontext_t*>(context)->uc_mcontext.sp);
#else
  (void)context;
  return 0;
#endif
}

void segv_handler(int sig, siginfo_t* info, void* context) {
  const TaskRecord* task = current_task_record_for_signal();
  if (StackPool::guard_slot_of(info->si_addr) != nullptr)
    report_stack_overflow(task, OverflowEvidence::guard);
  // An unguarded stack: the task ran past its bottom, through the slots below, until it
  // touched something unmapped. Its stack pointer tells (a task only ever runs on its
  // own slot).
  if (task != nullptr && task->stack != nullptr) {
    const std::uintptr_t sp = interrupted_sp(context);
    if (sp != 0 && sp < reinterpret_cast<std::uintptr_t>(task->stack) + StackPool::guard_size())
      report_stack_overflow(task, OverflowEvidence::stack_pointer);
  }
  // Not ours: let the previous handler (or the default action) deal with it.
  if (g_previous_segv.sa_flags & SA_SIGINFO) {
    if (g_previous_segv.sa_sigaction) {
      g_previous_segv.sa_sigaction(sig, info, context);
      return;
    }
  } else if (g_previous_segv.sa_handler != SIG_DFL && g_previous_segv.sa_handler != SIG_IGN) {
    g_previous_segv.sa_handler(sig);
    return;
  }
  ::signal(SIGSEGV, SIG_DFL);  // returning re-executes the faulting access
}

}  // namespace

void report_stack_overflow(const TaskRecord* task, OverflowEvidence evidence) noexcept {
  write_str("goro: fatal: stack overflow in ");
  if (task != nullptr) {
    write_str("task ");
    write_num(task->id);
    if (task->name) {
      write_str(" \"");
      write_str(task->name.get());
      write_str("\"");
    }
    write_str(" (spawned at ");
    write_str(task->spawn_site.file_name());
    write_str(":");
    write_num(task->spawn_site.line());
    write_str(" in ");
    write_str(task->spawn_site.function_name());
    write_str(")");
  } else {
    write_str("a goro task");
  }
  switch (evidence) {
    case OverflowEvidence::guard:
      write_str(": it ran into the guard region below its stack");
      break;
    case OverflowEvidence::canary:
      write_str(": the canary at the bottom of its stack was overwritten (this stack has no "
                "guard region; other tasks' stacks may be corrupt)");
      break;
    case OverflowEvidence::stack_pointer:
      write_str(": its stack pointer is below its stack (this stack has no guard region; "
                "other tasks' stacks may be corrupt)");
      break;
  }
  write_str(". Give it a larger stack (goro::SpawnOptions::stack_size, "
            "goro::Config::stack_size or GORO_STACK_SIZE), or use less stack "
            "(large locals, deep recursion).\n");
  ::signal(SIGABRT, SIG_DFL);
  ::abort();
}

void install_overflow_handler_for_this_thread() {
  std::call_once(g_handler_once, [] {
    struct sigaction action {};
    action.sa_sigaction = segv_handler;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGSEGV, &action, &g_previous_segv);
  });
  // The handler must not run on the overflowed stack itself.
  struct AltStack {
    std::byte* memory = nullptr;
    ~AltStack() {
      if (memory == nullptr) return;
      stack_t off{};
      off.ss_flags = SS_DISABLE;
      ::sigaltstack(&off, nullptr);
      std::free(memory);
    }
  };
  static thread_local AltStack alt;
  if (alt.memory == nullptr) {
    const std::size_t size = std::max<std::size_t>(64 * 1024, SIGSTKSZ);
    alt.memory = static_cast<std::byte*>(std::malloc(size));
    if (alt.memory == nullptr) return;
    stack_t ss{};
    ss.ss_sp = alt.memory;
    ss.ss_size = size;
    ss.ss_flags = 0;
    ::sigaltstack(&ss, nullptr);
  }
}

}  // namespace goro::detail
