#include "record_pool.hpp"

#include <sys/mman.h>

#include <cstdlib>
#include <mutex>
#include <new>

namespace goro::detail {

namespace {
// Blocks are carved from 2 MiB mappings. A pool that has grown past its first chunk has
// the kernel fill each later chunk's pages in one call (MADV_POPULATE_WRITE) instead of
// taking one page fault per 4 KiB as the bump pointer reaches it: a loop that spawns a
// million tasks before any runs touches ~160 MB of blocks, and those ~40,000 faults were
// 40% of its time (spawn at procs=1: 0.91x the time with one call per chunk). The first
// chunk is left to fault page by page, so a program with a few thousand tasks holds only
// the pages its blocks touch.
// Not huge pages: on a VM whose host backs guest memory lazily (this project's benchmark
// machine), a fresh 2 MiB page is often guest memory the host has not backed yet, and
// zeroing it then ran at ~100 MB/s: 1.5-2 s runs of that same loop, one in three.
constexpr std::size_t kChunkBytes = std::size_t{2} << 20;

// A fresh chunk, all zero. Throws std::bad_alloc when the kernel refuses the mapping.
std::byte* map_chunk(bool populate) {
  void* chunk = ::mmap(nullptr, kChunkBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (chunk == MAP_FAILED) throw std::bad_alloc();
#if defined(MADV_POPULATE_WRITE)
  // Only a speed-up: where refused (before Linux 5.14, or out of memory now) the pages
  // fault in one by one as before, and an out-of-memory kill is no likelier than then.
  if (populate) ::madvise(chunk, kChunkBytes, MADV_POPULATE_WRITE);
#else
  (void)populate;
#endif
  return static_cast<std::byte*>(chunk);
}

// Blocks move between a thread cache and the shared list kBatch at a time, under one
// lock acquisition: a task is often freed by another worker than the one that spawned
// it (a stolen task), so one cache keeps running dry while another overflows.
constexpr int kBatch = 64;

struct BlockCache {
  static constexpr int kCap = 2 * kBatch;
  RecordPool* pool = nullptr;
  void* blocks[kCap];
  int count = 0;
  ~BlockCache() {
    while (count > 0) pool->deallocate_to_shared(blocks[--count]);
  }
};

thread_local BlockCache t_blocks[4];  // one per size class

// A free block on the shared list: a batch is a chain through `next`; the batch's first
// block also links the next batch.
struct FreeBlock {
  FreeBlock* next;        // the next block of this batch
  FreeBlock* next_batch;  // first block only: the next batch
};
}  // namespace

RecordPool* RecordPool::for_bytes(std::size_t bytes) {
  // Never destroyed: tasks may outlive statics. One static, so that a spawn pays one
  // initialization check; the index is the class's slot in t_blocks.
  static RecordPool* const pools[4] = {new RecordPool(kTiny, 0), new RecordPool(kCompact, 1),
                                       new RecordPool(kSmall, 2), new RecordPool(kLarge, 3)};
  if (bytes <= kTiny) return pools[0];
  if (bytes <= kCompact) return pools[1];
  if (bytes <= kSmall) return pools[2];
  if (bytes <= kLarge) return pools[3];
  return nullptr;
}

void* RecordPool::allocate() {
#if defined(GORO_ASAN)
  return ::operator new(block_size_, std::align_val_t(64));
#else
  BlockCache& cache = t_blocks[cache_index_];
  if (cache.count > 0) return cache.blocks[--cache.count];
  cache.pool = this;
  FreeBlock* batch = nullptr;
  {
    std::lock_guard guard(lock_);
    if (free_ != nullptr) {
      batch = static_cast<FreeBlock*>(free_);
      free_ = batch->next_batch;
    } else {
      for (int i = 0; i < kBatch; ++i) {
        if (bump_ == bump_end_) {
          if (i > 0) break;
          chunks_.reserve(chunks_.size() + 1);  // so that push_back cannot throw
          std::byte* chunk = map_chunk(/*populate=*/!chunks_.empty());
          chunks_.push_back(chunk);
          bump_ = chunk;
          bump_end_ = chunk + (kChunkBytes / block_size_) * block_size_;
        }
        cache.blocks[cache.count++] = bump_;
        bump_ += block_size_;
      }
    }
  }
  for (FreeBlock* b = batch; b != nullptr; b = b->next) cache.blocks[cache.count++] = b;
  return cache.blocks[--cache.count];
#endif
}

void RecordPool::deallocate(void* block) noexcept {
#if defined(GORO_ASAN)
  ::operator delete(block, std::align_val_t(64));
#else
  BlockCache& cache = t_blocks[cache_index_];
  cache.pool = this;
  if (cache.count == BlockCache::kCap) {
    // Full: hand the older half to the shared list as one batch.
    FreeBlock* head = nullptr;
    for (int i = 0; i < kBatch; ++i) {
      auto* b = static_cast<FreeBlock*>(cache.blocks[i]);
      b->next = head;
      head = b;
    }
    for (int i = kBatch; i < cache.count; ++i) cache.blocks[i - kBatch] = cache.blocks[i];
    cache.count -= kBatch;
    std::lock_guard guard(lock_);
    head->next_batch = static_cast<FreeBlock*>(free_);
    free_ = head;
  }
  cache.blocks[cache.count++] = block;
#endif
}

void RecordPool::deallocate_to_shared(void* block) noexcept {
  auto* b = static_cast<FreeBlock*>(block);
  b->next = nullptr;  // a batch of one
  std::lock_guard guard(lock_);
  b->next_batch = static_cast<FreeBlock*>(free_);
  free_ = b;
}

}  // namespace goro::detail
