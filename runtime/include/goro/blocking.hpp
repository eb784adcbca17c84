// goro/blocking.hpp — run a call that blocks its thread (a file read, getaddrinfo, a
// library without a non-blocking mode) without blocking a worker.
//
//   std::string text = goro::blocking([&] { return read_whole_file(path); });
//   addrinfo* ai = goro::blocking([&] { addrinfo* r = nullptr; getaddrinfo(host, "80", &hints, &r); return r; });
//
// From a task: f runs on the runtime's blocking pool, a set of threads that grows on
// demand up to a cap (Config::blocking_threads, else $GORO_BLOCKING_THREADS, else 64)
// and shrinks when idle (a thread idle for 10 s exits). Meanwhile the task parks (shown
// as "syscall" at the caller's line); it gets f's result, or f's exception rethrown.
// When every pool thread is busy, calls queue in order. From a plain thread, f simply
// runs on that thread.
//
// f runs on another thread: it must not use goro's task-only features expecting to be
// the calling task (current_task() is 0 there), and what it references must stay alive
// until it returns (blocking() does not return before that, even when run() unwinds the
// task; a call still running after 2 s at run()'s end is reported and its task's stack
// left alone).
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <source_location>
#include <type_traits>
#include <utility>

#include "goro/runtime.hpp"

namespace goro {

namespace detail {

// One call handed to the pool: invoke(this) runs f and stores its outcome.
struct BlockingCall {
  void (*invoke)(BlockingCall*) noexcept = nullptr;
  std::exception_ptr error;
};

// Parks the calling task until call.invoke has run on the blocking pool.
void run_blocking(BlockingCall& call, const std::source_location& where);

template <class R>
struct BlockingResult {
  std::optional<R> value;
  R take() { return std::move(*value); }
};
template <class R>
struct BlockingResult<R&> {
  R* value = nullptr;
  R& take() { return *value; }
};
template <>
struct BlockingResult<void> {
  void take() {}
};

}  // namespace detail

template <class F>
std::invoke_result_t<F&> blocking(F&& f, std::source_location where = std::source_location::current()) {
  using R = std::invoke_result_t<F&>;
  if (current_task() == 0) return std::invoke(f);
  struct Call : detail::BlockingCall {
    std::remove_reference_t<F>* fn;
    detail::BlockingResult<R> result;
  } call;
  call.fn = &f;
  call.invoke = [](detail::BlockingCall* base) noexcept {
    auto* self = static_cast<Call*>(base);
    try {
      if constexpr (std::is_void_v<R>) {
        std::invoke(*self->fn);
      } else if constexpr (std::is_reference_v<R>) {
        self->result.value = &std::invoke(*self->fn);
      } else {
        self->result.value.emplace(std::invoke(*self->fn));
      }
    } catch (...) {
      self->error = std::current_exception();
    }
  };
  detail::run_blocking(call, where);
  if (call.error) std::rethrow_exception(call.error);
  return call.result.take();
}

}  // namespace goro
