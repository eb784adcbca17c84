// runtime/src/random.cpp — fast_random() (goro/detail/park.hpp): a cheap per-thread
// pseudo-random number for choices that only need to be spread out (which victim a thief
// tries first), never for anything that must be unpredictable. Thread-local state only.
#include <cstdint>

#include "goro/detail/park.hpp"
#include "goro/detail/timer.hpp"

namespace goro::detail {

namespace {
// Zero until first used; a constant initialiser, so reading it needs no guard.
thread_local std::uint32_t t_random_state = 0;

__attribute__((noinline, cold)) std::uint32_t random_seed() noexcept {
  std::uint64_t seed = reinterpret_cast<std::uintptr_t>(&t_random_state) ^
                       static_cast<std::uint64_t>(now_ns());
  seed ^= seed >> 33;
  seed *= 0xff51afd7ed558ccdULL;
  seed ^= seed >> 33;
  const auto s = static_cast<std::uint32_t>(seed);
  return s == 0 ? 0x9e3779b9u : s;
}
}  // namespace

std::uint32_t fast_random() noexcept {
  // xorshift32, seeded per thread from its address and the clock.
  std::uint32_t& state = t_random_state;
  if (state == 0) [[unlikely]] state = random_seed();
  std::uint32_t x = state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  state = x;
  return x;
}

}  // namespace goro::detail
