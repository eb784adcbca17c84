// Uses the installed goro::debug_server: serves on a free loopback port, writes a
// goroutine profile and the metrics, stops. Non-zero when any step fails.
#include <goro/debug_server.hpp>
#include <goro/goro.hpp>

#include <cstdio>
#include <sstream>

int main() {
  auto server = goro::diag::serve("127.0.0.1:0");
  std::ostringstream profile, metrics;
  const bool wrote = goro::diag::write_profile(profile, "goroutine", 1);
  goro::diag::write_metrics(metrics);
  const bool ok = server.serving() && server.port() > 0 && wrote &&
                  profile.str().rfind("goroutine profile: total", 0) == 0 &&
                  metrics.str().find("goro_tasks ") != std::string::npos;
  std::printf("install consumer (debug server at %s): %s\n", server.url().c_str(), ok ? "OK" : "FAILED");
  server.stop();
  return ok ? 0 : 1;
}
