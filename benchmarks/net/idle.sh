#!/usr/bin/env bash
# benchmarks/net/idle.sh — resident memory per idle connection: the goro::net echo server
# (goro_echo_server) vs Go's (go_echo), each holding N connections that send nothing, and
# goro_lazy_echo_server (its handler's buffer only in a frame entered once readable).
# For each server: VmRSS from /proc/<pid>/status before the connections and once all of
# them are accepted and their handlers wait in read; (after - before) / N is the cost of
# one connection (its task or goroutine, its stack, its buffer, the socket's bookkeeping).
#
#   benchmarks/net/idle.sh [N=10000] [REPS=3]    # builds build/release's targets and go_echo
#   SERVERS="goro go" benchmarks/net/idle.sh     # a subset
#
# The soft RLIMIT_NOFILE is raised to the hard limit (N + a few fds are needed on each side).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
conns=${1:-10000}
reps=${2:-3}
servers=${SERVERS:-"goro go goro-lazy"}

build_targets goro_idle_conns goro_echo_server goro_lazy_echo_server
go_bin=$(build_go go_echo)

raise_fd_limit
if (( $(ulimit -n) < conns + 64 )); then
  echo "RLIMIT_NOFILE hard limit $(ulimit -Hn) is too low for $conns connections" >&2
  exit 1
fi

client_pid="" fifo=""
cleanup() {
  [[ -n "$client_pid" ]] && { kill "$client_pid" 2>/dev/null || true; wait "$client_pid" 2>/dev/null || true; }
  stop_server
  [[ -n "$fifo" ]] && rm -rf "$(dirname "$fifo")"
  client_pid="" fifo=""
}
trap cleanup EXIT

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
open_fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# One measurement: sets bytes (per connection), before and after (KiB).
measure() {
  local server=$1 log
  log=$(mktemp)
  case $server in   # port 0: each server prints "listening on 127.0.0.1:N"
    goro) "$bin/goro_echo_server" 127.0.0.1:0 2 >"$log" & ;;
    goro-lazy) "$bin/goro_lazy_echo_server" 127.0.0.1:0 2 >"$log" & ;;
    go)   GOMAXPROCS=2 "$go_bin" 127.0.0.1:0 >"$log" & ;;
  esac
  server_pid=$!
  for _ in $(seq 300); do
    grep -q '^listening on' "$log" && break
    sleep 0.1
  done
  address=$(awk '/^listening on/ { print $3 }' "$log")
  rm -f "$log"
  [[ -n "$address" ]] || { echo "$server did not start" >&2; return 1; }
  local fds0
  fds0=$(open_fds "$server_pid")
  before=$(rss_kib "$server_pid")
  fifo=$(mktemp -d)/hold
  mkfifo "$fifo"
  "$bin/goro_idle_conns" "$address" "$conns" <"$fifo" >"$fifo.out" &
  client_pid=$!
  exec 4>"$fifo"  # holds the client's stdin open
  for _ in $(seq 600); do
    grep -q '^open' "$fifo.out" 2>/dev/null && (( $(open_fds "$server_pid") >= fds0 + conns )) && break
    if ! kill -0 "$client_pid" 2>/dev/null; then echo "client failed" >&2; return 1; fi
    sleep 0.1
  done
  sleep 1  # every handler has reached its read
  after=$(rss_kib "$server_pid")
  exec 4>&-
  wait "$client_pid" || true
  client_pid=""
  stop_server
  rm -rf "$(dirname "$fifo")"; fifo=""
  bytes=$(( (after - before) * 1024 / conns ))
}

declare -A per_conn
echo "| run | server | RSS before KiB | RSS with $conns conns KiB | bytes/conn |"
echo "|---:|---|---:|---:|---:|"
for rep in $(seq "$reps"); do
  for server in $servers; do   # interleaved, so that load on the machine hits both alike
    measure "$server"
    per_conn[$server]+="$bytes "
    echo "| $rep | $server | $before | $after | $bytes |"
  done
done
echo
for server in $servers; do
  echo "median $server: $(median <<<"${per_conn[$server]}") bytes per idle connection"
done
