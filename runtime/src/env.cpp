// runtime/src/env.cpp — see env.hpp.
#include "env.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <system_error>

namespace goro::detail::env {

namespace {

constexpr std::string_view kBoolForms = "1, 0, true, false, on, off, yes, no (any case)";

// "24h", "500ms", "1500us": the largest unit that divides d exactly.
std::string format_duration(std::chrono::nanoseconds d) {
  struct Unit {
    std::int64_t ns;
    const char* suffix;
  };
  static constexpr Unit kUnits[] = {{3'600'000'000'000, "h"}, {60'000'000'000, "m"},
                                    {1'000'000'000, "s"},     {1'000'000, "ms"},
                                    {1'000, "us"},            {1, "ns"}};
  const std::int64_t ns = d.count();
  for (const Unit& u : kUnits)
    if (ns % u.ns == 0) return std::to_string(ns / u.ns) + u.suffix;
  return std::to_string(ns) + "ns";
}

std::string unit_name(std::chrono::nanoseconds unit) {
  switch (unit.count()) {
    case 1: return "nanoseconds";
    case 1'000: return "microseconds";
    case 1'000'000: return "milliseconds";
    case 1'000'000'000: return "seconds";
    case 60'000'000'000: return "minutes";
    case 3'600'000'000'000: return "hours";
  }
  return "units of " + format_duration(unit);
}

}  // namespace

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

void invalid(std::string_view name, std::string_view value, std::string_view problem,
             std::string_view forms) {
  std::string message = "goro: ";
  message.append(name).append("=\"").append(value).append("\" is not valid: ");
  message.append(problem).append(". Valid: ").append(forms);
  message.append(". Unset it for the default.");
  throw std::invalid_argument(message);
}

std::uint64_t parse_unsigned(std::string_view name, std::string_view value, std::uint64_t min,
                             std::uint64_t max) {
  const std::string forms =
      "a decimal integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (value.empty()) invalid(name, value, "it is empty", forms);
  std::uint64_t parsed = 0;
  const char* end = value.data() + value.size();
  // from_chars accepts neither a sign nor leading spaces: "-1", "+2", " 3" are rejected.
  const auto [ptr, ec] = std::from_chars(value.data(), end, parsed);
  if (ec == std::errc::result_out_of_range) invalid(name, value, "it is out of range", forms);
  if (ec != std::errc() || ptr != end) invalid(name, value, "not a decimal integer", forms);
  if (parsed < min || parsed > max) invalid(name, value, "it is out of range", forms);
  return parsed;
}

bool parse_bool(std::string_view name, std::string_view value) {
  for (std::string_view yes : {"1", "true", "on", "yes"})
    if (equals_ignoring_case(value, yes)) return true;
  for (std::string_view no : {"0", "false", "off", "no"})
    if (equals_ignoring_case(value, no)) return false;
  invalid(name, value, value.empty() ? "it is empty" : "not a boolean", kBoolForms);
}

std::size_t parse_choice(std::string_view name, std::string_view value,
                         std::initializer_list<std::string_view> choices) {
  std::size_t index = 0;
  std::string forms;
  for (std::string_view choice : choices) {
    if (equals_ignoring_case(value, choice)) return index;
    forms.append(index == 0 ? "" : ", ").append(choice);
    ++index;
  }
  forms += " (any case)";
  invalid(name, value, value.empty() ? "it is empty" : "not one of the choices", forms);
}

std::chrono::nanoseconds parse_duration(std::string_view name, std::string_view value,
                                        std::chrono::nanoseconds bare_unit, DurationRange range,
                                        std::string_view other_forms) {
  std::string forms = "a duration from " + format_duration(range.min) + " to " +
                      format_duration(range.max) +
                      ": a number with a unit ns, us, ms, s, m, h (\"500ms\", \"1.5s\"); a bare "
                      "number counts " +
                      unit_name(bare_unit);
  if (!other_forms.empty()) forms.append("; or ").append(other_forms);
  if (value.empty()) invalid(name, value, "it is empty", forms);

  // The number: digits with an optional fraction; no sign, exponent, spaces, inf or nan.
  std::size_t digits_end = 0;
  bool seen_digit = false;
  bool seen_point = false;
  for (; digits_end < value.size(); ++digits_end) {
    const char c = value[digits_end];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      seen_digit = true;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
  }
  if (!seen_digit) invalid(name, value, "not a duration", forms);
  double number = 0;
  const auto [ptr, ec] =
      std::from_chars(value.data(), value.data() + digits_end, number, std::chars_format::fixed);
  if (ec != std::errc() || ptr != value.data() + digits_end)
    invalid(name, value, "not a duration", forms);

  const std::string_view unit = value.substr(digits_end);
  double unit_ns;
  if (unit.empty()) {
    unit_ns = static_cast<double>(bare_unit.count());
  } else if (equals_ignoring_case(unit, "ns")) {
    unit_ns = 1;
  } else if (equals_ignoring_case(unit, "us") || unit == "\u00b5s") {
    unit_ns = 1e3;
  } else if (equals_ignoring_case(unit, "ms")) {
    unit_ns = 1e6;
  } else if (equals_ignoring_case(unit, "s")) {
    unit_ns = 1e9;
  } else if (equals_ignoring_case(unit, "m") || equals_ignoring_case(unit, "min")) {
    unit_ns = 60e9;
  } else if (equals_ignoring_case(unit, "h")) {
    unit_ns = 3600e9;
  } else {
    invalid(name, value, "unknown unit \"" + std::string(unit) + "\"", forms);
  }
  // Compared as doubles first: the product may exceed every integer type.
  const double ns = std::floor(number * unit_ns);
  if (!(ns >= static_cast<double>(range.min.count()) &&
        ns <= static_cast<double>(range.max.count())))
    invalid(name, value, "it is out of range", forms);
  return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

namespace {
std::size_t parse_size(std::string_view name, std::string_view value, bool bytes) {
  std::size_t number = 0;
  const char* const end_of_value = value.data() + value.size();
  const auto [end, error] = std::from_chars(value.data(), end_of_value, number);
  const std::string_view suffix(end, static_cast<std::size_t>(end_of_value - end));
  std::size_t scale = 1;
  bool valid = error == std::errc() && end != value.data();
  if (valid && !suffix.empty()) {
    if (bytes && (suffix == "K" || suffix == "k" || suffix == "KiB"))
      scale = std::size_t{1} << 10;
    else if (bytes && (suffix == "M" || suffix == "m" || suffix == "MiB"))
      scale = std::size_t{1} << 20;
    else if (bytes && (suffix == "G" || suffix == "g" || suffix == "GiB"))
      scale = std::size_t{1} << 30;
    else
      valid = false;
  }
  if (valid && number > SIZE_MAX / scale) valid = false;
  if (!valid)
    throw std::invalid_argument(
        "goro: " + std::string(name) + "=\"" + std::string(value) + "\" is not valid: give " +
        (bytes ? "a number of bytes, optionally with a K, M or G suffix (powers of 1024), "
                 "e.g. 262144 or 256K"
               : "a whole number, e.g. 100000 (0: no limit)"));
  return number * scale;
}
}  // namespace

std::size_t parse_count(std::string_view name, std::string_view value) {
  return parse_size(name, value, false);
}

std::size_t parse_bytes(std::string_view name, std::string_view value) {
  return parse_size(name, value, true);
}

std::optional<std::string_view> get(const char* name) noexcept {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string_view(value);
}

std::optional<std::uint64_t> read_unsigned(const char* name, std::uint64_t min, std::uint64_t max) {
  auto value = get(name);
  if (!value) return std::nullopt;
  return parse_unsigned(name, *value, min, max);
}

std::optional<bool> read_bool(const char* name) {
  auto value = get(name);
  if (!value) return std::nullopt;
  return parse_bool(name, *value);
}

std::optional<std::size_t> read_count(const char* name) {
  if (auto value = get(name)) return parse_count(name, *value);
  return std::nullopt;
}

std::optional<std::size_t> read_bytes(const char* name) {
  if (auto value = get(name)) return parse_bytes(name, *value);
  return std::nullopt;
}

std::optional<std::size_t> read_choice(const char* name,
                                       std::initializer_list<std::string_view> choices) {
  auto value = get(name);
  if (!value) return std::nullopt;
  return parse_choice(name, *value, choices);
}

std::optional<std::chrono::nanoseconds> read_duration(const char* name,
                                                      std::chrono::nanoseconds bare_unit,
                                                      DurationRange range) {
  auto value = get(name);
  if (!value) return std::nullopt;
  return parse_duration(name, *value, bare_unit, range);
}

}  // namespace goro::detail::env
