// runtime/src/sanitizers.hpp — telling ASan and TSan about fiber switches.
//
// Debian's Boost.Context is not built with sanitizer support, so every switch between a
// worker's own stack and a task's stack is annotated here; in normal builds these are
// empty inline functions.
//
//   sanitizers::FiberSwitch sw;
//   sw.start(target_stack_bottom, target_stack_size);   // just before jump_fcontext
//   jump_fcontext(...);
//   sw.finish();                                         // first thing after it returns
#pragma once

#include <cstddef>

#if defined(GORO_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#endif
#if defined(GORO_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace goro::detail::sanitizers {

// ASan: bracket each switch. `fake_stack` is per suspended context.
inline void start_switch(void** fake_stack_save, const void* bottom, std::size_t size) {
#if defined(GORO_ASAN)
  __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
#else
  (void)fake_stack_save, (void)bottom, (void)size;
#endif
}
inline void finish_switch(void* fake_stack_save, const void** old_bottom, std::size_t* old_size) {
#if defined(GORO_ASAN)
  __sanitizer_finish_switch_fiber(fake_stack_save, old_bottom, old_size);
#else
  (void)fake_stack_save, (void)old_bottom, (void)old_size;
#endif
}

inline void unpoison(void* p, std::size_t n) {
#if defined(GORO_ASAN)
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
  (void)p, (void)n;
#endif
}

// LSan must scan task stacks: a parked task at exit holds the only pointer to its data.
inline void register_root_region(const void* p, std::size_t n) {
#if defined(GORO_ASAN)
  __lsan_register_root_region(p, n);
#else
  (void)p, (void)n;
#endif
}

// TSan fibers.
inline void* tsan_create_fiber() {
#if defined(GORO_TSAN)
  return __tsan_create_fiber(0);
#else
  return nullptr;
#endif
}
inline void* tsan_current_fiber() {
#if defined(GORO_TSAN)
  return __tsan_get_current_fiber();
#else
  return nullptr;
#endif
}
inline void tsan_switch_to(void* fiber) {
#if defined(GORO_TSAN)
  __tsan_switch_to_fiber(fiber, 0);
#else
  (void)fiber;
#endif
}
inline void tsan_destroy_fiber(void* fiber) {
#if defined(GORO_TSAN)
  __tsan_destroy_fiber(fiber);
#else
  (void)fiber;
#endif
}

}  // namespace goro::detail::sanitizers
