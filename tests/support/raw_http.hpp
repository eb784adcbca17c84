// raw_http.hpp — hand-written HTTP over a plain TCP socket to a local server, for the
// debug endpoint's tests: the requests no well-behaved client library would send.
//
//   std::string reply = gt::raw_exchange(server.port(), "GET /x HTTP/1.1\r\n\r\n");
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "goro_test.hpp"

namespace gt {

// A TCP connection to 127.0.0.1:port, or -1 if refused. Reads and writes on it give up
// after the test watchdog, so a server that stops answering fails the test, not hangs it.
inline int connect_raw(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{static_cast<time_t>(kWatchdog.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

// Everything the server sends on `fd` until it closes the connection.
inline std::string read_reply(int fd) {
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) reply.append(buf, static_cast<std::size_t>(n));
  return reply;
}

// Sends `request` on a fresh connection and reads the reply until the server closes it
// ("" if the connection was refused).
inline std::string raw_exchange(int port, const std::string& request) {
  int fd = connect_raw(port);
  if (fd < 0) return "";
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string reply = read_reply(fd);
  ::close(fd);
  return reply;
}

}  // namespace gt
