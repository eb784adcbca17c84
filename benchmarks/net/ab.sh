#!/usr/bin/env bash
# benchmarks/net/ab.sh — interleaved A/B of echo servers under one load generator: each
# repetition runs every server once per connection count, in turn, so the machine's load
# hits them alike. Prints the median of each metric per server and connection count, and
# each server's median ratio to the first one.
#
#   benchmarks/net/ab.sh LOAD_BIN SECONDS REPS CONNS SERVER...
#   benchmarks/net/ab.sh build/base/goro_net_load 2 5 "1 100 1000" \
#       old=build/base/goro_echo_server new=build/release/benchmarks/net/goro_echo_server \
#       go=build/base/go_echo
#
# A SERVER is NAME=BINARY; a binary named go_echo gets GOMAXPROCS=2, asio_echo_server takes
# a port, the others ADDRESS WORKERS=2. Columns: requests/s, p50 and p99 round trip (us),
# and the server's CPU time (user+system) per request (us).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load=$1 seconds=$2 reps=$3 conns=$4
shift 4
names=() bins=()
for s in "$@"; do names+=("${s%%=*}"); bins+=("${s#*=}"); done
out=$(mktemp)
trap 'rm -f "$out"; stop_server' EXIT
raise_fd_limit
port=$(random_port)
hz=$(getconf CLK_TCK)

start() {  # start <binary> <port>: sets server_pid
  case $(basename "$1") in
    go_echo) GOMAXPROCS=2 "$1" "127.0.0.1:$2" >/dev/null 2>&1 & ;;
    asio_echo_server) "$1" "$2" 2 >/dev/null 2>&1 & ;;
    *) "$1" "127.0.0.1:$2" 2 >/dev/null 2>&1 & ;;
  esac
  server_pid=$!
  wait_for_port "$2" || { echo "server $1 did not start" >&2; return 1; }
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

for ((rep = 0; rep < reps; rep++)); do
  for c in $conns; do
    for i in "${!names[@]}"; do
      port=$((port + 1))
      start "${bins[$i]}" "$port"
      before=$(cpu_ticks "$server_pid")
      line=$("$load" "127.0.0.1:$port" "$c" "$seconds" 64 2)
      after=$(cpu_ticks "$server_pid")
      stop_server
      rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line")
      req=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
      p50=$(sed -E 's/.*p50_us=([0-9.]+).*/\1/' <<<"$line")
      p99=$(sed -E 's/.*p99_us=([0-9.]+).*/\1/' <<<"$line")
      cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v r="$req" 'BEGIN{printf "%.2f", t / hz * 1e6 / r}')
      echo "${names[$i]} $c $rps $p50 $p99 $cpu $rep" >>"$out"
      echo "rep=$rep ${names[$i]} conns=$c rps=$rps p50=$p50 p99=$p99 cpu_us_per_req=$cpu" >&2
    done
  done
done

python3 - "$out" "${names[@]}" <<'EOF'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
names = sys.argv[2:]
conns = sorted({int(r[1]) for r in rows})
print("| server | conns | requests/s | p50 us | p99 us | server CPU us/req | rps / %s |" % names[0])
print("|---|---:|---:|---:|---:|---:|---:|")
for c in conns:
    by = {n: [r for r in rows if r[0] == n and int(r[1]) == c] for n in names}
    base = {int(r[6]): float(r[2]) for r in by[names[0]]}
    for n in names:
        med = lambda k: st.median(float(r[k]) for r in by[n])
        ratio = st.median(float(r[2]) / base[int(r[6])] for r in by[n] if base.get(int(r[6])))
        print(f"| {n} | {c} | {med(2):.0f} | {med(3):.1f} | {med(4):.1f} | {med(5):.2f} | {ratio:.2f} |")
EOF
