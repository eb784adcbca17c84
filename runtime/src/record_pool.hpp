// runtime/src/record_pool.hpp — pooled, fixed-size task control blocks.
//
// A task's control block (TaskRecord plus, when small, its closure) is all a task owns
// until it first runs: its stack is bound only then (see scheduler.cpp), so a million
// spawned-but-not-started tasks cost a million blocks, not a million stacks.
//
//   void* block = RecordPool::instance().allocate();   // kBlockSize bytes, 64-aligned
//   RecordPool::instance().deallocate(block);
//
// Invariants: a block is owned by exactly one of: a thread cache, the shared free list,
// a live task. Chunks are never freed and stay reachable from the pool (so LeakSanitizer
// scans closures stored in blocks). Under AddressSanitizer the pool steps aside and uses
// operator new, so use-after-free of a record is caught.
#pragma once

#include <cstddef>
#include <vector>

#include "goro/detail/futex_lock.hpp"

namespace goro::detail {

class RecordPool {
 public:
  static constexpr std::size_t kBlockSize = 448;
  static RecordPool& instance();

  void* allocate();
  void deallocate(void* block) noexcept;
  void deallocate_to_shared(void* block) noexcept;

 private:
  FutexLock lock_;  // guards free_, chunks_, bump_, bump_end_
  void* free_ = nullptr;  // intrusive list through each block's first word
  std::vector<std::byte*> chunks_;
  std::byte* bump_ = nullptr;
  std::byte* bump_end_ = nullptr;
};

}  // namespace goro::detail
