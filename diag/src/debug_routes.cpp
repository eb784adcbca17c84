// diag/src/debug_routes.cpp — the debug endpoint's routes (debug_routes.hpp): the
// /debug/pprof/ index and profiles, /metrics, the /debug/goro/ status page and its trend
// button, and the user's ServeOptions::routes. Stateless: every answer is built from a
// fresh snapshot, so concurrent connection threads share nothing here.
#include "debug_routes.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>
#include <string>

#include "goro/diag.hpp"
#include "goro/metrics.hpp"
#include "goro/profile.hpp"
#include "goro/status_page.hpp"
#include "runtime_hooks.hpp"

namespace goro::diag {

namespace {

using http::html;
using http::Request;
using http::Response;
using http::text;

// ?debug=N: absent is 0; anything but a non-negative integer is the client's error.
// Larger levels mean "the most detail", as in Go.
bool parse_debug(const Request& req, int* debug) {
  *debug = 0;
  if (!req.has_param("debug")) return true;
  const std::string v = req.param("debug");
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *debug);
  if (ec != std::errc() || end != v.data() + v.size() || *debug < 0) return false;
  *debug = std::min(*debug, 2);
  return true;
}

Response serve_profile(const std::string& name, const Request& req) {
  int debug = 0;
  if (!parse_debug(req, &debug))
    return text(400, "bad debug parameter \"" + req.param("debug") +
                         "\": expected 0 (gzipped profile.proto), 1 (text) or 2 (Go dump)\n");
  if (req.has_param("seconds")) return text(400, "goro serves cumulative profiles only: drop the seconds parameter\n");
  if (name == "block" && debug > 1) debug = 1;
  std::ostringstream out;
  if (!write_profile(out, name, debug)) return text(404, "Unknown profile: " + name + "\n");
  Response r = text(200, out.str());
  if (debug == 0) {
    r.content_type = "application/octet-stream";
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
  }
  return r;
}

std::string index_html() {
  const std::size_t live = tasks().size(), leaked = leaked_tasks().size();
  const std::int64_t rate = block_profile_rate();
  const int mutex_rate = set_mutex_profile_fraction(-1);  // a negative rate only reads
  std::ostringstream html;
  html << "<html>\n<head>\n<title>/debug/pprof/</title>\n</head>\n<body>\n/debug/pprof/<br>\n"
          "<p>Set debug=1 as a query parameter to export in legacy text format</p>\n"
          "Types of profiles available:\n<table>\n<thead><td>Count</td><td>Profile</td></thead>\n"
       << "<tr><td>" << live << "</td><td><a href='goroutine?debug=1'>goroutine</a></td></tr>\n"
       << "<tr><td>" << (rate == 0 ? "off" : "rate " + std::to_string(rate) + "ns")
       << "</td><td><a href='block?debug=1'>block</a></td></tr>\n"
       << "<tr><td>" << leaked << "</td><td><a href='goroutineleak?debug=1'>goroutineleak</a></td></tr>\n"
       << "<tr><td>" << (mutex_rate == 0 ? "off" : "1/" + std::to_string(mutex_rate))
       << "</td><td><a href='mutex?debug=1'>mutex</a></td></tr>\n"
       << "<tr><td></td><td><a href='heap?debug=1'>heap</a></td></tr>\n"
       << "<tr><td></td><td><a href='threadcreate?debug=1'>threadcreate</a></td></tr>\n"
       << "</table>\n<a href='goroutine?debug=2'>full goroutine stack dump</a><br>\n"
          "<a href='/metrics'>Prometheus metrics</a>\n<br>\n<p>\nProfile Descriptions:\n<ul>\n"
          "<li><div class=profile-name>goroutine: </div> Stack traces of all current tasks: "
          "wait site, captured stack (when enabled) and spawn site</li>\n"
          "<li><div class=profile-name>block: </div> Stack traces that led to blocking on "
          "channels, select and sync (goro::diag::set_block_profile_rate)</li>\n"
          "<li><div class=profile-name>goroutineleak: </div> Tasks that provably can never "
          "wake up</li>\n"
          "<li><div class=profile-name>heap: </div> The memory goro holds (task stacks, "
          "task records, channels) by the line that spawned or created it</li>\n"
          "<li><div class=profile-name>mutex: </div> Stack traces of holders of contended "
          "mutexes (goro::diag::set_mutex_profile_fraction)</li>\n"
          "<li><div class=profile-name>threadcreate: </div> The threads goro started, with "
          "where they were created</li>\n</ul>\n</p>\n</body>\n</html>\n";
  return html.str();
}

// The status page never starts the sampler itself (a GET must not change state): when
// there is no trend to plot, it offers a button that POSTs /debug/goro/trend.
Response status_page(const std::string& trend_action) {
  StatusPageOptions page;
  page.start_sampler = false;
  std::string body = status_page_html(page);
  const std::size_t no_trend = body.find("<p id=\"no-trend\">");
  if (no_trend != std::string::npos) {
    const std::size_t after = body.find("</p>\n", no_trend);
    if (after != std::string::npos)
      body.insert(after + 5, "<form id=\"start-trend\" method=\"post\" action=\"" + trend_action +
                                 "\"><p>Trend sampling is off; POST to /debug/goro/trend to start it: "
                                 "<button type=\"submit\">start sampling (1 s)</button></p></form>\n");
  }
  return html(std::move(body));
}

}  // namespace

Response route(const Request& req, const ServeOptions& opts) {
  const bool get = req.method == "GET" || req.method == "HEAD", post = req.method == "POST";
  auto only = [&](const char* allowed) {
    Response r = text(405, "405 method not allowed: " + req.path + " accepts " + allowed + "\n");
    r.headers.emplace_back("Allow", allowed);
    return r;
  };
  for (const ServeOptions::Route& user : opts.routes) {
    if (user.path != req.path) continue;
    const bool wants_post = user.method == "POST";
    if (wants_post ? !post : !get) return only(wants_post ? "POST" : "GET, HEAD");
    Response r = text(200, user.handler());
    r.content_type = user.content_type;
    return r;
  }
  const std::string& p = req.path;
  if (p == "/debug/goro/trend") {
    if (!post) return only("POST");
    diag::internal::start_trend_sampler(std::chrono::seconds(1));
    Response r = text(303, "trend sampling started: see /debug/goro/\n");
    r.headers.emplace_back("Location", "/debug/goro/");
    return r;
  }
  const bool known = p == "/debug/pprof/" || p == "/debug/pprof" || p == "/debug/goro/" || p == "/debug/goro" ||
                     p == "/debug/goro/site" || p == "/metrics" ||
                     (p.rfind("/debug/pprof/", 0) == 0 && p.find('/', 13) == std::string::npos);
  if (!known) return text(404, "404 not found: see /debug/pprof/ for the routes\n");
  if (!get) return only("GET, HEAD");
  if (p == "/debug/pprof/" || p == "/debug/pprof") return html(index_html());
  if (p == "/debug/goro/") return status_page("trend");
  if (p == "/debug/goro") return status_page("goro/trend");
  if (p == "/debug/goro/site") {
    if (!req.has_param("reason") || !req.has_param("at"))
      return text(400, "400 bad request: /debug/goro/site?reason=<reason>&at=<file:line>\n");
    std::string dump = site_dump_text(req.param("reason"), req.param("at"));
    if (dump.empty()) return text(404, "404 no task waits there now\n");
    return text(200, std::move(dump));
  }
  if (p == "/metrics") {
    std::ostringstream out;
    write_metrics(out);
    Response r = text(200, out.str());
    r.content_type = std::string(kMetricsContentType);
    return r;
  }
  return serve_profile(p.substr(13), req);
}

}  // namespace goro::diag
