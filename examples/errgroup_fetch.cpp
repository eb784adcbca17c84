// errgroup_fetch: task results and groups.
//   * goro::async / goro::Future: one page fetched in the background, its size collected
//     later with get();
//   * goro::ErrGroup: a batch of pages fetched at most 3 at a time; the first failure
//     cancels the group's context, so the other fetches stop early, and wait() rethrows it;
//   * goro::Semaphore: a 64 KiB buffer budget shared by every fetch (weighted units);
//   * goro::num_tasks(): no task is left behind at the end.
// "Fetching" is simulated with a delay, so the example needs no network.
#include <goro/goro.hpp>

#include <chrono>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

goro::Semaphore buffer_budget(64);  // KiB of buffers, shared by every fetch

// Pretends to download `path`: holds `kib` of the buffer budget for a while, stops early
// when ctx is cancelled. Throws for the page that does not exist.
std::size_t fetch(const goro::Context& ctx, const std::string& path, std::int64_t kib) {
  if (path == "/missing") throw std::runtime_error("GET " + path + ": 404 not found");
  buffer_budget.acquire(kib);  // parks while other fetches hold the budget
  std::optional<std::monostate> cancelled;
  std::optional<std::chrono::steady_clock::time_point> done;
  const bool stopped = goro::select(goro::recv_case(ctx.done(), cancelled),
                                    goro::recv_case(goro::after(20ms), done)) == 0;
  buffer_budget.release(kib);
  if (stopped) throw std::runtime_error("GET " + path + ": cancelled");
  return static_cast<std::size_t>(kib) * 1024;
}

}  // namespace

int main() {
  return goro::run([] {
    // A result from a task, collected later.
    goro::Future<std::size_t> home = goro::async([] { return fetch({}, "/", 16); });

    // A group: at most 3 fetches at once; the missing page fails the whole batch.
    goro::ErrGroup group;
    group.set_limit(3);
    const std::vector<std::string> pages = {"/a", "/b", "/missing", "/c", "/d", "/e"};
    for (const std::string& page : pages)
      group.go([page](goro::Context ctx) { fetch(ctx, page, 32); });
    try {
      group.wait();
      std::cout << "batch: all pages fetched\n";
    } catch (const std::exception& e) {
      std::cout << "batch failed: " << e.what() << "\n";  // the first error, always the 404
    }
    std::cout << "batch context cancelled: " << (group.context().cancelled() ? "yes" : "no")
              << "\n";

    std::cout << "home page: " << home.get() << " bytes\n";
    // Cheap enough to poll (it reads one counter per worker): wait for the finished
    // tasks to be freed, until only this one is left.
    for (int i = 0; i < 1000 && goro::num_tasks() > 1; ++i) goro::sleep_for(1ms);
    std::cout << "tasks left besides main: " << goro::num_tasks() - 1 << "\n";
  });
}
