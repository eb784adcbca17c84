// asio_echo_server: the Boost.Asio peer of benchmarks/net: C++20 coroutines
// (co_spawn + use_awaitable), one coroutine per connection, one io_context run by
// WORKERS threads (as goro's workers and Go's GOMAXPROCS).
//
//   asio_echo_server PORT [WORKERS=2]
#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange without it

#include <boost/asio.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;

asio::awaitable<void> echo(tcp::socket socket) {
  std::array<char, 4096> buf;
  try {
    for (;;) {
      const std::size_t n = co_await socket.async_read_some(asio::buffer(buf), asio::use_awaitable);
      co_await asio::async_write(socket, asio::buffer(buf, n), asio::use_awaitable);
    }
  } catch (const std::exception&) {  // end of stream or reset
  }
}

asio::awaitable<void> listen(tcp::acceptor& acceptor) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), echo(std::move(socket)), asio::detached);
  }
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT [WORKERS=2]\n", argv[0]);
    return 2;
  }
  const int workers = argc > 2 ? std::atoi(argv[2]) : 2;
  asio::io_context io(workers);
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::atoi(argv[1]))});
  asio::co_spawn(io, listen(acceptor), asio::detached);
  std::printf("listening on 127.0.0.1:%s\n", argv[1]);
  std::fflush(stdout);
  std::vector<std::thread> threads;
  for (int i = 1; i < workers; ++i) threads.emplace_back([&] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
}
