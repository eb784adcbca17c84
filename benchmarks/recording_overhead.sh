#!/usr/bin/env bash
# What wait recording costs: goro_bench built with recording ON (the normal build) and
# OFF (-DGORO_WAIT_RECORDING=OFF), run interleaved on pingpong, select and skynet.
#
#   benchmarks/recording_overhead.sh          # REPS=5 by default
#   REPS=9 benchmarks/recording_overhead.sh
#   CALLGRIND=0 benchmarks/recording_overhead.sh   # skip the instruction counts
# Prints one table: median ns/op (or ms for skynet) with recording on and off, and the
# relative cost (on/off - 1). Timings on a shared VM move by a few percent from run to
# run, so when valgrind is installed it also prints instructions executed (callgrind,
# which no noise affects) for pingpong and select at procs=1; skynet needs more memory
# mappings than valgrind allows.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPS=${REPS:-5}
ON=$ROOT/build/overhead-on
OFF=$ROOT/build/overhead-off
for dir in "$ON" "$OFF"; do
  flag=ON; [ "$dir" = "$OFF" ] && flag=OFF
  cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DGORO_WAIT_RECORDING=$flag \
    -DGORO_BUILD_TESTS=OFF -DGORO_BUILD_EXAMPLES=OFF -DGORO_BUILD_BENCHMARKS=ON >/dev/null
  cmake --build "$dir" -j2 --target goro_bench >/dev/null
done
CONFIGS=(
  "pingpong procs=1 n=1000000"
  "pingpong procs=2 n=1000000"
  "select procs=1 cap=0 n=1000000"
  "select procs=2 cap=0 n=1000000"
  "skynet procs=1 chan=unbuf"
  "skynet procs=2 chan=unbuf"
)
raw=$(mktemp)
for rep in $(seq 1 "$REPS"); do
  for cfg in "${CONFIGS[@]}"; do
    for side in on off; do
      dir=$ON; [ $side = off ] && dir=$OFF
      # shellcheck disable=SC2086
      line=$("$dir/benchmarks/goro_bench" $cfg)
      echo "recording=$side $line" >>"$raw"
    done
  done
done
python3 - "$raw" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    kv = dict(re.findall(r'(\w+)=(\S+)', line))
    key = (kv['workload'], ' '.join(f'{k}={kv[k]}' for k in ('procs', 'cap', 'chan') if k in kv))
    metric = float(kv['wall_ms'] if kv['workload'] == 'skynet' else kv['ns_per_op'])
    rows.setdefault(key, {}).setdefault(kv['recording'], []).append(metric)
print('| workload | config | unit | recording on | recording off | cost |')
print('|---|---|---|---:|---:|---:|')
for (w, cfg), sides in rows.items():
    on, off = statistics.median(sides['on']), statistics.median(sides['off'])
    unit = 'ms' if w == 'skynet' else 'ns/op'
    print(f'| {w} | {cfg} | {unit} | {on:.1f} | {off:.1f} | {100 * (on / off - 1):+.1f}% |')
PY
rm -f "$raw"

if [ "${CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
  echo
  echo '| workload (callgrind) | instructions on | instructions off | cost | per op |'
  echo '|---|---:|---:|---:|---:|'
  # cfg:ops (round trips, selects)
  for spec in "pingpong procs=1 n=200000:200000" "select procs=1 cap=0 n=100000:100000"; do
    cfg=${spec%%:*}
    ops=${spec##*:}
    declare -A instr=()
    for side in on off; do
      dir=$ON; [ $side = off ] && dir=$OFF
      # shellcheck disable=SC2086
      instr[$side]=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$dir/benchmarks/goro_bench" $cfg 2>&1 >/dev/null | awk '/Collected/ {print $NF}')
    done
    python3 -c "import sys; on, off, ops = map(int, sys.argv[1:4]); print(f'| {sys.argv[4]} | {on:,} | {off:,} | {100 * (on / off - 1):+.2f}% | {(on - off) / ops:.1f} |')" \
      "${instr[on]}" "${instr[off]}" "$ops" "$cfg"
  done
fi
