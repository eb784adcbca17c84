// goro/status_page.hpp — the page for people: one self-contained HTML page with the
// blocked wait sites (count, reason, oldest age, how many provably leaked, a link to their
// dump) and a plot of the trend history (live, blocked and leaked tasks, RSS). The debug
// endpoint serves it at /debug/goro/ (goro/debug_server.hpp); it needs no JavaScript,
// so it works in any browser and in a headless screenshot.
//
//   std::ofstream("status.html") << goro::diag::status_page_html();
//   // the dump behind one row's link:
//   std::cout << goro::diag::site_dump_text("chan send", "/src/worker.cpp:41");
//
// The plot comes from the trend sampler (goro/trend.hpp). When it is off, rendering the
// page starts it with a one-second period (StatusPageOptions::start_sampler) so the
// next view has a history to draw.
#pragma once

#include <string>
#include <string_view>

namespace goro::diag {

struct StatusPageOptions {
  bool start_sampler = true;   // start the trend sampler (1 s) if it is not running
  std::string site_link = "site";  // the dump route, relative to the page's URL
};

// The page, as a complete HTML document.
std::string status_page_html(const StatusPageOptions& opts = {});

// The dump (goro's grouped text format) of the tasks waiting with `reason` (as
// to_string() spells it, e.g. "chan send") at `site` ("file:line"); empty when none is.
std::string site_dump_text(std::string_view reason, std::string_view site);

}  // namespace goro::diag
