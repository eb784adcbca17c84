// What goro logs while a LogCapture lives, for tests that check a report's text. Needs
// only goro/runtime.hpp and spdlog, so tests that link a single module library use it too.
//
//   gt::LogCapture log;
//   goro::run([] { ... });
//   EXPECT_NE(log.text().find("leaked"), std::string::npos);
#pragma once

#include <goro/runtime.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>

namespace gt {

class LogCapture {
 public:
  LogCapture() {
    goro::run([] {});  // goro's logger exists once a runtime has been made
    logger_ = spdlog::get("goro");
    if (logger_) logger_->sinks().push_back(sink_);
  }
  ~LogCapture() {
    if (logger_) logger_->sinks().pop_back();
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  bool attached() const { return logger_ != nullptr; }
  std::string text() const {
    sink_->flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_ =
      std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace gt
