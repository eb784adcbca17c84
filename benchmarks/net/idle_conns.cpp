// goro_idle_conns: the client of benchmarks/net/idle.sh. Opens N TCP connections to a
// server, sends nothing, and holds them open until its stdin closes or it is killed, so
// the server's resident memory can be read with N idle connections.
//
//   goro_idle_conns ADDRESS N      # "127.0.0.1:7000" 10000
//
// Prints "open N" once every connection is established. A plain program (blocking
// connect(2), no runtime) so that it measures the server and nothing else; it raises its
// soft RLIMIT_NOFILE to the hard limit first.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s IPV4:PORT N\n", argv[0]);
    return 2;
  }
  const std::string address = argv[1];
  const long n = std::strtol(argv[2], nullptr, 10);
  const std::size_t colon = address.rfind(':');
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(std::atoi(address.c_str() + colon + 1)));
  if (colon == std::string::npos || ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &to.sin_addr) != 1) {
    std::fprintf(stderr, "goro_idle_conns: %s is not IPV4:PORT\n", address.c_str());
    return 2;
  }
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    lim.rlim_cur = lim.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur < static_cast<rlim_t>(n) + 16) {
    std::fprintf(stderr, "goro_idle_conns: RLIMIT_NOFILE is %llu, too low for %ld connections (raise the hard limit)\n",
                 static_cast<unsigned long long>(lim.rlim_cur), n);
    return 1;
  }
  std::vector<int> fds;
  fds.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
      const int error = errno;
      std::fprintf(stderr, "goro_idle_conns: connection %ld: %s\n", i, std::strerror(error));
      return 1;
    }
    fds.push_back(fd);
  }
  std::printf("open %ld\n", n);
  std::fflush(stdout);
  char byte;
  while (::read(0, &byte, 1) > 0) {
  }
  for (int fd : fds) ::close(fd);
  return 0;
}
