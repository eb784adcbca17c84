#!/usr/bin/env bash
# Installs the Debian packages goro needs to build, test and benchmark.
#
#   scripts/setup.sh            # compiler, CMake, Boost.Context, moodycamel, spdlog, zlib,
#                               # cpp-httplib, GoogleTest, Google Benchmark
#   scripts/setup.sh --with-go  # ... and the Go toolchain (for the Go side of the benchmarks)
#   scripts/setup.sh --for-tests  # ... and the clients the tests run against goro's output:
#                               # Go (go tool pprof), promtool (package prometheus) and
#                               # Chromium (renders the status page headless);
#                               # scripts/test.sh passes this, scripts/demo.sh does not
#   scripts/setup.sh --for-benchmarks  # ... Go and Boost.Fiber, the peers compare.sh runs,
#                                   # and wrk, the HTTP load generator of benchmarks/net/http.sh
#
# Idempotent: when everything is installed already it only asks dpkg and exits
# (well under a second). Runs apt-get update only when something is missing.
# Works as root; otherwise uses sudo when it is available.
set -euo pipefail

packages=(
  g++                     # the C++20 compiler (g++ 12 on Debian 12)
  cmake                   # the build system (>= 3.20; goro's tests need 3.24)
  make                    # CMake's default generator
  libboost-context-dev    # Boost.Context: the fibers goro's tasks run on
  libconcurrentqueue-dev  # moodycamel::ConcurrentQueue: the scheduler's global run queue
  libspdlog-dev           # spdlog: the "goro" logger
  zlib1g-dev              # zlib: gzip for pprof profiles (goro/profile.hpp)
  libgcc-12-dev           # GCC's libbacktrace (libbacktrace.a, backtrace.h; no package of its own):
                          # function, file and line of captured task stacks (diag/src/symbolize.cpp)
  libcpp-httplib-dev      # cpp-httplib: the HTTP client of the debug endpoint's tests
  libgtest-dev            # GoogleTest: unit tests and goro::gtest
  libbenchmark-dev        # Google Benchmark: benchmarks/
  panicparse              # Go's goroutine-dump parser: tests check that it reads goro's Go-format dump
)

usage() { awk 'NR == 1 || /^# shellcheck/ {next} /^#/ {sub(/^# ?/, ""); print; next} {exit}' "$0"; }

for arg in "$@"; do
  case "$arg" in
    --with-go) packages+=(golang-go) ;;
    --for-tests) packages+=(golang-go prometheus chromium) ;;
    --for-benchmarks) packages+=(golang-go libboost-fiber-dev wrk) ;;
    -h|--help) usage; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup.sh: dpkg-query not found: not a Debian system; install these yourself: ${packages[*]}" >&2
  exit 0
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup.sh: installing missing packages: ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "setup.sh: not root and sudo is not available; run as root:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup.sh: done"
