#!/usr/bin/env bash
# goro::RWMutex vs std::shared_mutex vs Go's sync.RWMutex: medians of REPS runs.
#
#   benchmarks/sync_compare.sh                # build both, REPS=5, print a markdown table
#   REPS=3 N=1000000 benchmarks/sync_compare.sh
#   NO_BUILD=1 BUILD_DIR=build/rel benchmarks/sync_compare.sh
#
# Configs: mode excl|shared|mixed x tasks 1 (uncontended) | 4 (contended) x procs 1|2.
# Each rep runs the three implementations of a config back to back (one process each),
# so slow phases of a shared machine hit all three alike. Raw lines go to $OUT/raw.txt.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build/release}
OUT=${OUT:-$BUILD_DIR/sync_compare}
REPS=${REPS:-5}
N=${N:-2000000}
NO_BUILD=${NO_BUILD:-0}
mkdir -p "$OUT"
GOBIN=$BUILD_DIR/benchmarks/rwmutex-bench
if [ "$NO_BUILD" != 1 ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DGORO_BUILD_BENCHMARKS=ON >/dev/null
  cmake --build "$BUILD_DIR" -j2 --target sync_bench >/dev/null
  (cd "$HERE/go" && GOFLAGS=-mod=mod GOPROXY=off go build -o "$GOBIN" ./rwmutex)
fi
RAW=$OUT/raw.txt
: > "$RAW"
for rep in $(seq 1 "$REPS"); do
  for procs in 1 2; do
    for tasks in 1 4; do
      for mode in excl shared mixed; do
        args="mode=$mode procs=$procs tasks=$tasks n=$N"
        "$BUILD_DIR/benchmarks/sync_bench" impl=goro $args >> "$RAW"
        "$BUILD_DIR/benchmarks/sync_bench" impl=std $args >> "$RAW"
        "$GOBIN" $args >> "$RAW"
      done
    done
  done
done
python3 - "$RAW" <<'PY'
import sys, statistics, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split())
    runs[(int(kv["procs"]), int(kv["tasks"]), kv["mode"], kv["impl"])].append(float(kv["ns_per_op"]))
print("| procs | tasks | mode | goro ns/op | std::shared_mutex ns/op | Go sync.RWMutex ns/op |")
print("|---|---|---|---|---|---|")
for procs in (1, 2):
    for tasks in (1, 4):
        for mode in ("excl", "shared", "mixed"):
            cells = [statistics.median(runs[(procs, tasks, mode, impl)]) for impl in ("goro", "std", "go")]
            print(f"| {procs} | {tasks} | {mode} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
PY
