// goro/detail/origin.hpp — a tag every task inherits from whoever spawned it.
//
// A plain thread sets its tag; every task it spawns, and every task those spawn, carry
// it (diag::TaskInfo::origin). The GoogleTest leak gate tags each test's thread with the
// test, so a leaked task is charged to the test that (transitively) spawned it, even when
// the leak is noticed later or tests overlap in time.
//
//   goro::detail::set_thread_spawn_origin(42);
//   goro::go_spawn([] { goro::go_spawn([] { /* origin 42 too */ }); });
#pragma once

#include <cstdint>

namespace goro::detail {

void set_thread_spawn_origin(std::uint64_t origin) noexcept;  // 0: none
std::uint64_t thread_spawn_origin() noexcept;
// The calling task's origin, or the calling plain thread's.
std::uint64_t current_origin() noexcept;

}  // namespace goro::detail
