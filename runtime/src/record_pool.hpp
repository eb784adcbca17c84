// runtime/src/record_pool.hpp — pooled, fixed-size task control blocks.
//
// A task's control block (TaskRecord plus, when small, its closure) is all a task owns
// until it first runs: its stack is only reserved at spawn and bound then (see
// stack_pool.hpp), so a million spawned-but-not-started tasks cost a million blocks, not
// a million stacks.
//
//   RecordPool& pool = RecordPool::for_bytes(sizeof(TaskRecord) + closure_size);
//   void* block = pool.allocate();    // pool.block_size() bytes, 32-aligned (the
//   pool.deallocate(block);           // 160-byte class) or 64-aligned (the others)
//
// Four size classes: 160 bytes (a record and a closure of up to 16 bytes: one handle,
// such as a server's net::Conn, or two pointers), 192 (closures up to 48 bytes: a handle
// or two and a reference), 256 (up to 112 bytes) and 512; bigger closures go to the heap.
// Every spawned task holds one block until it ends, so the smallest classes set the
// memory cost of a million tasks, or of a server's idle connections. The 160-byte class
// is not a multiple of a cache line: its blocks share lines with their neighbours, which
// are mostly records the same worker spawned.
//
// Invariants: a block is owned by exactly one of: a thread cache, the shared free list,
// a live task. Blocks move between a thread cache and the shared list in batches of up
// to 64, one lock acquisition per batch. Chunks (2 MiB mappings: record_pool.cpp) are
// never unmapped. Under AddressSanitizer the pool steps aside and uses operator new, so
// use-after-free of a record is caught and LeakSanitizer, which does not scan mappings,
// sees the closures stored in blocks.
#pragma once

#include <cstddef>
#include <vector>

#include "goro/detail/futex_lock.hpp"

namespace goro::detail {

class RecordPool {
 public:
  static constexpr std::size_t kTiny = 160;
  static constexpr std::size_t kCompact = 192;
  static constexpr std::size_t kSmall = 256;
  static constexpr std::size_t kLarge = 512;
  // The pool whose blocks hold `bytes`, or nullptr when none does.
  static RecordPool* for_bytes(std::size_t bytes);
  std::size_t block_size() const noexcept { return block_size_; }

  void* allocate();
  void deallocate(void* block) noexcept;
  void deallocate_to_shared(void* block) noexcept;

 private:
  explicit RecordPool(std::size_t block_size, int cache_index)
      : block_size_(block_size), cache_index_(cache_index) {}
  const std::size_t block_size_;
  const int cache_index_;
  FutexLock lock_;  // guards free_, chunks_, bump_, bump_end_
  void* free_ = nullptr;  // batches of free blocks (record_pool.cpp's FreeBlock)
  std::vector<std::byte*> chunks_;
  std::byte* bump_ = nullptr;
  std::byte* bump_end_ = nullptr;
};

}  // namespace goro::detail
