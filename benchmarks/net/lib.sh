# shellcheck shell=bash
# benchmarks/net/lib.sh — what the scripts of benchmarks/net share (sourced, not run):
# where things are, building the servers, ports, a server's lifetime, medians.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"   # sets here, root, build, bin, jobs
#   build_targets goro_echo_server goro_net_load    # build/release, Release, quietly
#   go_bin=$(build_go go_echo)                       # benchmarks/net/go_echo -> $bin/go_echo
#   port=$(random_port)
#   "$bin/goro_echo_server" "127.0.0.1:$port" 2 & server_pid=$!
#   wait_for_port "$port" || exit 1
#   stop_server                                      # and: trap stop_server EXIT
#   raise_fd_limit                                   # soft RLIMIT_NOFILE to the hard limit
#   median <<<"3 1 2"                                # 2
#
# GORO_JOBS=N: parallel build jobs (default 2).

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
build="$root/build/release"
bin="$build/benchmarks/net"
jobs=${GORO_JOBS:-2}
server_pid=""

# build_targets [-DNAME=VALUE...] TARGET...: configures build/release as Release (plus the
# options given) and builds the targets; only errors are printed.
build_targets() {
  local arg options=() targets=()
  for arg in "$@"; do
    if [[ $arg == -D* ]]; then options+=("$arg"); else targets+=("$arg"); fi
  done
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "${options[@]}" >/dev/null
  cmake --build "$build" -j "$jobs" --target "${targets[@]}" >/dev/null
}

# build_go NAME: builds the Go program in benchmarks/net/NAME into $bin/NAME and prints
# that path.
build_go() {
  (cd "$here/$1" && GOFLAGS=-mod=mod go build -o "$bin/$1" .)
  echo "$bin/$1"
}

# A port to start counting from (each server then takes the next one): random, so that
# two runs in a row do not meet the previous run's sockets in TIME_WAIT.
# Below the ephemeral range (32768 and up on Linux), where a generator's own connections
# could hold the port the next server wants to listen on.
random_port() { echo $((10000 + RANDOM % 20000)); }

# wait_for_port PORT: returns once something accepts connections on 127.0.0.1:PORT;
# fails after 5 s.
wait_for_port() {
  local _
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing accepts connections on 127.0.0.1:$1" >&2
  return 1
}

# stop_server: kills and reaps the process in server_pid, if any.
stop_server() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}

# Many connections need many fds on both sides.
raise_fd_limit() { ulimit -n "$(ulimit -Hn)" 2>/dev/null || true; }

# median: the median of the numbers on stdin (separated by spaces or newlines).
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
