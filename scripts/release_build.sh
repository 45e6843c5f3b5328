#!/usr/bin/env bash
# Builds Release targets (no tests) for the demos, with ccache.
#
#   bash scripts/release_build.sh BUILD_DIR TARGET...     (JOBS=N: build jobs, default nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=$1
shift
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/roster-ccache}
# Paths are hashed relative to the checkout, so a fresh clone elsewhere (as CI
# makes) reuses the objects of the last build.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DROSTER_BUILD_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}" --target "$@"
