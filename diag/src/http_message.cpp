// diag/src/http_message.cpp — parsing HTTP/1.1 requests and serializing responses for
// the debug endpoint (http_message.hpp). Pure functions: no state, no locks, no I/O.
#include "http_message.hpp"

#include <cctype>
#include <string>

namespace goro::diag::http {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding (and '+' as a space in a query); false for a malformed escape.
bool url_decode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_digit(in[i + 1]), lo = hex_digit(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out->push_back(plus_is_space && in[i] == '+' ? ' ' : in[i]);
    }
  }
  return true;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 303: return "See Other";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

}  // namespace

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Response text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string serialize(const Response& r, bool head_only, bool keep_alive) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason_phrase(r.status) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (!head_only) out += r.body;
  return out;
}

int parse_head(std::string_view head, Request* req) {
  std::size_t eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  const std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return 400;
  req->method = std::string(line.substr(0, sp1));
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  req->version = std::string(line.substr(sp2 + 1));
  if (req->version != "HTTP/1.1" && req->version != "HTTP/1.0") return 400;
  if (target.empty() || target.front() != '/') return 400;
  const std::size_t q = target.find('?');
  if (!url_decode(target.substr(0, q), false, &req->path)) return 400;
  if (q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
      const std::size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      const std::size_t eq = pair.find('=');
      std::string k, v;
      if (!url_decode(pair.substr(0, eq), true, &k)) return 400;
      if (eq != std::string_view::npos && !url_decode(pair.substr(eq + 1), true, &v)) return 400;
      if (!k.empty()) req->params.emplace(std::move(k), std::move(v));
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    }
  }
  while (eol != std::string_view::npos) {
    const std::size_t start = eol + 2;
    eol = head.find("\r\n", start);
    const std::string_view field = head.substr(start, eol == std::string_view::npos ? eol : eol - start);
    if (field.empty()) continue;
    const std::size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return 400;
    std::string name = lower(field.substr(0, colon));
    if (name.find_first_of(" \t") != std::string::npos) return 400;
    std::string value(trim(field.substr(colon + 1)));
    auto [it, fresh] = req->headers.emplace(std::move(name), value);
    if (!fresh && (it->first == "host" || it->first == "content-length")) return 400;  // ambiguous
  }
  return 0;
}

namespace {

// The host part of a Host header or Origin authority: "localhost:6060" -> "localhost",
// "[::1]:6060" -> "[::1]".
std::string host_name(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    return lower(authority.substr(0, close == std::string_view::npos ? authority.size() : close + 1));
  }
  return lower(authority.substr(0, authority.find(':')));
}

}  // namespace

bool host_allowed(std::string_view host_header, const ServeOptions& opts, const std::string& bound_host) {
  if (host_header.empty()) return false;
  const std::string name = host_name(host_header);
  if (name == "localhost" || name == "127.0.0.1" || name == "[::1]") return true;
  if (!bound_host.empty() && (name == lower(bound_host) || name == "[" + lower(bound_host) + "]")) return true;
  for (const std::string& allowed : opts.allowed_hosts) {
    if (allowed == "*") return true;
    const bool with_port = allowed.find(':') != std::string::npos && allowed.back() != ']';
    if (with_port ? lower(host_header) == lower(allowed) : name == lower(allowed)) return true;
  }
  return false;
}

bool cross_site(const Request& req) {
  const std::string fetch_site = req.header("sec-fetch-site");
  if (!fetch_site.empty() && fetch_site != "same-origin" && fetch_site != "none") return true;
  const std::string origin = req.header("origin");
  if (origin.empty()) return false;
  const std::size_t scheme = origin.find("://");
  if (scheme == std::string::npos) return true;  // "null" and the like
  return lower(std::string_view(origin).substr(scheme + 3)) != lower(req.header("host"));
}

Response html(std::string body) {
  Response r = text(200, std::move(body));
  r.content_type = "text/html; charset=utf-8";
  return r;
}

}  // namespace goro::diag::http
