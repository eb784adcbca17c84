# shellcheck shell=bash
# Shared by scripts/demo.sh and scripts/test.sh (sourced, not run).
#
# Build directories (all under build/, which is not tracked):
#   build/release  Release, with tests, benchmarks and examples
#   build/asan     RelWithDebInfo, -DGORO_SANITIZE=address (ASan+UBSan), no benchmarks/examples
#   build/tsan     RelWithDebInfo, -DGORO_SANITIZE=thread (TSan), no benchmarks/examples
#   build/shared   Release, -DBUILD_SHARED_LIBS=ON (shared module libraries), no benchmarks
#
# Environment knobs:
#   GORO_JOBS=N   parallel build jobs (default: nproc)

GORO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

goro_jobs() {
  echo "${GORO_JOBS:-$(nproc 2>/dev/null || echo 2)}"
}

# The CMake options of each configuration, one -D per word.
goro_config_options() {
  case "$1" in
    release) echo "-DCMAKE_BUILD_TYPE=Release -DGORO_SANITIZE= -DGORO_BUILD_TESTS=ON -DGORO_BUILD_BENCHMARKS=ON -DGORO_BUILD_EXAMPLES=ON" ;;
    asan)    echo "-DCMAKE_BUILD_TYPE=RelWithDebInfo -DGORO_SANITIZE=address -DGORO_BUILD_TESTS=ON -DGORO_BUILD_BENCHMARKS=OFF -DGORO_BUILD_EXAMPLES=OFF" ;;
    tsan)    echo "-DCMAKE_BUILD_TYPE=RelWithDebInfo -DGORO_SANITIZE=thread -DGORO_BUILD_TESTS=ON -DGORO_BUILD_BENCHMARKS=OFF -DGORO_BUILD_EXAMPLES=OFF" ;;
    shared)  echo "-DCMAKE_BUILD_TYPE=Release -DGORO_SANITIZE= -DBUILD_SHARED_LIBS=ON -DGORO_BUILD_TESTS=ON -DGORO_BUILD_BENCHMARKS=OFF -DGORO_BUILD_EXAMPLES=ON" ;;
    *) echo "unknown configuration '$1'" >&2; return 2 ;;
  esac
}

# True when <build_dir> is configured (generated) and its cache holds every
# -DNAME=VALUE given.
goro_is_configured() {
  local dir=$1; shift
  [[ -f "$dir/CMakeCache.txt" ]] || return 1
  [[ -f "$dir/Makefile" || -f "$dir/build.ninja" ]] || return 1
  local opt name value
  for opt in "$@"; do
    opt=${opt#-D}; name=${opt%%=*}; value=${opt#*=}
    grep -qxF -e "$name:STRING=$value" -e "$name:BOOL=$value" -e "$name:UNINITIALIZED=$value" \
      "$dir/CMakeCache.txt" || return 1
  done
}

# goro_configure <config>: configures build/<config> unless it is configured
# already with the same options (then the build re-runs CMake by itself if a
# CMakeLists.txt changed).
goro_configure() {
  local config=$1 dir="$GORO_ROOT/build/$1" opts
  opts=$(goro_config_options "$config") || return 2
  # shellcheck disable=SC2086 # one option per word, on purpose
  if goro_is_configured "$dir" $opts; then
    echo "== [$config] reusing configured build/$config"
    return 0
  fi
  echo "== [$config] configuring build/$config"
  # shellcheck disable=SC2086
  cmake -S "$GORO_ROOT" -B "$dir" $opts
}

# goro_build <config> [cmake --build args...]
goro_build() {
  local config=$1; shift
  echo "== [$config] building build/$config (-j$(goro_jobs))"
  cmake --build "$GORO_ROOT/build/$config" -j "$(goro_jobs)" "$@"
}
