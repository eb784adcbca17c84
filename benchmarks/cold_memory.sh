#!/usr/bin/env bash
# goro vs Go on the memory-heavy workloads, each process running on guest memory that the
# VM's host has not backed yet: this VM kind's slow mode for first touches of memory.
#
#   benchmarks/cold_memory.sh                      # spawn and skynet, 3 reps, after compare.sh built them
#   REPS=5 CONFIGS='spawn procs=1 n=1000000' benchmarks/cold_memory.sh
#
# Why: the host backs a guest page only when the guest first touches it, and takes back
# memory the guest has freed in large blocks. A fresh 4 KiB page then costs 15-50 us
# instead of ~1.3 us (measured here: `cold_memory.py probe`), so a process whose fresh
# pages come from such memory runs in a slow mode that has nothing to do with its code,
# and the more memory a workload touches, the slower. Most benchmark processes never see
# it: the guest kernel hands out recently freed (backed) pages first.
# How: a first holder takes free memory in 1 GiB steps until a probe of fresh pages is cold
# (COLD_US, default 8 us per page); before each run another holder takes as much memory as
# the previous run gave back (MemFree's rise, at least its peak RSS), so every run's fresh
# pages come from cold memory. Each run turns the memory it touched warm for good (until
# the host takes it back), so the cold memory a machine has left runs out: a run needs
# roughly the set-up's holders (all warm memory) plus the sum of its runs' footprints.
# Each raw line carries fresh_page_us: what a fresh page cost just before that run (a run
# whose figure is near the warm ~1.3 us did not run cold). The holders are killed at exit.
# Builds nothing: run compare.sh first.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build/release}
GORO=$BUILD_DIR/benchmarks/goro_bench
GOBIN=$BUILD_DIR/benchmarks/gobench
REPS=${REPS:-3}
COLD_US=${COLD_US:-8}
RESERVE_MB=${RESERVE_MB:-3072}  # never hold memory past MemAvailable minus this
OUT=${OUT:-$BUILD_DIR/cold_memory}
mkdir -p "$OUT"
if [ -n "${CONFIGS:-}" ]; then
  mapfile -t CONFIG_LIST <<<"$CONFIGS"
else
  CONFIG_LIST=("spawn procs=1 n=1000000" "spawn procs=2 n=1000000" "skynet procs=1 chan=unbuf"
               "skynet procs=2 chan=unbuf")
fi
[ -x "$GORO" ] && [ -x "$GOBIN" ] || { echo "missing $GORO or $GOBIN: run benchmarks/compare.sh first" >&2; exit 2; }

holders=()
cleanup() { if [ ${#holders[@]} -gt 0 ]; then kill "${holders[@]}" 2>/dev/null || true; fi; }
trap cleanup EXIT
mem_kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
# hold MiB: a holder touches that much fresh memory plus 16 MiB whose first touches it
# times, and keeps it all until killed; sets US to that time per 4 KiB page, which is
# what the next fresh page costs (nothing is freed in between, so nothing warm is left).
hold() {
  local ready=$OUT/.held.$RANDOM
  python3 "$HERE/cold_memory.py" hold "$1" >"$ready" &
  holders+=($!)
  until grep -q '^held' "$ready" 2>/dev/null; do
    kill -0 "${holders[-1]}" 2>/dev/null || { echo "a holder of $1 MiB failed" >&2; exit 1; }
    sleep 0.05
  done
  US=$(awk '{ print $2 }' "$ready")
  rm -f "$ready"
}

held=0
US=$(python3 "$HERE/cold_memory.py" probe 64)
echo "fresh 4 KiB page before set-up: $US us" >&2
while awk -v u="$US" -v c="$COLD_US" 'BEGIN { exit !(u < c) }'; do
  avail_mb=$(( $(mem_kb MemAvailable) / 1024 ))
  if [ $((avail_mb - 1024)) -lt "$RESERVE_MB" ]; then
    echo "no cold memory left: holding $held MiB, fresh pages still cost $US us (< $COLD_US)" >&2
    exit 3
  fi
  hold 1024
  held=$((held + 1024))
  echo "holding $held MiB: fresh 4 KiB page $US us" >&2
done
baseline_kb=$(mem_kb MemFree)
last_rss_mb=0

for rep in $(seq 1 "$REPS"); do
  for cfg in "${CONFIG_LIST[@]}"; do
    order="goro go"; [ $((rep % 2)) = 0 ] && order="go goro"
    for impl in $order; do
      bin=$GORO; [ "$impl" = go ] && bin=$GOBIN
      # What the last run gave back is warm now: hold it (by MemFree, and at least the
      # run's peak RSS, which MemFree can trail while the kernel finishes the exit).
      freed_mb=$(( ($(mem_kb MemFree) - baseline_kb) / 1024 ))
      [ "$freed_mb" -ge "$last_rss_mb" ] || freed_mb=$last_rss_mb
      hold "$((freed_mb + 16))"
      baseline_kb=$(mem_kb MemFree)
      # shellcheck disable=SC2086  # cfg is a list of words
      line=$("$bin" $cfg) || { echo "$impl FAILED: $cfg" >&2; exit 1; }
      last_rss_mb=$(grep -o 'peak_rss_mb=[0-9]*' <<<"$line" | cut -d= -f2)
      last_rss_mb=${last_rss_mb:-0}
      echo "$line mode=cold fresh_page_us=$US rep=$rep" | tee -a "$OUT/raw.txt"
    done
  done
done
# Medians per config of the runs that were cold (fresh_page_us >= COLD_US), goro/Go.
python3 - "$OUT/raw.txt" "$COLD_US" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    kv = dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
    if kv.get("mode") != "cold":
        continue
    metric = "wall_ms" if kv["workload"] == "skynet" else "ns_per_op"
    key = " ".join([kv["workload"]] + [f"{k}={kv[k]}" for k in ("procs", "chan", "n") if k in kv])
    cold = float(kv["fresh_page_us"]) >= float(sys.argv[2])
    runs.setdefault(key, {}).setdefault(kv["impl"], []).append((float(kv[metric]), cold, kv.get("peak_rss_mb", "-")))
print("| config | unit | goro cold runs: median (min–max) | Go cold runs | goro/Go | warm runs left out (goro, Go) | peak RSS MB (goro, Go) |")
print("|---|---|---:|---:|---:|---|---|")
for key, sides in runs.items():
    unit = "ms wall" if key.startswith("skynet") else "ns/op"
    cells, meds = [], []
    for impl in ("goro", "go"):
        cold = [v for v, c, _ in sides.get(impl, []) if c]
        if cold:
            meds.append(statistics.median(cold))
            cells.append(f"{meds[-1]:.0f} ({min(cold):.0f}–{max(cold):.0f}) ×{len(cold)}")
        else:
            meds.append(None)
            cells.append("-")
    ratio = f"{meds[0] / meds[1]:.2f}x" if None not in meds else "-"
    warm = ", ".join(str(sum(1 for _, c, _ in sides.get(i, []) if not c)) for i in ("goro", "go"))
    def median_rss(impl):
        values = [float(r) for _, _, r in sides.get(impl, []) if r != "-"]
        return f"{statistics.median(values):.1f}" if values else "-"
    rss = ", ".join(median_rss(i) for i in ("goro", "go"))
    print(f"| {key} | {unit} | {cells[0]} | {cells[1]} | {ratio} | {warm} | {rss} |")
PY
