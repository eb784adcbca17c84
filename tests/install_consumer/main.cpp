// Uses the installed goro: run, go_spawn and an unbuffered Channel<int>.
// Returns non-zero when the value received is not the one sent.
#include <goro/goro.hpp>

#include <cstdio>
#include <optional>

int main() {
  int received = -1;
  int rc = goro::run([&received] {
    goro::Channel<int> ch;  // unbuffered: send completes when main receives
    goro::go_spawn([ch]() mutable { ch.send(42); });
    std::optional<int> v = ch.recv();
    received = v.value_or(-1);
  });
  if (rc != 0 || received != 42) {
    std::fprintf(stderr, "install consumer: FAILED (run returned %d, received %d, expected 42)\n", rc,
                 received);
    return 1;
  }
  std::printf("install consumer: OK (received %d)\n", received);
  return 0;
}
