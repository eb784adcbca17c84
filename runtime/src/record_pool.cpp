#include "record_pool.hpp"

#include <cstdlib>
#include <mutex>
#include <new>

namespace goro::detail {

namespace {
constexpr std::size_t kChunkBytes = std::size_t{1} << 20;

struct BlockCache {
  static constexpr int kCap = 128;
  RecordPool* pool = nullptr;
  void* blocks[kCap];
  int count = 0;
  ~BlockCache() {
    while (count > 0) pool->deallocate_to_shared(blocks[--count]);
  }
};
thread_local BlockCache t_blocks[3];  // one per size class
}  // namespace

RecordPool* RecordPool::for_bytes(std::size_t bytes) {
  // Never destroyed: tasks may outlive statics.
  static RecordPool* compact = new RecordPool(kCompact, 0);
  static RecordPool* small = new RecordPool(kSmall, 1);
  static RecordPool* large = new RecordPool(kLarge, 2);
  if (bytes <= kCompact) return compact;
  if (bytes <= kSmall) return small;
  if (bytes <= kLarge) return large;
  return nullptr;
}

void* RecordPool::allocate() {
#if defined(GORO_ASAN)
  return ::operator new(block_size_, std::align_val_t(64));
#else
  BlockCache& cache = t_blocks[cache_index_];
  if (cache.count > 0) return cache.blocks[--cache.count];
  std::lock_guard guard(lock_);
  if (free_ != nullptr) {
    void* block = free_;
    free_ = *static_cast<void**>(block);
    return block;
  }
  if (bump_ == bump_end_) {
    auto* chunk = static_cast<std::byte*>(::operator new(kChunkBytes, std::align_val_t(64)));
    chunks_.push_back(chunk);
    bump_ = chunk;
    bump_end_ = chunk + (kChunkBytes / block_size_) * block_size_;
  }
  void* block = bump_;
  bump_ += block_size_;
  return block;
#endif
}

void RecordPool::deallocate(void* block) noexcept {
#if defined(GORO_ASAN)
  ::operator delete(block, std::align_val_t(64));
#else
  BlockCache& cache = t_blocks[cache_index_];
  cache.pool = this;
  if (cache.count < BlockCache::kCap) {
    cache.blocks[cache.count++] = block;
    return;
  }
  deallocate_to_shared(block);
#endif
}

void RecordPool::deallocate_to_shared(void* block) noexcept {
  std::lock_guard guard(lock_);
  *static_cast<void**>(block) = free_;
  free_ = block;
}

}  // namespace goro::detail
