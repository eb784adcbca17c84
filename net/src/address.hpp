// net/src/address.hpp — parsing, resolving and printing goro::net's address strings.
//
//   ParsedAddress a = parse_address("[::1]:8080", "goro::net::dial", where);   // or throws invalid_argument
//   std::vector<Endpoint> eps = resolve(a, Purpose::dial, SOCK_STREAM, "goro::net::dial", where);
//   std::string text = format_address(&ep.addr, ep.len);                       // "[::1]:8080"
//
// Literal IP addresses never touch the resolver; host names go to getaddrinfo through
// goro::blocking, so a task waiting for DNS parks as "syscall" and no worker blocks.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

namespace goro::net::detail {

struct ParsedAddress {
  bool is_unix = false;
  std::string path;  // unix: the socket path; a leading '@' is the abstract namespace
  std::string host;  // may be empty (":8080")
  std::uint16_t port = 0;
};

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family() const noexcept { return addr.ss_family; }
};

enum class Purpose { listen, dial };

// "where: what" for messages: "goro::net::dial(\"x\") at file.cpp:12".
std::string call_text(const char* call, std::string_view address, const std::source_location& where);
std::string site_text(const std::source_location& where);

ParsedAddress parse_address(std::string_view address, const char* call, const std::source_location& where);

// The socket addresses to try, best first. listen with an empty host: the IPv6 wildcard
// (dual-stack; the caller clears IPV6_V6ONLY) when the host has IPv6, else 0.0.0.0. dial
// with an empty host: the loopback addresses.
std::vector<Endpoint> resolve(const ParsedAddress& a, Purpose purpose, int socktype, const char* call,
                              std::string_view address, const std::source_location& where);

// "127.0.0.1:80", "[::1]:80" (an IPv4-mapped IPv6 address prints as IPv4), "unix:/path",
// "unix:@name", "unix:" for an unnamed Unix socket.
std::string format_address(const sockaddr_storage* addr, socklen_t len);

bool host_has_ipv6() noexcept;

}  // namespace goro::net::detail
