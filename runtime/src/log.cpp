#include "log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace goro::detail {

spdlog::logger& logger() {
  // Held here as well as in spdlog's registry, so it outlives the registry at exit.
  static std::shared_ptr<spdlog::logger> instance = [] {
    if (auto existing = spdlog::get("goro")) return existing;
    try {
      return spdlog::stderr_color_mt("goro");
    } catch (const spdlog::spdlog_ex&) {  // registered concurrently by the user
      return spdlog::get("goro");
    }
  }();
  return *instance;
}

}  // namespace goro::detail
