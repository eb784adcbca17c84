// goro/log.hpp — where goro's log messages go: a plain callback for applications that do
// not use spdlog.
//
// goro logs what it cannot throw at a caller (tasks still alive when a runtime ends, a
// deadlock, an exception escaping a task, leak trends, ...). By default each message goes to
// the spdlog logger named "goro", which writes to stderr; an application using spdlog
// reconfigures that logger (docs/api.md, "Logging"). Any other application routes the
// messages into its own logging with a handler:
//
//   goro::set_log_handler([](goro::LogLevel level, std::string_view message) {
//     my_log(level >= goro::LogLevel::warn ? MY_WARNING : MY_INFO, "goro: %.*s",
//            static_cast<int>(message.size()), message.data());
//   });
//   ...
//   goro::set_log_handler(nullptr);   // back to stderr
//
// The handler gets the message text alone (no timestamp or level prefix), one call per
// message, at the "goro" logger's level or above (info by default). Calls are serialised
// (one at a time, from whichever thread logs, often one of goro's workers); the handler
// must not throw or block, and must not call into goro: set_log_handler waits for a call
// in progress to return, so once it has returned the previous handler is never called again.
#pragma once

#include <functional>
#include <string_view>

namespace goro {

enum class LogLevel { trace, debug, info, warn, error, critical };

using LogHandler = std::function<void(LogLevel level, std::string_view message)>;

// Sends every goro message to handler instead of stderr; an empty handler (nullptr)
// restores stderr. Throws std::logic_error if the application registered its own spdlog
// logger named "goro" before goro first logged: its sinks then decide where messages go.
void set_log_handler(LogHandler handler);

}  // namespace goro
