// Channels without diag: this executable links goro::channel (goro_channel, every object
// of it, and the runtime it builds on) and nothing of goro_diag. It builds only while the
// channel module names no diag symbol.
#include <goro/channel.hpp>
#include <goro/runtime.hpp>
#include <goro/select.hpp>
#include <gtest/gtest.h>

#include <optional>

namespace {

TEST(ChannelOnly, SendReceiveAndSelectWithoutDiag) {
  int sum = 0;
  const int code = goro::run([&] {
    goro::Channel<int> numbers;
    goro::Channel<int> done(1);
    goro::go_spawn([&] {
      for (int i = 1; i <= 10; ++i) numbers.send(i);
      numbers.close();
    });
    for (int v : numbers) sum += v;
    done.send(sum);
    std::optional<int> got;
    EXPECT_EQ(goro::select(goro::recv_case(done, got)), 0u);
    EXPECT_EQ(got, 55);
  });
  EXPECT_EQ(code, 0);
  EXPECT_EQ(sum, 55);
}

}  // namespace
