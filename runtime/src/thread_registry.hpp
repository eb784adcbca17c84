// runtime/src/thread_registry.hpp — the OS threads goro started and that are still
// running, with where each was created: what diag's "threadcreate" profile lists.
//
//   // Whoever starts a thread notes it in the new thread's function object, so the
//   // entry exists before the thread runs and goes when the thread's function returns:
//   std::thread([note = detail::note_thread_created("goro worker")] { ... });
//
// Lock: threads_lock() (thread_registry.cpp) guards the list of entries; an entry is
// linked by note_thread_created and unlinked when its ThreadNote is destroyed (the
// thread's function object, destroyed as the thread ends, or as a failed std::thread
// construction unwinds). Readers copy the list under the lock.
#pragma once

#include <memory>
#include <source_location>
#include <vector>

namespace goro::detail {

struct ThreadCreation {
  const char* kind;                 // "goro worker", "goro wait-clock ticker", ... (static)
  std::source_location created_at;  // the call that started the thread
};

struct ThreadEntry;  // thread_registry.cpp
struct ThreadEntryUnlink {
  void operator()(ThreadEntry* entry) const noexcept;
};
// Keeps its thread listed while it lives; empty if the entry could not be allocated.
using ThreadNote = std::unique_ptr<ThreadEntry, ThreadEntryUnlink>;

// Lists a thread about to be started by the call at `created_at`; `kind` is a string
// literal. Never throws.
ThreadNote note_thread_created(const char* kind,
                               std::source_location created_at = std::source_location::current()) noexcept;

// The noted threads now, oldest first.
std::vector<ThreadCreation> created_threads();

}  // namespace goro::detail
