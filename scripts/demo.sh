#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds and runs goro's demo (examples/hello_channels.cpp) in a Release build.
#
#   scripts/demo.sh [args for the demo...]
#
# Installs missing Debian packages (scripts/setup.sh), configures build/release
# once, then builds only the `demo` target and runs it. A second run with
# nothing changed takes a second or two.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$GORO_ROOT"

bash scripts/setup.sh
goro_configure release
goro_build release --target demo
echo "== running build/release/examples/demo"
exec "$GORO_ROOT/build/release/examples/demo" "$@"
