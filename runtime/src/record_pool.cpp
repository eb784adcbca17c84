#include "record_pool.hpp"

#include <cstdlib>
#include <mutex>
#include <new>

namespace goro::detail {

namespace {
constexpr std::size_t kChunkBytes = std::size_t{1} << 20;
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
          auto* chunk = static_cast<std::byte*>(::operator new(kChunkBytes, std::align_val_t(64)));
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
