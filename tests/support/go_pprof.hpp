// Go's own pprof as a reader of goro's profiles, for the profile tests: saves a profile
// and runs `go tool pprof <args>` on it. Tests skip these checks when Go is missing.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <regex>
#include <sstream>
#include <string>

#include "goro_test.hpp"

namespace gt {

inline bool have_go() { return run_command("command -v go >/dev/null 2>&1").exit_code == 0; }
inline constexpr const char* kNoGo =
    "go is not installed (scripts/setup.sh --with-go, or apt-get install golang-go)";

// Saves `data` to a file and runs `go tool pprof <args> <file>`; output and exit code.
inline CommandResult go_pprof(const std::string& args, const std::string& data) {
  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "goro_pprof_" + std::to_string(getpid()) + ".pb.gz";
  {
    std::ofstream f(path, std::ios::binary);
    f << data;
  }
  // pprof writes nothing for file inputs, but keep it out of $HOME anyway.
  CommandResult r = run_command("PPROF_TMPDIR=" + dir + " go tool pprof " + args + " " + path + " 2>&1");
  std::remove(path.c_str());
  return r;
}

// The first line of `text` that contains every one of `needles` ("" if none does).
inline std::string line_with(const std::string& text, std::initializer_list<std::string> needles) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    bool all = true;
    for (const auto& n : needles) all = all && line.find(n) != std::string::npos;
    if (all) return line;
  }
  return "";
}

// The first number on a line (pprof -top's "flat" column); -1 if there is none.
inline long long leading_number(const std::string& line) {
  std::smatch m;
  if (!std::regex_search(line, m, std::regex(R"(^\s*([0-9]+))"))) return -1;
  return std::stoll(m[1]);
}

}  // namespace gt
