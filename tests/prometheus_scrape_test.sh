#!/usr/bin/env bash
# A real Prometheus server (the Debian package) scrapes examples/oom_hunt's /metrics on
# loopback, with goro's alert rules loaded; its HTTP API then returns goro's series.
# Temporary config and data directory; free ports. Skipped (exit 77) only when the
# prometheus binary is absent. Bounded: every wait gives up after 60 s (hang guards).
#
#   prometheus_scrape_test.sh <oom_hunt binary> <diag/prometheus/goro-alerts.yml>
set -euo pipefail
bin=$1
rules=$2
if ! command -v prometheus >/dev/null; then
  echo "SKIP: prometheus is not installed (scripts/setup.sh --for-tests, or apt-get install prometheus)"
  exit 77
fi
command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }

tmp=$(mktemp -d)
app=
prom=
cleanup() {
  if [[ -n $prom ]]; then kill "$prom" 2>/dev/null || true; wait "$prom" 2>/dev/null || true; fi
  if [[ -n $app ]]; then kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$bin" --port 0 --duration 120 --uploads 2000 >"$tmp/app.out" 2>&1 &
app=$!
target=
for _ in $(seq 600); do
  target=$(sed -n 's|^oom_hunt: debug endpoint at http://\([^/]*\)/debug/pprof/.*|\1|p' "$tmp/app.out")
  [[ -n $target ]] && break
  sleep 0.1
done
[[ -n $target ]] || { echo "FAIL: oom_hunt printed no address"; cat "$tmp/app.out"; exit 1; }

# A free port for Prometheus: ask the kernel for one, then hand it over (a race with
# another process taking it in between only makes the start fail, reported below).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
       echo $((20000 + RANDOM % 20000)))
cp "$rules" "$tmp/goro-alerts.yml"
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [goro-alerts.yml]
scrape_configs:
  - job_name: oom_hunt
    static_configs:
      - targets: ['$target']
YAML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --web.listen-address="127.0.0.1:$port" --log.level=warn >"$tmp/prom.out" 2>&1 &
prom=$!
api="http://127.0.0.1:$port/api/v1"

query() { curl -sf --get "$api/query" --data-urlencode "query=$1" || true; }

started=$(date +%s)
result=
for _ in $(seq 600); do
  result=$(query 'goro_memory_bytes{kind="stack"} > 0')
  [[ $result == *'"kind":"stack"'* ]] && break
  if ! kill -0 "$prom" 2>/dev/null; then echo "FAIL: prometheus exited"; cat "$tmp/prom.out"; exit 1; fi
  sleep 0.1
done
echo "goro_memory_bytes{kind=\"stack\"} after $(( $(date +%s) - started )) s: $result"
[[ $result == *'"job":"oom_hunt"'* ]] || { echo "FAIL: no stack memory series scraped"; cat "$tmp/prom.out"; exit 1; }

for q in 'up{job="oom_hunt"} == 1' 'goro_tasks' 'goro_memory_bytes{kind="channel"}' 'process_resident_memory_bytes'; do
  r=$(query "$q")
  echo "$q: $r"
  [[ $r == *'"status":"success"'* && $r == *'"job":"oom_hunt"'* ]] || { echo "FAIL: no result for $q"; exit 1; }
done
rules_loaded=$(curl -sf "$api/rules" || true)
for alert in GoroTasksLeaked GoroTaskCountClimbing GoroMemoryClimbing GoroTaskLimitNear; do
  [[ $rules_loaded == *"\"$alert\""* ]] || { echo "FAIL: rule $alert not loaded: $rules_loaded"; exit 1; }
done
echo "PASS in $(( $(date +%s) - started )) s"
