#!/usr/bin/env bash
# benchmarks/net/run.sh — 64-byte echo over loopback: goro::net vs Go's net vs Boost.Asio
# (C++20 coroutines), each server with 2 worker threads (GOMAXPROCS=2), driven by the
# same load generator (goro_net_load, itself a goro program with 2 workers) at 1, 100
# and 1000 connections. Prints requests/s and p50/p99 round-trip latency per server.
#
#   benchmarks/net/run.sh [SECONDS=5]       # builds build/release's targets and go_echo first
#
# Server and generator share the machine's cores: compare the servers with each other
# (ratios), not with numbers from another machine.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
seconds=${1:-5}
build="$root/build/release"
bin="$build/benchmarks/net"
jobs=${GORO_JOBS:-2}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$jobs" --target goro_net_load goro_echo_server asio_echo_server >/dev/null
go_bin="$build/benchmarks/net/go_echo"
(cd "$here/go_echo" && GOFLAGS=-mod=mod go build -o "$go_bin" .)

# Below the ephemeral range (32768 and up on Linux), where the generator's own
# connections could hold the port the next server wants to listen on.
port=$(( 10000 + RANDOM % 20000 ))
server_pid=""
stop_server() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
trap stop_server EXIT

# Starts "$@" in the background and waits until it accepts connections.
start_server() {
  "$@" >/dev/null 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "server $* did not start" >&2
  return 1
}

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "| server | connections | requests/s | p50 us | p99 us |"
echo "|---|---:|---:|---:|---:|"
for server in goro go asio; do
  port=$((port + 1))
  case $server in
    goro) start_server "$bin/goro_echo_server" "127.0.0.1:$port" 2 ;;
    go)   GOMAXPROCS=2 start_server "$go_bin" "127.0.0.1:$port" ;;
    asio) start_server "$bin/asio_echo_server" "$port" 2 ;;
  esac
  for conns in 1 100 1000; do
    line=$("$bin/goro_net_load" "127.0.0.1:$port" "$conns" "$seconds" 64 2)
    rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line")
    p50=$(sed -E 's/.*p50_us=([0-9.]+).*/\1/' <<<"$line")
    p99=$(sed -E 's/.*p99_us=([0-9.]+).*/\1/' <<<"$line")
    echo "| $server | $conns | $rps | $p50 | $p99 |"
  done
  stop_server
done
