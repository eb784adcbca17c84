#!/usr/bin/env bash
# benchmarks/net/http.sh — HTTP/1.1 keep-alive "hello" with wrk: examples/leaky_server
# --bench (goro::net, the example's own parser, one task per connection) vs Go's net/http
# (go_http), both with 2 worker threads (--workers 2, GOMAXPROCS=2). Runs are interleaved
# (goro, go, goro, go, ...) so load from elsewhere on the machine hits both alike; prints
# every run and the medians of requests/s and wrk's p50/p99 latency.
#
#   benchmarks/net/http.sh [SECONDS=10] [REPS=3] [CONNECTIONS="10 100"]
#
# Needs wrk (scripts/setup.sh --for-benchmarks). wrk itself runs 2 threads on the same
# machine: compare the two servers with each other, not with numbers from elsewhere.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
seconds=${1:-10}
reps=${2:-3}
connections=${3:-"10 100"}
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/setup.sh --for-benchmarks)" >&2; exit 1; }

build_targets -DGORO_BUILD_EXAMPLES=ON leaky_server
go_bin=$(build_go go_http)
trap stop_server EXIT

start_server() {
  local log
  log=$(mktemp)
  case $1 in   # port 0 (any free port); the address is read from what each prints
    goro) "$build/examples/leaky_server" --bench --workers 2 --port 0 --http-port 0 >"$log" 2>&1 & ;;
    go)   GOMAXPROCS=2 "$go_bin" 127.0.0.1:0 >"$log" 2>&1 & ;;
  esac
  server_pid=$!
  for _ in $(seq 300); do   # up to a minute: the machine may be loaded
    address=$(sed -nE 's/^listening on (127\.0\.0\.1:[0-9]+).*/\1/p; s/.*service .* at http:\/\/(127\.0\.0\.1:[0-9]+).*/\1/p' "$log")
    if [[ -n "$address" ]] && curl -sf --max-time 5 "http://$address/hello" >/dev/null 2>&1; then
      rm -f "$log"
      return 0
    fi
    sleep 0.2
  done
  echo "server $1 did not start:" >&2
  cat "$log" >&2
  return 1
}

# wrk's latency text ("812.00us", "1.20ms", "2.00s") in microseconds.
to_us() { awk '{ v = $1 + 0; if ($1 ~ /ms$/) v *= 1000; else if ($1 ~ /[0-9]s$/) v *= 1000000; printf "%.0f", v }' <<<"$1"; }

raise_fd_limit
declare -A rps p50 p99
echo "| run | server | connections | requests/s | p50 us | p99 us |"
echo "|---:|---|---:|---:|---:|---:|"
for rep in $(seq "$reps"); do
  for server in goro go; do
    start_server "$server"
    for c in $connections; do
      out=$(wrk -t 2 -c "$c" -d "${seconds}s" --latency "http://$address/hello")
      if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "$out" >&2; fi
      r=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
      l50=$(to_us "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
      l99=$(to_us "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
      rps[$server,$c]+="$r "; p50[$server,$c]+="$l50 "; p99[$server,$c]+="$l99 "
      echo "| $rep | $server | $c | $r | $l50 | $l99 |"
    done
    stop_server
  done
done
echo
echo "| server | connections | requests/s (median) | p50 us | p99 us |"
echo "|---|---:|---:|---:|---:|"
for c in $connections; do
  for server in goro go; do
    echo "| $server | $c | $(median <<<"${rps[$server,$c]}") | $(median <<<"${p50[$server,$c]}") | $(median <<<"${p99[$server,$c]}") |"
  done
done
