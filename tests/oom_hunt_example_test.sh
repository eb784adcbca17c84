#!/usr/bin/env bash
# examples/oom_hunt as a process: its debug endpoint's heap profile names the spawn
# site of the leaking writer tasks as the biggest holder of goro's memory, /metrics
# shows provably leaked tasks, and --fixed leaks none. Bounded: the example runs at most
# 60 s, every wait below gives up after 30 s (hang guards only).
#
#   oom_hunt_example_test.sh <oom_hunt binary> <examples/oom_hunt.cpp>
set -euo pipefail
bin=$1
source_file=$2
command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }

tmp=$(mktemp -d)
pid=
cleanup() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Starts the example; sets url.
start() {
  "$bin" --port 0 --duration 60 --uploads 400 "$@" >"$tmp/out" 2>&1 &
  pid=$!
  url=
  for _ in $(seq 300); do
    url=$(sed -n 's|^oom_hunt: debug endpoint at \(http://[^/]*\)/debug/pprof/.*|\1|p' "$tmp/out")
    [[ -n $url ]] && return
    sleep 0.1
  done
  echo "FAIL: oom_hunt printed no address:"; cat "$tmp/out"; exit 1
}

# The value of metric line $1 (exact name and labels) on /metrics.
metric() { curl -sf "$url/metrics" | awk -v name="$1" '$1 == name {print $2}'; }

# Waits until the traffic has ended (all 400 uploads made: the traffic task is gone).
wait_for_uploads() {
  for _ in $(seq 300); do
    curl -sf "$url/debug/pprof/goroutine?debug=1" | grep -q '"name":"traffic"' || return 0
    sleep 0.1
  done
  echo "FAIL: the uploads did not finish"; exit 1
}

stop() {
  curl -sf -X POST "$url/quit" >/dev/null
  wait "$pid"
  pid=
}

writer_line=$(grep -n 'SpawnOptions{"upload writer"}' "$source_file" | cut -d: -f1)
channel_line=$(grep -n 'goro::Channel<Chunk> chunks(8);' "$source_file" | cut -d: -f1)

start
wait_for_uploads
heap=$(curl -sf "$url/debug/pprof/heap?debug=1")
leaked=$(metric goro_tasks_leaked)
stack=$(metric 'goro_memory_bytes{kind="stack"}')
stop
# The first sample of the heap profile (biggest first) is the writers' stacks.
first_frame=$(printf '%s\n' "$heap" | grep -m1 '^#	')
echo "heap profile's first frame: $first_frame"
[[ $first_frame == *"oom_hunt.cpp:$writer_line" ]] || { echo "FAIL: expected oom_hunt.cpp:$writer_line first"; printf '%s\n' "$heap"; exit 1; }
printf '%s\n' "$heap" | grep -q "oom_hunt.cpp:$channel_line" || { echo "FAIL: no channel site oom_hunt.cpp:$channel_line"; exit 1; }
# 400 uploads, one in four aborted: 100 writers leak (the count may lag by one analysis).
echo "leaked tasks: $leaked, stack bytes: $stack"
(( leaked > 0 )) || { echo "FAIL: no leaked tasks on /metrics"; exit 1; }
(( stack >= 100 * 24 * 1024 )) || { echo "FAIL: stack memory $stack is below 100 x 24 KiB"; exit 1; }

start --fixed
wait_for_uploads
sleep 0.5  # the last uploads' writers finish
leaked=$(metric goro_tasks_leaked)
tasks=$(metric goro_tasks)
stop
echo "fixed: leaked tasks $leaked, live tasks $tasks"
(( leaked == 0 )) || { echo "FAIL: the fixed program leaks"; exit 1; }
echo PASS
