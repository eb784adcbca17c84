// diag/src/debug_routes.hpp — what the debug endpoint (goro/debug_server.hpp) answers
// for each path: the pprof index and profiles, /metrics, the status page and the user's
// ServeOptions::routes.
//
//   const http::Response r = route(req, opts);   // on a connection thread, in a handler slot
//
// route() reads snapshots only (tasks, profiles, metrics); it may throw, and the caller
// answers 500 then. It keeps no state of its own, so any number of connection threads
// may call it at once.
#pragma once

#include "goro/debug_server.hpp"
#include "http_message.hpp"

namespace goro::diag {

// The response to a request that passed the Host and cross-site checks: 404 for an
// unknown path, 405 for a known one with the wrong method, 400 for bad parameters.
http::Response route(const http::Request& req, const ServeOptions& opts);

}  // namespace goro::diag
