// runtime/src/env.hpp — strict parsing of goro's GORO_* environment variables.
//
//   // GORO_LEAKCHECK=off|report|fail (any case); unset: nullopt
//   if (auto v = env::read_choice("GORO_LEAKCHECK", {"off", "report", "fail"}))
//     policy = static_cast<LeakPolicy>(*v);
//   auto workers = env::read_unsigned("GORO_MAXPROCS", 1, kMaxWorkers);     // "4"
//   auto period  = env::read_duration("GORO_TREND", std::chrono::seconds(1),  // "500ms", "2"
//                                     {0ns, std::chrono::hours(24)});
//   std::size_t stack = env::read_bytes("GORO_STACK_SIZE").value_or(0);         // "256K"
//
// A variable that is unset gives nullopt (the caller's default applies). A variable that
// is set but does not parse, including one set to the empty string, throws
// std::invalid_argument whose what() names the variable, the value and the valid forms:
// a misspelt setting is never silently replaced by the default (GORO_LEAKCHECK=fial must
// not turn a failing CI job green). Words compare case-insensitively; numbers are
// decimal, without sign, spaces or trailing characters.
//
// The parse_* functions do the same on a value already read, for tests and for callers
// that read the variable themselves.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>

namespace goro::detail::env {

// [[noreturn]]: throws std::invalid_argument
// "goro: GORO_X=\"value\" is not valid: <problem>. Valid: <forms>. Unset it for the default."
[[noreturn]] void invalid(std::string_view name, std::string_view value, std::string_view problem,
                          std::string_view forms);

// A decimal integer in [min, max].
std::uint64_t parse_unsigned(std::string_view name, std::string_view value, std::uint64_t min,
                             std::uint64_t max);

// 1|0, true|false, on|off, yes|no (any case).
bool parse_bool(std::string_view name, std::string_view value);

// The index in `choices` of the word `value` equals, ignoring case.
std::size_t parse_choice(std::string_view name, std::string_view value,
                         std::initializer_list<std::string_view> choices);

struct DurationRange {
  std::chrono::nanoseconds min{0};
  std::chrono::nanoseconds max;
};
// A number (decimals allowed: "1.5s") with a unit ns, us, ms, s, m (or min), h, any case;
// a bare number is in `bare_unit`. The result, rounded down to whole nanoseconds, must
// lie in `range`; no arithmetic overflows on the way (a huge value is out of range).
// `other_forms` (e.g. "on, off") is listed with the valid forms when the value is
// rejected, for callers that accept some words as well.
std::chrono::nanoseconds parse_duration(std::string_view name, std::string_view value,
                                        std::chrono::nanoseconds bare_unit, DurationRange range,
                                        std::string_view other_forms = {});

// A size, for the limits and sizes where 0 means "none" or "the default": a whole
// number (parse_count), or a number of bytes optionally followed by K, M or G (or k, m,
// g, KiB, MiB, GiB: powers of 1024; parse_bytes). Anything else, or a value that does
// not fit a size_t, throws std::invalid_argument
// "goro: GORO_X=\"value\" is not valid: give <the valid forms>".
std::size_t parse_count(std::string_view name, std::string_view value);
std::size_t parse_bytes(std::string_view name, std::string_view value);

// getenv(name), or nullopt when unset.
std::optional<std::string_view> get(const char* name) noexcept;

// getenv + parse_*: nullopt when unset.
std::optional<std::uint64_t> read_unsigned(const char* name, std::uint64_t min, std::uint64_t max);
std::optional<bool> read_bool(const char* name);
std::optional<std::size_t> read_count(const char* name);
std::optional<std::size_t> read_bytes(const char* name);
std::optional<std::size_t> read_choice(const char* name,
                                       std::initializer_list<std::string_view> choices);
std::optional<std::chrono::nanoseconds> read_duration(const char* name,
                                                      std::chrono::nanoseconds bare_unit,
                                                      DurationRange range);

// Lower-case ASCII copy, for comparing words.
bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept;

}  // namespace goro::detail::env
