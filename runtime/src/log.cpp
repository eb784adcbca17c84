// goro's logger and the handler of goro/log.hpp.
//
// The logger goro creates has one sink, HandlerSink: it passes each message to the
// application's handler when one is set, else to its stderr sink. HandlerSink::mutex_
// guards handler_ and is held while the handler runs, so calls are serialised and
// set_log_handler returns only once no call of the previous handler is in progress.
#include "log.hpp"

#include <goro/log.hpp>

#include <mutex>
#include <spdlog/sinks/sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <stdexcept>
#include <utility>

namespace goro::detail {
namespace {

LogLevel to_log_level(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return LogLevel::trace;
    case spdlog::level::debug: return LogLevel::debug;
    case spdlog::level::info: return LogLevel::info;
    case spdlog::level::warn: return LogLevel::warn;
    case spdlog::level::err: return LogLevel::error;
    default: return LogLevel::critical;
  }
}

class HandlerSink final : public spdlog::sinks::sink {
 public:
  void log(const spdlog::details::log_msg& msg) override {
    std::lock_guard lock(mutex_);
    if (handler_) {
      handler_(to_log_level(msg.level), std::string_view(msg.payload.data(), msg.payload.size()));
    } else {
      stderr_->log(msg);
    }
  }
  void flush() override {
    std::lock_guard lock(mutex_);
    if (!handler_) stderr_->flush();
  }
  void set_pattern(const std::string& pattern) override { stderr_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    stderr_->set_formatter(std::move(formatter));
  }

  void set_handler(LogHandler handler) {
    LogHandler previous;
    {
      std::lock_guard lock(mutex_);
      previous = std::exchange(handler_, std::move(handler));
    }
    // previous (and what it captured) is destroyed here, outside the lock.
  }

 private:
  std::shared_ptr<spdlog::sinks::sink> stderr_ = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  std::mutex mutex_;
  LogHandler handler_;
};

}  // namespace

spdlog::logger& logger() {
  // Held here as well as in spdlog's registry, so it outlives the registry at exit.
  static std::shared_ptr<spdlog::logger> instance = [] {
    if (auto existing = spdlog::get("goro")) return existing;
    auto created = std::make_shared<spdlog::logger>("goro", std::make_shared<HandlerSink>());
    try {
      spdlog::initialize_logger(created);
      return created;
    } catch (const spdlog::spdlog_ex&) {  // registered concurrently by the user
      return spdlog::get("goro");
    }
  }();
  return *instance;
}

}  // namespace goro::detail

namespace goro {

void set_log_handler(LogHandler handler) {
  for (const auto& sink : detail::logger().sinks()) {
    if (auto* handler_sink = dynamic_cast<detail::HandlerSink*>(sink.get())) {
      handler_sink->set_handler(std::move(handler));
      return;
    }
  }
  throw std::logic_error(
      "goro::set_log_handler: the spdlog logger \"goro\" is the application's own (registered "
      "before goro first logged), so its sinks decide where goro's messages go; add a sink to "
      "it instead of setting a handler");
}

}  // namespace goro
