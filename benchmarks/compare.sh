#!/usr/bin/env bash
# goro vs Go and Boost.Fiber on the benchmark workloads (benchmarks/README.md, "Workloads").
#
#   benchmarks/compare.sh              # build, 3 reps of every config, markdown table
#   REPS=5 benchmarks/compare.sh       # more repetitions (each rep is a fresh process)
#   QUICK=1 benchmarks/compare.sh      # ~10x smaller counts (smoke test, well under a minute)
#   FILTER='pingpong|select' benchmarks/compare.sh   # only configs matching the regex
#   NO_GO=1 benchmarks/compare.sh      # no Go column (also automatic when `go` is missing)
#   NO_FIBER=1 benchmarks/compare.sh   # no Boost.Fiber column (also automatic without Boost.Fiber)
#   NO_BUILD=1 benchmarks/compare.sh   # use the binaries already built
#
# Everything it runs is in this repository: goro_bench (workloads.cpp), the Go version in
# benchmarks/go (built offline: GOFLAGS=-mod=mod GOPROXY=off; needs golang-go) and the
# Boost.Fiber version, fiber_bench (peers/fiber/fiber_bench.cpp; CMake builds it when
# libboost-fiber-dev is installed: scripts/setup.sh --for-benchmarks installs Go and it).
# Boost.Fiber runs in its representative configuration per workload: launch=dispatch for
# skynet and spawn (launch=post needs ~10 GB for skynet), work_stealing without suspend for
# pingpong at procs=2, pooled 16 KiB stacks for parked; skynet unbuffered at procs=1 is
# left out. Its select is a polling emulation (Boost.Fiber has no select).
# Builds into $BUILD_DIR (default build/release, configured Release with benchmarks).
# Each config runs REPS times; within a rep the goro and Go runs of the same config are
# adjacent (their order alternates between reps), so slow phases of a shared machine hit
# both alike.
# Output: the tables on stdout (compare.py: all runs, then split by the VM's fast and slow
# modes, with ratios within a mode; MODE_GAP sets the split); in $OUT (default
# $BUILD_DIR/compare): raw.txt (every result line, with rep=N and cpu_ms=, the process's
# user+sys CPU time; failed runs as status=FAILED lines), table.md, env.txt, stderr.log.
# Exits 1 when any run failed (wrong result, crash, or timeout after $TMO seconds).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build/release}
OUT=${OUT:-$BUILD_DIR/compare}
REPS=${REPS:-3}
QUICK=${QUICK:-0}
FILTER=${FILTER:-}
TMO=${TMO:-120}
JOBS=${JOBS:-2}
NO_GO=${NO_GO:-0}
NO_BUILD=${NO_BUILD:-0}
T_START=$(date +%s.%N)
mkdir -p "$BUILD_DIR" "$OUT"

GORO=$BUILD_DIR/benchmarks/goro_bench
GOBIN=$BUILD_DIR/benchmarks/gobench
FIBERBIN=$BUILD_DIR/benchmarks/fiber_bench
NO_FIBER=${NO_FIBER:-0}
HAVE_GO=0
if [ "$NO_GO" != 1 ] && command -v go >/dev/null 2>&1; then HAVE_GO=1; fi

if [ "$NO_BUILD" != 1 ]; then
  echo "== build goro_bench (Release) in $BUILD_DIR" >&2
  # (Re)configure: a build dir first configured without benchmarks has none of their targets.
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DGORO_BUILD_BENCHMARKS=ON >"$OUT/configure.log" 2>&1 ||
    cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DGORO_BUILD_BENCHMARKS=ON \
      -DGORO_BUILD_TESTS=OFF -DGORO_BUILD_EXAMPLES=OFF >"$OUT/configure.log" 2>&1 ||
    { cat "$OUT/configure.log" >&2; exit 2; }
  bt=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")
  [ "$bt" = Release ] || echo "warning: $BUILD_DIR is a '$bt' build, not Release" >&2
  cmake --build "$BUILD_DIR" -j"$JOBS" --target goro_bench >&2
  # CMake defines fiber_bench only when it found Boost.Fiber.
  targets=$(cmake --build "$BUILD_DIR" --target help)
  if [ "$NO_FIBER" != 1 ] && grep -qw fiber_bench <<<"$targets"; then
    echo "== build Boost.Fiber peer (benchmarks/peers/fiber)" >&2
    cmake --build "$BUILD_DIR" -j"$JOBS" --target fiber_bench >&2
  fi
  if [ "$HAVE_GO" = 1 ]; then
    echo "== build Go version ($(go version | cut -d' ' -f3))" >&2
    (cd "$HERE/go" && GOFLAGS=-mod=mod GOPROXY=off go build -o "$GOBIN" .)
  fi
fi
HAVE_FIBER=0
if [ "$NO_FIBER" != 1 ] && [ -x "$FIBERBIN" ]; then HAVE_FIBER=1; fi
if [ "$HAVE_FIBER" = 0 ] && [ "$NO_FIBER" != 1 ]; then
  echo "note: no Boost.Fiber column ($FIBERBIN not built: needs libboost-fiber-dev, scripts/setup.sh --for-benchmarks)" >&2
fi
[ -x "$GORO" ] || { echo "missing $GORO" >&2; exit 2; }
if [ "$HAVE_GO" = 1 ] && [ ! -x "$GOBIN" ]; then echo "missing $GOBIN" >&2; exit 2; fi
[ "$HAVE_GO" = 1 ] || echo "note: no Go toolchain (or NO_GO=1): goro's column only" >&2
T_BUILT=$(date +%s.%N)

if [ "$QUICK" = 1 ]; then
  SKY="size=100000" SPAWN=100000 PP=100000 BUF=1000000 SEL=100000 PARK=20000 PIPE=20000
else
  SKY="" SPAWN=1000000 PP=1000000 BUF=10000000 SEL=1000000 PARK=100000 PIPE=200000
fi
CONFIGS=()
for procs in 1 2; do
  for chan in unbuf buf; do CONFIGS+=("skynet procs=$procs chan=$chan $SKY"); done
done
for procs in 1 2; do CONFIGS+=("spawn procs=$procs n=$SPAWN"); done
for procs in 1 2; do CONFIGS+=("pingpong procs=$procs n=$PP"); done
for pc in 1 4; do
  for procs in 1 2; do CONFIGS+=("buffered procs=$procs p=$pc c=$pc cap=128 n=$BUF"); done
done
for cap in 0 128; do
  for procs in 1 2; do CONFIGS+=("select procs=$procs cap=$cap n=$SEL"); done
done
for procs in 1 2; do CONFIGS+=("parked procs=$procs n=$PARK"); done
for procs in 1 2; do CONFIGS+=("pipepingpong procs=$procs n=$PIPE"); done

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none) $(git -C "$ROOT" status --porcelain 2>/dev/null | wc -l) changed file(s)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "g++: $(g++ --version | head -1)"
  if [ "$HAVE_GO" = 1 ]; then echo "go: $(go version)"; fi
  if [ "$HAVE_FIBER" = 1 ]; then echo "boost: $(dpkg-query -W -f='${Version}' libboost-fiber-dev 2>/dev/null || echo '?')"; fi
  echo "reps: $REPS quick: $QUICK filter: ${FILTER:-none}"
  echo "loadavg_before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/env.txt"

# The Boost.Fiber peer's arguments for a goro config, or nothing to skip it.
fiber_args() {
  case "$1" in
    "skynet procs=1 chan=unbuf"*) ;;  # launch=post needs ~10 GB; dispatch is not the workload
    skynet*) echo "$1 launch=dispatch" ;;
    spawn*) echo "$1 launch=dispatch" ;;
    "pingpong procs=2"*) echo "$1 mode=ws suspend=0" ;;
    parked*) echo "$1 stack=pooled16" ;;
    pipepingpong*) ;;  # not a peer workload
    *) echo "$1" ;;
  esac
}

RAW=$OUT/raw.txt
: > "$RAW"
: > "$OUT/stderr.log"
FAILS=0
# Sets CHILD_CPU: CPU seconds (user + sys) used by this shell's finished children so far.
# (`times` runs in this shell, not in a $(...) subshell, whose children would be its own.)
children_cpu() {
  times > "$OUT/.times"
  CHILD_CPU=$(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.6f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$OUT/.times")
}
run1() {  # impl binary rep config...
  local impl=$1 bin=$2 rep=$3 rc=0 out cpu0 cpu_ms
  shift 3
  children_cpu
  cpu0=$CHILD_CPU
  out=$(timeout -k 5 "$TMO" "$bin" "$@" 2>>"$OUT/stderr.log") || rc=$?
  children_cpu
  cpu_ms=$(awk -v a="$cpu0" -v b="$CHILD_CPU" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
  if [ "$rc" = 0 ] && [ -n "$out" ]; then
    echo "$out" | sed "s/\$/ cpu_ms=$cpu_ms rep=$rep/" >> "$RAW"
  else
    echo "!! $impl FAILED (rc=$rc): $*" | tee -a "$OUT/stderr.log" >&2
    echo "impl=$impl workload=$* status=FAILED rc=$rc rep=$rep" >> "$RAW"
    FAILS=$((FAILS + 1))
  fi
}

for rep in $(seq 1 "$REPS"); do
  echo "== rep $rep/$REPS (loadavg $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  for cfg in "${CONFIGS[@]}"; do
    if [ -n "$FILTER" ] && ! [[ "$cfg" =~ $FILTER ]]; then continue; fi
    # shellcheck disable=SC2086  # cfg is a list of words
    if [ "$HAVE_GO" = 1 ] && [ $((rep % 2)) = 0 ]; then
      run1 go "$GOBIN" "$rep" $cfg
      run1 goro "$GORO" "$rep" $cfg
    else
      run1 goro "$GORO" "$rep" $cfg
      if [ "$HAVE_GO" = 1 ]; then run1 go "$GOBIN" "$rep" $cfg; fi
    fi
    if [ "$HAVE_FIBER" = 1 ]; then
      fcfg=$(fiber_args "$cfg")
      # shellcheck disable=SC2086
      if [ -n "$fcfg" ]; then run1 fiber "$FIBERBIN" "$rep" $fcfg; fi
    fi
  done
done
echo "loadavg_after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/env.txt"

python3 "$HERE/compare.py" "$RAW" > "$OUT/table.md"
T_END=$(date +%s.%N)
cat "$OUT/table.md"
echo
awk -v s="$T_START" -v b="$T_BUILT" -v e="$T_END" -v f="$FAILS" -v o="$OUT" \
  'BEGIN { printf "build %.0f s, runs %.0f s, failed runs: %d; raw lines in %s/raw.txt\n", b - s, e - b, f, o }' \
  | tee -a "$OUT/env.txt"
[ "$FAILS" = 0 ]
