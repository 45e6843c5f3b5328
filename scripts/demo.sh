#!/usr/bin/env bash
# Roster's demo: a fleet that configures itself from tags, on loopback.
#
#   bash scripts/demo.sh                 (as root on a fresh Debian 12 machine)
#   ROSTER_DEMO_KEEP=1 bash scripts/demo.sh    (leave the fleet running afterwards)
#
# Installs what Roster needs, builds roster and roster-deploy (Release), then runs
# scripts/deploy_demo.py: a dev agent holding the catalog, five client agents
# with sandboxed exec roots, and roster-deploy with playbooks/. It tags the nodes,
# shows the files each one applied and the run results, retags one node and
# shows the re-apply, then stops everything. scripts/api_demo.sh walks through
# the Consul-compatible HTTP API instead.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

build_dir=${ROSTER_DEMO_BUILD_DIR:-build/release}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/roster-ccache}
# Paths are hashed relative to the checkout, so a fresh clone elsewhere (as CI
# makes) reuses the objects of the last build.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DROSTER_BUILD_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target roster roster-deploy

exec /usr/bin/python3 scripts/deploy_demo.py "$PWD/$build_dir/agent/roster" "$PWD/$build_dir/server/roster-deploy"
