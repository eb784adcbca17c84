// examples/oom_hunt.cpp — a service whose memory climbs until the OOM killer comes, and
// the endpoints that find the line behind it (docs/diagnostics-oom.md walks the hunt).
//
// Each upload gets a channel of 4 KiB chunks (32 KiB of buffer) and a writer task that
// stages chunks in a 24 KiB buffer on its stack. When the client aborts an upload (one in
// four here), handle_upload returns without closing the channel, so the writer waits
// for chunks forever, holding its stack and the channel's buffer: about 60 KiB leaked per
// aborted upload. (The fix, --fixed: close the channel on every path out.)
//
//   oom_hunt [--port N] [--duration S] [--uploads N] [--fixed]
//     --port N       serve the debug endpoint on 127.0.0.1:N (default 6060; if it is
//                    taken, any free port; 0: any free port). The address is printed.
//     --duration S   exit after S seconds (default: until POST /quit or Ctrl-C)
//     --uploads N    uploads to simulate, one every 2 ms (default 4000)
//     --fixed        the fixed program: no upload leaks
//
//   curl -s http://127.0.0.1:6060/metrics | grep -E 'resident|goro_memory|goro_tasks '
//   go tool pprof -sample_index=inuse_space -top http://127.0.0.1:6060/debug/pprof/heap
#include <goro/debug_server.hpp>
#include <goro/goro.hpp>

#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

using namespace std::chrono_literals;

namespace {

using Chunk = std::array<char, 4096>;
bool g_fixed = false;

// Writes an upload's chunks to "storage" (here: folds them into a checksum), staging
// them in a buffer on its stack.
void write_chunks(goro::Channel<Chunk> chunks, goro::Channel<int> done) {
  char staging[24 * 1024];
  std::memset(staging, 0, sizeof staging);
  unsigned checksum = 0;
  for (const Chunk& c : chunks) {  // until the channel is closed: forever, if never
    std::memcpy(staging, c.data(), c.size());
    for (std::size_t i = 0; i < sizeof staging; i += 512) checksum += static_cast<unsigned char>(staging[i]);
  }
  done.close();
  if (checksum == 0xdeadbeef) std::cout << "";  // keeps the buffer in use
}

// One upload of `chunks` chunks; the client aborts it after the first when `aborted`.
void handle_upload(int chunks_to_send, bool aborted) {
  goro::Channel<Chunk> chunks(8);
  goro::Channel<int> done;
  goro::go_spawn(goro::SpawnOptions{"upload writer"}, [chunks, done] { write_chunks(chunks, done); });
  Chunk chunk{};
  for (int i = 0; i < chunks_to_send; ++i) {
    chunk[0] = static_cast<char>(i);
    chunks.send(chunk);
    if (aborted) {
      // The bug: the client went away, and this path forgets to close the channel.
      if (g_fixed) chunks.close();
      return;
    }
  }
  chunks.close();
  done.recv();  // the writer has stored everything
}

void drive_uploads(int uploads, goro::Channel<int> stop) {
  for (int i = 0; i < uploads; ++i) {
    goro::go_spawn(goro::SpawnOptions{"upload"}, [i] { handle_upload(4, i % 4 == 3); });
    std::optional<int> closed;
    std::optional<std::chrono::steady_clock::time_point> tick;
    if (goro::select(goro::recv_case(stop, closed), goro::recv_case(goro::after(2ms), tick)) == 0) return;
  }
}

[[noreturn]] void usage(const char* why) {
  std::cerr << "oom_hunt: " << why << "\nusage: oom_hunt [--port N] [--duration S] [--uploads N] [--fixed]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int port = 6060, uploads = 4000;
  std::optional<double> duration_s;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--fixed") {
      g_fixed = true;
    } else if ((arg == "--port" || arg == "--duration" || arg == "--uploads") && i + 1 < argc) {
      char* end = nullptr;
      const double v = std::strtod(argv[++i], &end);
      if (*end != '\0' || v < 0) usage("bad number");
      if (arg == "--port") port = static_cast<int>(v);
      else if (arg == "--uploads") uploads = static_cast<int>(v);
      else duration_s = v;
    } else {
      usage("unknown argument");
    }
  }

  goro::Config cfg;
  cfg.trend_period = 1s;  // RSS and goro's memory over time, for /debug/goro/
  cfg.leak_policy = goro::LeakPolicy::off;  // the hunt happens while it runs
  // A server idle between requests has every task blocked: not a deadlock.
  cfg.deadlock_grace = std::chrono::milliseconds(0);
  return goro::run(
      [&] {
        goro::Channel<int> quit;
        goro::diag::ServeOptions opts;
        opts.routes.push_back({.path = "/quit",
                               .handler = [quit]() mutable {
                                 quit.close();
                                 return std::string("bye\n");
                               },
                               .method = "POST"});
        goro::diag::DebugServer server;
        try {
          server = goro::diag::serve("127.0.0.1:" + std::to_string(port), opts);
        } catch (const std::runtime_error&) {
          server = goro::diag::serve("127.0.0.1:0", opts);  // taken: any free port
        }
        std::cout << "oom_hunt: debug endpoint at " << server.url() << "/debug/pprof/"
                  << (g_fixed ? " (fixed)" : "") << "\n"
                  << "  curl " << server.url() << "/metrics\n"
                  << "  go tool pprof -sample_index=inuse_space -top " << server.url()
                  << "/debug/pprof/heap\n"
                  << "  curl -X POST " << server.url() << "/quit    (exit)" << std::endl;

        goro::Channel<int> stop;
        goro::go_spawn(goro::SpawnOptions{"traffic"}, [stop, uploads] { drive_uploads(uploads, stop); });
        std::optional<int> closed;
        std::optional<std::chrono::steady_clock::time_point> deadline;
        if (duration_s) {
          const auto d = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(*duration_s));
          goro::select(goro::recv_case(quit, closed), goro::recv_case(goro::after(d), deadline));
        } else {
          quit.recv();
        }
        stop.close();
        const goro::diag::MemoryUsage m = goro::diag::memory();
        std::cout << "oom_hunt: exiting; goro holds " << m.total_bytes() / 1024 << " KiB in "
                  << goro::num_tasks() << " tasks" << std::endl;
        for (const goro::diag::PossibleLeak& leak : goro::diag::possible_leaks())
          std::cout << "  " << leak.message << "\n";
      },
      cfg);
}
