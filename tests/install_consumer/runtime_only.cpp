// Uses the installed goro::runtime alone (no channels, no diagnostics): run, go_spawn,
// WaitGroup. Returns non-zero when the tasks did not all run.
#include <goro/runtime.hpp>
#include <goro/wait_group.hpp>

#include <atomic>
#include <cstdio>

int main() {
  std::atomic<int> ran{0};
  const int rc = goro::run([&ran] {
    goro::WaitGroup wg;
    for (int i = 0; i < 4; ++i) {
      wg.add(1);
      goro::go_spawn([&] {
        ran.fetch_add(1);
        wg.done();
      });
    }
    wg.wait();
  });
  if (rc != 0 || ran.load() != 4) {
    std::fprintf(stderr, "install consumer (runtime only): FAILED (run returned %d, %d of 4 tasks ran)\n",
                 rc, ran.load());
    return 1;
  }
  std::printf("install consumer (runtime only): OK\n");
  return 0;
}
