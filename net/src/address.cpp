// net/src/address.cpp — see address.hpp.
#include "address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "goro/blocking.hpp"
#include "goro/net.hpp"

namespace goro::net {

namespace {
class ResolverCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int code) const override { return ::gai_strerror(code); }
};
}  // namespace

const std::error_category& resolver_category() noexcept {
  static const ResolverCategory category;
  return category;
}

}  // namespace goro::net

namespace goro::net::detail {

std::string site_text(const std::source_location& where) {
  return std::string(where.file_name()) + ":" + std::to_string(where.line());
}

std::string call_text(const char* call, std::string_view address, const std::source_location& where) {
  return std::string(call) + "(\"" + std::string(address) + "\") at " + site_text(where);
}

namespace {

[[noreturn]] void malformed(const char* call, std::string_view address, const std::source_location& where,
                            const std::string& why) {
  throw std::invalid_argument(call_text(call, address, where) + ": malformed address: " + why +
                              " (expected \"host:port\", \"[ipv6]:port\", \":port\" or \"unix:/path\")");
}

bool parse_ipv4(const std::string& host, in_addr& out) { return ::inet_pton(AF_INET, host.c_str(), &out) == 1; }
bool parse_ipv6(const std::string& host, in6_addr& out) { return ::inet_pton(AF_INET6, host.c_str(), &out) == 1; }

Endpoint ipv4_endpoint(const in_addr& ip, std::uint16_t port) {
  Endpoint ep;
  auto* sin = reinterpret_cast<sockaddr_in*>(&ep.addr);
  sin->sin_family = AF_INET;
  sin->sin_port = htons(port);
  sin->sin_addr = ip;
  ep.len = sizeof(sockaddr_in);
  return ep;
}

Endpoint ipv6_endpoint(const in6_addr& ip, std::uint16_t port) {
  Endpoint ep;
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ep.addr);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  sin6->sin6_addr = ip;
  ep.len = sizeof(sockaddr_in6);
  return ep;
}

Endpoint unix_endpoint(const std::string& path, const char* call, std::string_view address,
                       const std::source_location& where) {
  Endpoint ep;
  auto* un = reinterpret_cast<sockaddr_un*>(&ep.addr);
  un->sun_family = AF_UNIX;
  if (path.size() >= sizeof un->sun_path)
    malformed(call, address, where,
              "the socket path is " + std::to_string(path.size()) + " bytes, the limit is " +
                  std::to_string(sizeof un->sun_path - 1));
  std::memcpy(un->sun_path, path.data(), path.size());
  std::size_t used = path.size();
  if (!path.empty() && path[0] == '@') {
    un->sun_path[0] = '\0';  // the abstract namespace: no file, no NUL terminator
  } else {
    ++used;  // the terminating NUL
  }
  ep.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + used);
  return ep;
}

}  // namespace

ParsedAddress parse_address(std::string_view address, const char* call, const std::source_location& where) {
  ParsedAddress out;
  if (address.substr(0, 5) == "unix:") {
    out.is_unix = true;
    out.path = std::string(address.substr(5));
    if (out.path.empty() || out.path == "@") malformed(call, address, where, "no socket path after \"unix:\"");
    if (out.path.find('\0') != std::string::npos) malformed(call, address, where, "a NUL byte in the path");
    return out;
  }
  std::string_view host, port;
  if (!address.empty() && address[0] == '[') {
    const std::size_t close = address.find(']');
    if (close == std::string_view::npos) malformed(call, address, where, "'[' without ']'");
    host = address.substr(1, close - 1);
    if (close + 1 >= address.size() || address[close + 1] != ':')
      malformed(call, address, where, "no \":port\" after the bracketed host");
    port = address.substr(close + 2);
  } else {
    const std::size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) malformed(call, address, where, "no port");
    host = address.substr(0, colon);
    if (host.find(':') != std::string_view::npos)
      malformed(call, address, where, "an IPv6 address needs brackets: \"[" + std::string(host) + "]:port\"");
    port = address.substr(colon + 1);
  }
  if (port.empty()) malformed(call, address, where, "empty port");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec == std::errc::invalid_argument && std::isalpha(static_cast<unsigned char>(port.front())))
    malformed(call, address, where,
              "the port \"" + std::string(port) +
                  "\" is a service name; goro::net does not look those up: give its number (\"http\" is 80)");
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535)
    malformed(call, address, where, "the port \"" + std::string(port) + "\" is not a number from 0 to 65535");
  out.host = std::string(host);
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

bool host_has_ipv6() noexcept {
  static const bool has = [] {
    const int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in6 any{};
    any.sin6_family = AF_INET6;
    any.sin6_addr = in6addr_any;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof any) == 0;
    ::close(fd);
    return ok;
  }();
  return has;
}

std::vector<Endpoint> resolve(const ParsedAddress& a, Purpose purpose, int socktype, const char* call,
                              std::string_view address, const std::source_location& where) {
  if (a.is_unix) return {unix_endpoint(a.path, call, address, where)};
  in_addr v4{};
  in6_addr v6{};
  if (a.host.empty()) {
    if (purpose == Purpose::listen)
      return {host_has_ipv6() ? ipv6_endpoint(in6addr_any, a.port) : ipv4_endpoint(in_addr{htonl(INADDR_ANY)}, a.port)};
    std::vector<Endpoint> local{ipv4_endpoint(in_addr{htonl(INADDR_LOOPBACK)}, a.port)};
    if (host_has_ipv6()) local.push_back(ipv6_endpoint(in6addr_loopback, a.port));
    return local;
  }
  if (parse_ipv4(a.host, v4)) return {ipv4_endpoint(v4, a.port)};
  if (parse_ipv6(a.host, v6)) return {ipv6_endpoint(v6, a.port)};

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  hints.ai_flags = AI_ADDRCONFIG | (purpose == Purpose::listen ? AI_PASSIVE : 0);
  const std::string port_text = std::to_string(a.port);
  addrinfo* list = nullptr;
  int resolver_errno = 0;  // errno of the pool thread that ran it, for EAI_SYSTEM
  const int rc = goro::blocking([&] {
    const int result = ::getaddrinfo(a.host.c_str(), port_text.c_str(), &hints, &list);
    resolver_errno = errno;
    return result;
  });
  if (rc != 0) {
    const int code = rc == EAI_SYSTEM ? resolver_errno : rc;
    const std::error_category& category = rc == EAI_SYSTEM ? std::generic_category() : resolver_category();
    throw std::system_error(code, category, call_text(call, address, where) + ": cannot resolve \"" + a.host + "\"");
  }
  std::vector<Endpoint> out;
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    Endpoint ep;
    std::memcpy(&ep.addr, ai->ai_addr, ai->ai_addrlen);
    ep.len = ai->ai_addrlen;
    out.push_back(ep);
  }
  ::freeaddrinfo(list);
  // IPv4 first, as Go's listen picks a name's first IPv4 address: listen("localhost:0")
  // binds 127.0.0.1 even where getaddrinfo lists ::1 first, and dial tries the same
  // address first, so dialing what such a listener reports connects at once.
  std::stable_partition(out.begin(), out.end(), [](const Endpoint& ep) { return ep.family() == AF_INET; });
  if (out.empty())
    throw std::system_error(EAI_NONAME, resolver_category(),
                            call_text(call, address, where) + ": \"" + a.host + "\" has no IP address");
  return out;
}

std::string format_address(const sockaddr_storage* addr, socklen_t len) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr->ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(addr);
    ::inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(sin->sin_port));
  }
  if (addr->ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(addr);
    if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
      ::inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], text, sizeof text);
      return std::string(text) + ":" + std::to_string(ntohs(sin6->sin6_port));
    }
    ::inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(sin6->sin6_port));
  }
  if (addr->ss_family == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(addr);
    const std::size_t path_len = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
    if (path_len == 0) return "unix:";
    if (un->sun_path[0] == '\0') return "unix:@" + std::string(un->sun_path + 1, path_len - 1);
    return "unix:" + std::string(un->sun_path, strnlen(un->sun_path, path_len));
  }
  return {};
}

}  // namespace goro::net::detail
