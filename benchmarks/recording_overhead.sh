#!/usr/bin/env bash
# What wait recording costs: goro_bench built with recording ON (the normal build) and
# OFF (-DGORO_WAIT_RECORDING=OFF), run interleaved on pingpong, select and skynet.
#
#   benchmarks/recording_overhead.sh          # REPS=5 by default
#   REPS=9 benchmarks/recording_overhead.sh
#   CALLGRIND=0 benchmarks/recording_overhead.sh   # skip the instruction counts
#   ALIGN=1 benchmarks/recording_overhead.sh       # both builds with aligned functions/loops
# Prints one table: the cost (on/off - 1) as the median over reps of each back-to-back
# pair's ratio, with a 95% bootstrap interval (how far chance alone moves it with this
# many runs), and for reference each side's median and minimum and the cost by those.
# Timings on a shared VM move by a few percent from run to run, so when valgrind is
# installed it also prints instructions executed (callgrind, which no noise affects) for
# pingpong, select and skynet at procs=1 (skynet with 100,000 leaves: a million needs more
# memory mappings than valgrind allows). Two builds that differ by a few instructions also
# differ in where the hot loops land relative to cache lines and branch-predictor slots,
# which alone can move a timing by ±5% here either way; ALIGN=1 builds both sides with
# -falign-functions=64 -falign-loops=32 so that placement matches.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPS=${REPS:-5}
ALIGN=${ALIGN:-0}
ON=$ROOT/build/overhead-on
OFF=$ROOT/build/overhead-off
CXXFLAGS_EXTRA=
if [ "$ALIGN" = 1 ]; then
  ON=$ROOT/build/overhead-aligned-on
  OFF=$ROOT/build/overhead-aligned-off
  CXXFLAGS_EXTRA="-falign-functions=64 -falign-loops=32"
fi
for dir in "$ON" "$OFF"; do
  flag=ON; [ "$dir" = "$OFF" ] && flag=OFF
  cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DGORO_WAIT_RECORDING=$flag \
    "-DCMAKE_CXX_FLAGS=$CXXFLAGS_EXTRA" \
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
# Within a rep the two builds of a config run back to back, and which goes first alternates
# between reps, so that whatever running first does (after a different workload) is not
# charged to one side.
for rep in $(seq 1 "$REPS"); do
  order="on off"; [ $((rep % 2)) = 0 ] && order="off on"
  for cfg in "${CONFIGS[@]}"; do
    for side in $order; do
      dir=$ON; [ $side = off ] && dir=$OFF
      # shellcheck disable=SC2086
      line=$("$dir/benchmarks/goro_bench" $cfg)
      echo "recording=$side rep=$rep $line" >>"$raw"
    done
  done
done
python3 - "$raw" <<'PY'
import random, re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    kv = dict(re.findall(r'(\w+)=(\S+)', line))
    key = (kv['workload'], ' '.join(f'{k}={kv[k]}' for k in ('procs', 'cap', 'chan') if k in kv))
    metric = float(kv['wall_ms'] if kv['workload'] == 'skynet' else kv['ns_per_op'])
    rows.setdefault(key, {}).setdefault(kv['recording'], {})[kv['rep']] = metric
# This VM's speed drifts with the load its host puts on it (pingpong: ~100 to ~140 ns per
# round trip for the same binary), so a median of each side moves by several percent with
# how many of its runs drew a slow period. The two runs of a rep are back to back, and
# their timings correlate strongly (r ~0.6-0.8 here), so the cost is best read from
# the pairs: the median over reps of on/off - 1. The table gives that, with a 95% bootstrap
# interval (reps resampled with replacement, 2,000 times), and each side's median and
# minimum for reference.
def paired_cost(on, off):
    return statistics.median(a / b - 1 for a, b in zip(on, off))
def paired_interval(on, off, rounds=2000):
    rng = random.Random(1)
    pairs = list(zip(on, off))
    costs = []
    for _ in range(rounds):
        sample = rng.choices(pairs, k=len(pairs))
        costs.append(paired_cost([a for a, _ in sample], [b for _, b in sample]))
    costs.sort()
    return costs[int(0.025 * rounds)], costs[int(0.975 * rounds) - 1]
print(f'runs per side: {max(len(s["on"]) for s in rows.values())}')
print('| workload | config | unit | cost: median of pairs | 95% interval | on: median | off: median | cost by medians | on: min | off: min | cost by minima |')
print('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
for (w, cfg), sides in rows.items():
    reps = sorted(set(sides['on']) & set(sides['off']))
    on_runs, off_runs = [sides['on'][r] for r in reps], [sides['off'][r] for r in reps]
    on, off = statistics.median(on_runs), statistics.median(off_runs)
    on_min, off_min = min(on_runs), min(off_runs)
    low, high = paired_interval(on_runs, off_runs)
    unit = 'ms' if w == 'skynet' else 'ns/op'
    print(f'| {w} | {cfg} | {unit} | {100 * paired_cost(on_runs, off_runs):+.1f}% '
          f'| {100 * low:+.1f}%..{100 * high:+.1f}% '
          f'| {on:.1f} | {off:.1f} | {100 * (on / off - 1):+.1f}% '
          f'| {on_min:.1f} | {off_min:.1f} | {100 * (on_min / off_min - 1):+.1f}% |')
PY
[ -n "${KEEP_RAW:-}" ] && cp "$raw" "$KEEP_RAW"
rm -f "$raw"

if [ "${CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
  echo
  echo '| workload (callgrind) | instructions on | instructions off | cost | per op |'
  echo '|---|---:|---:|---:|---:|'
  # cfg:ops (round trips, selects, tasks)
  for spec in "pingpong procs=1 n=200000:200000" "select procs=1 cap=0 n=100000:100000" \
      "skynet procs=1 chan=unbuf size=100000:111111"; do
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
