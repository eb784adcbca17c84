// runtime/src/thread_registry.cpp — see thread_registry.hpp.
#include "thread_registry.hpp"

#include <mutex>
#include <new>

namespace goro::detail {

struct ThreadEntry {
  ThreadCreation creation;
  ThreadEntry* prev = nullptr;  // links: guarded by threads_lock()
  ThreadEntry* next = nullptr;
};

namespace {

// Never destroyed: detached threads may end during static destruction.
std::mutex& threads_lock() {
  static auto* lock = new std::mutex;
  return *lock;
}
ThreadEntry* g_threads_head = nullptr;  // guarded by threads_lock()
ThreadEntry* g_threads_tail = nullptr;  // guarded by threads_lock()

}  // namespace

void ThreadEntryUnlink::operator()(ThreadEntry* entry) const noexcept {
  {
    std::lock_guard guard(threads_lock());
    if (entry->prev) entry->prev->next = entry->next; else g_threads_head = entry->next;
    if (entry->next) entry->next->prev = entry->prev; else g_threads_tail = entry->prev;
  }
  delete entry;
}

ThreadNote note_thread_created(const char* kind, std::source_location created_at) noexcept {
  auto* entry = new (std::nothrow) ThreadEntry{{kind, created_at}};
  if (entry == nullptr) return ThreadNote();
  std::lock_guard guard(threads_lock());
  entry->prev = g_threads_tail;
  if (g_threads_tail) g_threads_tail->next = entry; else g_threads_head = entry;
  g_threads_tail = entry;
  return ThreadNote(entry);
}

std::vector<ThreadCreation> created_threads() {
  std::vector<ThreadCreation> out;
  std::lock_guard guard(threads_lock());
  for (const ThreadEntry* e = g_threads_head; e != nullptr; e = e->next) out.push_back(e->creation);
  return out;
}

}  // namespace goro::detail
