// diag/src/status_page.cpp — goro's status page (see goro/status_page.hpp): an HTML table
// of the wait sites and an inline SVG plot of the trend history. Plain string building;
// every text that comes from the program (function names, file names, task names) is
// HTML-escaped, and every link parameter percent-encoded.
#include "goro/status_page.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <unordered_set>
#include <vector>

#include "goro/diag.hpp"
#include "goro/trend.hpp"
#include "runtime_hooks.hpp"
#include "text.hpp"

namespace goro::diag {

namespace {

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string url_encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' || c == ':') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// One row of the table: the tasks waiting for one reason at one site.
struct SiteRow {
  WaitReason reason = WaitReason::none;
  std::source_location wait_site;
  std::source_location spawn_site;  // of the oldest waiter
  std::size_t count = 0, leaked = 0;
  std::chrono::nanoseconds oldest{0};
};

std::vector<SiteRow> site_rows(const std::vector<TaskInfo>& all,
                               const std::unordered_set<TaskId>& leaked) {
  std::map<std::pair<std::string, int>, SiteRow> rows;  // (file:line, reason)
  for (const TaskInfo& t : all) {
    if (t.reason == WaitReason::none) continue;
    SiteRow& row = rows[{site_string(t.wait_site), static_cast<int>(t.reason)}];
    if (row.count == 0 || t.blocked_for > row.oldest) {
      row.oldest = t.blocked_for;
      row.spawn_site = t.spawn_site;
    }
    row.reason = t.reason;
    row.wait_site = t.wait_site;
    ++row.count;
    row.leaked += leaked.count(t.id) || t.leaked;
  }
  std::vector<SiteRow> out;
  for (auto& entry : rows) out.push_back(entry.second);
  std::sort(out.begin(), out.end(), [](const SiteRow& a, const SiteRow& b) {
    return a.count != b.count ? a.count > b.count : a.oldest > b.oldest;
  });
  return out;
}

// A polyline of `value(sample)` over the samples, scaled into the plot's box.
template <class Value>
std::string polyline(const std::vector<TrendSample>& samples, double x0, double width, double y0,
                     double height, double max_value, Value value) {
  std::ostringstream points;
  const auto first = samples.front().steady_at;
  // Seconds from the first sample to the last (tiny when sampled by hand in a burst).
  const double span = std::max<double>(
      1e-9, std::chrono::duration<double>(samples.back().steady_at - first).count());
  for (const TrendSample& s : samples) {
    const double x = x0 + width * std::chrono::duration<double>(s.steady_at - first).count() / span;
    const double y = y0 + height - height * (max_value > 0 ? value(s) / max_value : 0);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.1f,%.1f ", x, y);
    points << buf;
  }
  return points.str();
}

std::string trend_svg(const std::vector<TrendSample>& samples) {
  constexpr double kWidth = 920, kHeight = 320, kLeft = 80, kRight = 70, kTop = 20, kBottom = 40;
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  double max_tasks = 1, max_rss_mb = 1;
  for (const TrendSample& s : samples) {
    max_tasks = std::max<double>(max_tasks, static_cast<double>(s.live_tasks));
    max_rss_mb = std::max(max_rss_mb, s.rss_bytes / 1048576.0);
  }
  const std::string span = age_string(samples.back().steady_at - samples.front().steady_at);
  std::ostringstream svg;
  svg << "<svg id=\"trend\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\""
      << kHeight << "\" viewBox=\"0 0 " << kWidth << " " << kHeight << "\" role=\"img\">\n"
      << "<title>live, blocked and leaked tasks and RSS over the last " << span << "</title>\n"
      << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << plot_w << "\" height=\"" << plot_h
      << "\" fill=\"#fafafa\" stroke=\"#bbb\"/>\n";
  char label[96];
  std::snprintf(label, sizeof label, "%.0f tasks", max_tasks);
  svg << "<text x=\"" << kLeft - 6 << "\" y=\"" << kTop + 10 << "\" text-anchor=\"end\">" << label << "</text>\n"
      << "<text x=\"" << kLeft - 6 << "\" y=\"" << kTop + plot_h << "\" text-anchor=\"end\">0</text>\n";
  std::snprintf(label, sizeof label, "%.0f MB", max_rss_mb);
  svg << "<text x=\"" << kLeft + plot_w + 6 << "\" y=\"" << kTop + 10 << "\">" << label << "</text>\n"
      << "<text x=\"" << kLeft << "\" y=\"" << kHeight - 12 << "\">" << span << " earlier</text>\n<text x=\"" << kLeft + plot_w << "\" y=\"" << kHeight - 12
      << "\" text-anchor=\"end\">newest sample</text>\n";
  struct Series {
    const char* id;
    const char* label;
    const char* color;
    double max;
    double (*value)(const TrendSample&);
    const char* dash;
  };
  const Series series[] = {
      {"live", "live tasks", "#1f77b4", max_tasks, [](const TrendSample& s) { return double(s.live_tasks); }, ""},
      {"blocked", "blocked on channels", "#ff7f0e", max_tasks, [](const TrendSample& s) { return double(s.blocked_tasks); }, ""},
      {"leaked", "provably leaked", "#d62728", max_tasks, [](const TrendSample& s) { return double(s.leaked_tasks); }, ""},
      {"rss", "RSS (right axis)", "#7f7f7f", max_rss_mb, [](const TrendSample& s) { return s.rss_bytes / 1048576.0; }, " stroke-dasharray=\"6 4\""},
  };
  double legend_x = kLeft;
  for (const Series& s : series) {
    svg << "<polyline class=\"series\" id=\"series-" << s.id << "\" fill=\"none\" stroke=\"" << s.color
        << "\" stroke-width=\"2\"" << s.dash << " points=\""
        << polyline(samples, kLeft, plot_w, kTop, plot_h, s.max, s.value) << "\"/>\n"
        << "<rect x=\"" << legend_x << "\" y=\"" << kHeight - 30 << "\" width=\"12\" height=\"4\" fill=\""
        << s.color << "\"/><text x=\"" << legend_x + 16 << "\" y=\"" << kHeight - 25 << "\">" << s.label
        << "</text>\n";
    legend_x += 190;
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace

std::string status_page_html(const StatusPageOptions& opts) {
  if (opts.start_sampler) diag::internal::start_trend_sampler(std::chrono::seconds(1));
  const std::vector<TaskInfo> all = tasks();  // with the provable-leak verdicts
  std::unordered_set<TaskId> leaked;
  for (const TaskInfo& t : all)
    if (t.leaked) leaked.insert(t.id);
  const std::vector<SiteRow> rows = site_rows(all, leaked);
  std::size_t blocked = 0, waiting = 0;
  std::chrono::nanoseconds oldest{0};
  for (const TaskInfo& t : all) {
    if (t.reason == WaitReason::none) continue;
    ++waiting;
    blocked += is_channel_wait(t.reason);
    oldest = std::max(oldest, t.blocked_for);
  }
  const std::vector<TrendSample> history = trend();

  std::ostringstream html;
  html << "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<title>goro: tasks</title>\n<style>\n"
          "body{font-family:sans-serif;margin:1.5em;color:#222}"
          "table{border-collapse:collapse}td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left}"
          "td.n{text-align:right}.fn{color:#666;font-size:.9em}.leaked{color:#d62728;font-weight:bold}"
          "svg text{font-size:12px;font-family:sans-serif}\n</style>\n</head>\n<body>\n"
          "<h1>goro tasks</h1>\n<p id=\"summary\">"
       << count_string(all.size()) << " live &middot; " << count_string(blocked)
       << " blocked on channels &middot; " << count_string(waiting - blocked) << " waiting otherwise &middot; "
       << (leaked.empty() ? "<span>" : "<span class=\"leaked\">") << count_string(leaked.size())
       << " provably leaked</span>"
       << (waiting ? " &middot; oldest wait " + age_string(oldest) : std::string()) << "</p>\n"
       << "<h2>Wait sites</h2>\n";
  if (rows.empty()) {
    html << "<p id=\"no-sites\">No task is waiting.</p>\n";
  } else {
    html << "<table id=\"sites\">\n<thead><tr><th>tasks</th><th>reason</th><th>oldest</th>"
            "<th>leaked</th><th>wait site</th><th>spawned at</th></tr></thead>\n<tbody>\n";
    for (const SiteRow& r : rows) {
      const std::string site = site_string(r.wait_site);
      const std::string reason(to_string(r.reason));
      html << "<tr><td class=\"n\">" << count_string(r.count) << "</td><td>" << html_escape(reason)
           << "</td><td>" << age_string(r.oldest) << "</td><td class=\"n"
           << (r.leaked ? " leaked" : "") << "\">" << count_string(r.leaked) << "</td><td><a href=\""
           << html_escape(opts.site_link) << "?reason=" << url_encode(reason) << "&amp;at=" << url_encode(site)
           << "\">" << html_escape(site) << "</a> <span class=\"fn\">"
           << html_escape(r.wait_site.function_name()) << "</span></td><td>"
           << html_escape(site_string(r.spawn_site)) << "</td></tr>\n";
    }
    html << "</tbody>\n</table>\n";
  }
  html << "<h2>Trend</h2>\n";
  if (history.size() < 2) {
    html << "<p id=\"no-trend\">No trend yet: the sampler has " << history.size()
         << " sample(s). It runs with <code>GORO_TREND=1s</code> or <code>Config::trend_period</code>"
         << (opts.start_sampler ? ", and was started by this page: reload in a few seconds." : ".")
         << "</p>\n";
  } else {
    html << trend_svg(history) << "<p class=\"fn\">" << history.size() << " samples; the newest: "
         << count_string(history.back().live_tasks) << " live, " << count_string(history.back().blocked_tasks)
         << " blocked, " << count_string(history.back().leaked_tasks) << " leaked, "
         << count_string(history.back().rss_bytes / 1048576) << " MB RSS.</p>\n";
  }
  html << "<p class=\"fn\">Also: <a href=\"/debug/pprof/\">/debug/pprof/</a>, "
          "<a href=\"/metrics\">/metrics</a>.</p>\n</body>\n</html>\n";
  return html.str();
}

std::string site_dump_text(std::string_view reason, std::string_view site) {
  std::vector<TaskInfo> matching;
  for (TaskInfo& t : tasks())
    if (t.reason != WaitReason::none && to_string(t.reason) == reason && site_string(t.wait_site) == site)
      matching.push_back(std::move(t));
  if (matching.empty()) return {};
  std::ostringstream out;
  dump_tasks(out, std::move(matching));
  return out.str();
}

}  // namespace goro::diag
