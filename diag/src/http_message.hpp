// diag/src/http_message.hpp — the HTTP/1.1 messages of the debug endpoint
// (goro/debug_server.hpp): a parsed request, a response to serialize, and the checks a
// request must pass before any route sees it (its Host header, a browser's cross-site
// marks). Plain functions of their arguments: no state, no locks, no I/O.
//
//   http::Request req;
//   if (int status = http::parse_head(head, &req); status != 0) /* refuse with status */;
//   if (!http::host_allowed(req.header("host"), opts, bound_host)) /* 403 */;
//   socket_write(http::serialize(http::text(200, "ok\n"), req.method == "HEAD", true));
//
// Limits (head and body sizes, timeouts) are the connection's business
// (debug_server.cpp): parse_head takes a head already bounded by max_header_bytes.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "goro/debug_server.hpp"

namespace goro::diag::http {

struct Request {
  std::string method, path, version;
  std::map<std::string, std::string> params;   // the query, decoded
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  bool has_param(const std::string& k) const { return params.count(k) != 0; }
  std::string param(const std::string& k) const {
    auto it = params.find(k);
    return it == params.end() ? std::string() : it->second;
  }
  std::string header(const std::string& k) const {
    auto it = headers.find(k);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// A response with `body` as plain UTF-8 text, or as an HTML page.
Response text(int status, std::string body);
Response html(std::string body);

// The response's bytes: status line, headers (Content-Length, Connection) and, unless
// the request was a HEAD, the body.
std::string serialize(const Response& r, bool head_only, bool keep_alive);

// Parses the request line and headers (`head`, without the blank line). Returns 0 or
// the status to refuse the request with.
int parse_head(std::string_view head, Request* req);

// ASCII lowercase, for header names and values compared without case.
std::string lower(std::string_view s);

// Whether a request's Host header names this server: a loopback name, the host it is
// bound to, or one of ServeOptions::allowed_hosts. Refusing the rest stops DNS rebinding.
bool host_allowed(std::string_view host_header, const ServeOptions& opts, const std::string& bound_host);

// A browser labels a request a page of another site makes (a form posted to us):
// Sec-Fetch-Site says so, and Origin names a host other than ours. A POST like that is
// refused; curl and other tools send neither header.
bool cross_site(const Request& req);

}  // namespace goro::diag::http
