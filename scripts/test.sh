#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds goro and runs its tests in three configurations (four with shared).
#
#   scripts/test.sh                  # all: release, asan, tsan
#   scripts/test.sh release|asan|tsan|shared [...]   # only those
#
#   release  build/release  Release; tests, benchmarks (built, not run) and examples;
#                           then the ways a user consumes goro, each built and run:
#                           `cmake --install` into build/install and tests/install_consumer
#                           against it (find_package); g++ $(pkg-config --cflags --libs goro)
#                           against it; the shared libraries of build/shared (libraries
#                           only, unless `shared` built it all) installed into
#                           build/install-shared, with find_package and pkg-config;
#                           tests/embed_consumer with FetchContent (goro built inside it),
#                           and configured with add_subdirectory
#   asan     build/asan     RelWithDebInfo, ASan + UBSan (-DGORO_SANITIZE=address)
#   tsan     build/tsan     RelWithDebInfo, TSan (-DGORO_SANITIZE=thread)
#   shared   build/shared   Release, shared libraries (-DBUILD_SHARED_LIBS=ON); tests, examples
#
# Each build directory is configured once and reused. Every configuration runs
# even when an earlier one failed; the script ends with one summary line per
# configuration and exits non-zero if any failed.
#
# Environment knobs:
#   GORO_JOBS=N             build jobs (default: nproc)
#   GORO_TEST_TIMEOUT=S     default per-test timeout for ctest (default: 300)
#   GORO_CTEST_ARGS="..."   extra ctest arguments, e.g. "-j2" or "-LE heavy"
#   GORO_BUILD_TARGETS="t1 t2"  build only these targets (with GORO_CTEST_ARGS="-R ..."
#                           to run only their tests; skips the install consumer)
#   CTEST_PARALLEL_LEVEL=N  tests run in parallel by ctest (default: 1)
#   ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS, TSAN_OPTIONS  appended to ours
# Sanitizer suppressions: tests/{lsan,tsan,ubsan}.supp, when present, are passed on.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$GORO_ROOT" || exit 2

all_configs=(release asan tsan)
configs=()
for arg in "$@"; do
  case "$arg" in
    release|asan|tsan|shared) configs+=("$arg") ;;
    all) configs+=("${all_configs[@]}") ;;
    -h|--help) awk 'NR == 1 || /^# shellcheck/ {next} /^#/ {sub(/^# ?/, ""); print; next} {exit}' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument '$arg' (expected release, asan, tsan, shared or nothing)" >&2; exit 2 ;;
  esac
done
((${#configs[@]})) || configs=("${all_configs[@]}")

# --for-tests: also Go (go tool pprof), promtool and Chromium, which tests run on goro's
# profiles, metrics and status page (they skip those checks, saying so, when the tools
# are missing).
bash scripts/setup.sh --for-tests || { echo "test.sh: scripts/setup.sh failed" >&2; exit 1; }

timeout_s=${GORO_TEST_TIMEOUT:-300}
log_dir="$GORO_ROOT/build/logs"
mkdir -p "$log_dir"

# Sanitizer run-time options. Ours come first so that the caller's win.
supp() { if [[ -s "$GORO_ROOT/tests/$1.supp" ]]; then echo ":suppressions=$GORO_ROOT/tests/$1.supp"; fi; }
sanitizer_env=(
  "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
  "LSAN_OPTIONS=print_suppressions=0$(supp lsan)${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
  "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1$(supp ubsan)${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
  "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1$(supp tsan)${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
)

# Some kernels map memory where a sanitizer's run time does not expect it
# (TSan: "unexpected memory mapping"). Probe with a tiny program; if it only
# runs with address-space randomisation off, run the tests that way too.
# Prints the command prefix to use (nothing, or setarch ... -R).
sanitizer_launcher() {
  local config=$1 flag
  case "$config" in
    asan) flag=-fsanitize=address,undefined ;;
    tsan) flag=-fsanitize=thread ;;
    *) return 0 ;;
  esac
  local dir="$GORO_ROOT/build/$config/sanitizer-probe"
  mkdir -p "$dir"
  [[ -f "$dir/probe.cpp" ]] ||
    printf '#include <thread>\nint x;\nint main(){std::thread t([]{++x;});t.join();return x-1;}\n' >"$dir/probe.cpp"
  if [[ ! -x "$dir/probe" ]]; then
    c++ -std=c++20 $flag -pthread "$dir/probe.cpp" -o "$dir/probe" >/dev/null 2>&1 || return 0
  fi
  if env "${sanitizer_env[@]}" "$dir/probe" >/dev/null 2>&1; then return 0; fi
  if setarch "$(uname -m)" -R env "${sanitizer_env[@]}" "$dir/probe" >/dev/null 2>&1; then
    echo "setarch $(uname -m) -R"
  fi
}

declare -A result   # config -> PASS/FAIL
declare -A detail   # config -> one line

declare -A failure_output  # config -> what its failed tests printed (repeated at the end)

# failed_test_output <ctest log>: the block --output-on-failure printed under each failed
# test's result line (ctest marks each result but Passed with ***; a disabled or skipped
# test is not a failure), its last 60 lines each, so that the end of a long CI log (the part a
# reader sees first) says why a test failed, not only which.
failed_test_output() {
  awk '
    /^ *[0-9]+\/[0-9]+ Test +#[0-9]+: / {
      flush(); capturing = ($0 ~ /\*\*\*/ && $0 !~ /Not Run \(Disabled\)|\*\*\*Skipped/); name = $0; next
    }
    /^ *Start +[0-9]+: / { flush(); capturing = 0; next }
    /^[0-9]+% tests passed/ { flush(); capturing = 0; next }
    capturing { lines[n++] = $0 }
    function flush(   i, from) {
      if (!capturing) { n = 0; return }
      print "--- " name
      from = n > 60 ? n - 60 : 0
      if (from > 0) print "  [... " from " earlier lines in the log]"
      for (i = from; i < n; i++) print lines[i]
      n = 0
    }
    END { flush() }
  ' "$1"
}

# run_config <config>: returns 0 on success; sets detail[config].
run_config() {
  local config=$1 dir="$GORO_ROOT/build/$1" log="$log_dir/ctest-$1.log"

  if ! goro_configure "$config"; then detail[$config]="configure failed"; return 1; fi
  local targets=()
  for t in ${GORO_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
  if ! goro_build "$config" "${targets[@]}"; then detail[$config]="build failed"; return 1; fi

  local launcher
  launcher=$(sanitizer_launcher "$config")
  [[ -n "$launcher" ]] && echo "== [$config] this kernel needs ASLR off for $config: running tests under '$launcher'"

  echo "== [$config] ctest --timeout $timeout_s (log: build/logs/ctest-$config.log)"
  # shellcheck disable=SC2086 # $launcher is a command prefix, GORO_CTEST_ARGS a word list
  $launcher env "${sanitizer_env[@]}" \
    ctest --test-dir "$dir" --output-on-failure --no-tests=error --timeout "$timeout_s" \
    ${GORO_CTEST_ARGS:-} 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local closing
  closing=$(grep -E 'tests passed|No tests were found' "$log" | tail -n 1)
  detail[$config]="${closing:-ctest printed no result line}"
  if ((rc != 0)); then
    detail[$config]="ctest failed (rc=$rc): ${detail[$config]}"
    failure_output[$config]=$(failed_test_output "$log")
    return 1
  fi

  if [[ "$config" == release && -z "${GORO_BUILD_TARGETS:-}" ]]; then
    if ! test_install; then detail[$config]+="; install consumer FAILED"; return 1; fi
    detail[$config]+="; install consumer OK"
    if ! test_pkgconfig_consumer; then detail[$config]+="; pkg-config consumer FAILED"; return 1; fi
    detail[$config]+="; pkg-config consumer OK"
    if ! test_shared_consumer; then detail[$config]+="; shared consumers FAILED"; return 1; fi
    detail[$config]+="; shared consumers OK"
    if ! test_embed_consumer; then detail[$config]+="; embed consumers FAILED"; return 1; fi
    detail[$config]+="; embed consumers OK"
  fi
}

# build_find_package_consumer <prefix> <build dir> <label>: configures (once) and builds
# tests/install_consumer against the package installed under <prefix>, and checks that
# find_package found that package, not the source tree.
build_find_package_consumer() {
  local prefix=$1 cdir=$2 label=$3
  if ! [[ -f "$cdir/CMakeCache.txt" && -f "$cdir/Makefile" ]]; then
    cmake -S "$GORO_ROOT/tests/install_consumer" -B "$cdir" \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF || return 1
  fi
  cmake --build "$cdir" -j "$(goro_jobs)" || return 1
  if ! grep -qF "goro_DIR:PATH=$prefix/" "$cdir/CMakeCache.txt"; then
    echo "$label: goro was not found under $prefix:" >&2
    grep '^goro_DIR' "$cdir/CMakeCache.txt" >&2
    return 1
  fi
}

# Installs build/release into build/install and builds + runs
# tests/install_consumer against it, through find_package(goro CONFIG).
test_install() {
  local prefix="$GORO_ROOT/build/install" cdir="$GORO_ROOT/build/install_consumer"
  echo "== [release] cmake --install build/release --prefix build/install"
  rm -rf "$prefix"
  cmake --install "$GORO_ROOT/build/release" --prefix "$prefix" >"$log_dir/install.log" 2>&1 \
    || { cat "$log_dir/install.log"; return 1; }
  echo "== [release] building tests/install_consumer against build/install"
  build_find_package_consumer "$prefix" "$cdir" "install consumer" || return 1
  local exe
  for exe in consumer consumer_runtime_only consumer_gtest consumer_debug_server; do
    echo "== [release] running install_consumer/$exe"
    env "${sanitizer_env[@]}" timeout "$timeout_s" "$cdir/$exe" || { echo "install consumer: $exe failed" >&2; return 1; }
  done
}

# g++ with nothing but pkg-config's flags, against the goro.pc of <prefix>.
pkgconfig_build() {
  local prefix=$1 out=$2 flags
  echo "== [release] g++ \$(pkg-config --cflags --libs goro) against ${prefix#"$GORO_ROOT"/}"
  flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs goro) || return 1
  echo "   pkg-config: $flags"
  # shellcheck disable=SC2086 # one flag per word
  c++ -std=c++20 -O1 "$GORO_ROOT/tests/install_consumer/main.cpp" -o "$out" $flags
}

test_pkgconfig_consumer() {
  local out="$GORO_ROOT/build/install_consumer/pkgconfig_consumer"
  pkgconfig_build "$GORO_ROOT/build/install" "$out" || return 1
  env "${sanitizer_env[@]}" timeout "$timeout_s" "$out"
}

# The shared libraries: build/shared's libraries (its tests are `scripts/test.sh shared`),
# installed into build/install-shared; tests/install_consumer (find_package) and pkg-config
# against them, each program checked to load goro's shared libraries.
test_shared_consumer() {
  local prefix="$GORO_ROOT/build/install-shared" cdir="$GORO_ROOT/build/install_consumer_shared" exe
  goro_configure shared || return 1
  goro_build shared --target goro_runtime goro_channel goro_diag goro_net goro_gtest goro_gtest_main \
    goro_debug_server || return 1
  rm -rf "$prefix"
  cmake --install "$GORO_ROOT/build/shared" --prefix "$prefix" >"$log_dir/install-shared.log" 2>&1 \
    || { cat "$log_dir/install-shared.log"; return 1; }
  build_find_package_consumer "$prefix" "$cdir" "shared consumer" || return 1
  pkgconfig_build "$prefix" "$cdir/pkgconfig_consumer" || return 1
  # pkg-config gives no run path: the plain g++ program finds the libraries through
  # LD_LIBRARY_PATH; CMake's programs through the run path CMake gave them.
  local path lib
  for exe in consumer consumer_runtime_only consumer_gtest consumer_debug_server pkgconfig_consumer; do
    path=""
    [[ "$exe" == pkgconfig_consumer ]] && path="$prefix/lib"
    # goro_diag too, unless the program links goro::runtime alone: its hooks install on loading.
    lib=libgoro_diag
    [[ "$exe" == consumer_runtime_only ]] && lib=libgoro_runtime
    if ! LD_LIBRARY_PATH="$path" ldd "$cdir/$exe" | grep -q "$lib\.so.* => $prefix/lib/"; then
      echo "shared consumer: $exe does not load $prefix/lib/$lib.so:" >&2
      LD_LIBRARY_PATH="$path" ldd "$cdir/$exe" >&2
      return 1
    fi
    echo "== [release] running install_consumer_shared/$exe"
    env "${sanitizer_env[@]}" LD_LIBRARY_PATH="$path" timeout "$timeout_s" "$cdir/$exe" ||
      { echo "shared consumer: $exe failed" >&2; return 1; }
  done
}

# goro built inside a user's project: tests/embed_consumer with FetchContent (built, run,
# installed: the install must hold the consumer's program and nothing of goro's), and with
# add_subdirectory (configured: the same targets and defaults, and no install rule of goro's).
test_embed_consumer() {
  local fdir="$GORO_ROOT/build/fetch_consumer" sdir="$GORO_ROOT/build/subdir_consumer"
  echo "== [release] tests/embed_consumer with FetchContent (build/fetch_consumer)"
  if ! [[ -f "$fdir/CMakeCache.txt" && -f "$fdir/Makefile" ]]; then
    cmake -S "$GORO_ROOT/tests/embed_consumer" -B "$fdir" -DCMAKE_BUILD_TYPE=Release \
      -DGORO_EMBED=FetchContent -DGORO_SOURCE_DIR="$GORO_ROOT" || return 1
  fi
  cmake --build "$fdir" -j "$(goro_jobs)" || return 1
  env "${sanitizer_env[@]}" timeout "$timeout_s" "$fdir/embed_consumer" || return 1
  rm -rf "$fdir/installed"
  cmake --install "$fdir" --prefix "$fdir/installed" >/dev/null || return 1
  local installed
  installed=$(cd "$fdir/installed" && find . -type f | sort)
  if [[ "$installed" != "./bin/embed_consumer" ]]; then
    echo "embed consumer: the parent's install holds more than its program:" >&2
    echo "$installed" >&2
    return 1
  fi
  echo "== [release] tests/embed_consumer with add_subdirectory (build/subdir_consumer, configured)"
  cmake -S "$GORO_ROOT/tests/embed_consumer" -B "$sdir" -DCMAKE_BUILD_TYPE=Release \
    -DGORO_EMBED=add_subdirectory -DGORO_SOURCE_DIR="$GORO_ROOT" >"$log_dir/subdir_consumer.log" 2>&1 \
    || { cat "$log_dir/subdir_consumer.log"; return 1; }
  if grep -q 'file(INSTALL' "$sdir/goro/cmake_install.cmake"; then
    echo "embed consumer: add_subdirectory(goro) has install rules (GORO_INSTALL should be OFF)" >&2
    return 1
  fi
}

overall=0
for config in "${configs[@]}"; do
  echo
  echo "==================== [$config] ===================="
  start=$SECONDS
  if run_config "$config"; then
    result[$config]=PASS
  else
    result[$config]=FAIL
    overall=1
  fi
  detail[$config]+=" [$(((SECONDS - start) / 60))m$(((SECONDS - start) % 60))s]"
done

echo
echo "==================== goro test summary ===================="
for config in "${configs[@]}"; do
  printf '%-8s %s  %s\n' "$config" "${result[$config]}" "${detail[$config]}"
done
for config in "${configs[@]}"; do
  if [[ -n "${failure_output[$config]:-}" ]]; then
    echo
    echo "==================== [$config] output of the failed tests ===================="
    printf '%s\n' "${failure_output[$config]}"
  fi
done
if ((overall == 0)); then
  echo "test.sh: all passed (${configs[*]})"
else
  echo "test.sh: FAILED"
fi
exit "$overall"
