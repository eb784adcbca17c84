// goro/once.hpp — run a function exactly once, however many tasks ask for it (Go's
// sync.Once; with std::call_once's rules for exceptions).
//
//   goro::Once config_loaded;
//   Config config;
//   void use_config() {
//     config_loaded.call([] { config = load_config(); });   // or goro::call_once(config_loaded, ...)
//     read(config);
//   }
//
// The first caller runs f; callers that arrive while it runs park (diag: `once`, at the
// line of their call) until it finished, and then return without running f. If f
// throws, the exception reaches its caller and the Once stays uncalled, as with
// std::call_once: one parked caller (or the next caller) then runs f. (Go's Once instead
// counts a panicking f as done.) A call from inside f on the same Once waits forever,
// like Go's: a plain thread gets goro::Deadlock, a task is listed as `once`.
//
// Invariants: done_ goes false -> true once, stored (release) under lock_ after f
// returned; call() reads it without the lock (acquire), so the fast path is one load.
// lock_ guards running_ (a caller is inside f) and waiters_ (callers parked meanwhile).
#pragma once

#include <atomic>
#include <memory>
#include <source_location>
#include <type_traits>
#include <utility>

#include "goro/detail/futex_lock.hpp"
#include "goro/detail/park.hpp"

namespace goro {

class Once {
 public:
  Once() = default;
  Once(const Once&) = delete;
  Once& operator=(const Once&) = delete;

  template <class F>
  void call(F&& f, std::source_location where = std::source_location::current()) {
    if (done_.load(std::memory_order_acquire)) return;
    using Fn = std::remove_reference_t<F>;
    call_slow([](void* fn) { (*static_cast<Fn*>(fn))(); },
              const_cast<void*>(static_cast<const void*>(std::addressof(f))), where);
  }

  // True once a call of f has returned normally.
  bool done() const noexcept { return done_.load(std::memory_order_acquire); }

 private:
  void call_slow(void (*invoke)(void*), void* fn, std::source_location where);

  std::atomic<bool> done_{false};  // written under lock_, read without it
  detail::FutexLock lock_;         // guards running_, waiters_
  bool running_ = false;
  detail::WaitQueue waiters_;
};

template <class F>
void call_once(Once& once, F&& f, std::source_location where = std::source_location::current()) {
  once.call(std::forward<F>(f), where);
}

}  // namespace goro
