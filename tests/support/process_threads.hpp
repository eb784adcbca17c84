// tests/support/process_threads.hpp — how many threads this process has now (the entries
// of /proc/self/task), for tests that check which threads a runtime starts.
//
//   const std::size_t before = gt::process_threads();
#pragma once

#include <dirent.h>

#include <cstddef>

namespace gt {

inline std::size_t process_threads() {
  std::size_t n = 0;
  if (DIR* dir = ::opendir("/proc/self/task")) {
    while (const dirent* e = ::readdir(dir))
      if (e->d_name[0] != '.') ++n;
    ::closedir(dir);
  }
  return n;
}

}  // namespace gt
