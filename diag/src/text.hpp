// diag/src/text.hpp — how diag spells sites, ages and counts, shared by the dumps, the
// reports and the trend sampler so they all read the same.
//
//   site_string(loc)          -> "/src/worker.cpp:41"
//   age_string(4min + 12s)    -> "4m12s"
//   count_string(9998)        -> "9,998"
#pragma once

#include <chrono>
#include <cstddef>
#include <source_location>
#include <string>

namespace goro::diag {

inline std::string site_string(const std::source_location& s) {
  return std::string(s.file_name()) + ":" + std::to_string(s.line());
}

inline std::string age_string(std::chrono::nanoseconds d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  auto s = ms / 1000;
  if (s < 60) return std::to_string(s) + "." + std::to_string((ms % 1000) / 100) + "s";
  auto m = s / 60;
  if (m < 60) return std::to_string(m) + "m" + std::to_string(s % 60) + "s";
  return std::to_string(m / 60) + "h" + std::to_string(m % 60) + "m";
}

// 9998 -> "9,998".
inline std::string count_string(std::size_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace goro::diag
