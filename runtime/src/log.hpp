// runtime/src/log.hpp — goro's one named spdlog logger.
//
// Everything goro logs goes through spdlog::get("goro"); a user who registers a logger
// under that name before goro first logs (spdlog::register_logger) gets all of it.
#pragma once

#include <memory>
#include <spdlog/spdlog.h>

namespace goro::detail {
spdlog::logger& logger();
}
