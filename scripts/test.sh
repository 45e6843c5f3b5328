#!/usr/bin/env bash
# Installs what Roster needs, builds every test with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs the whole suite through ctest: unit tests,
# integration tests with real `roster` processes, and the python-consul client suite.
#
#   bash scripts/test.sh            (as root on a fresh Debian 12 machine)
#   ROSTER_BUILD_DIR=... JOBS=... bash scripts/test.sh -R catalog   (extra args go to ctest)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

build_dir=${ROSTER_BUILD_DIR:-build/test-asan}
jobs=${JOBS:-$(nproc)}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/roster-ccache}
# Paths are hashed relative to the checkout, so a fresh clone elsewhere (as CI
# makes) reuses the objects of the last build.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DROSTER_SANITIZE=ON >/dev/null
cmake --build "$build_dir" -j "$jobs"
cd "$build_dir"
ctest --output-on-failure -j "$jobs" "$@"
