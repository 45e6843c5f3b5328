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
bash scripts/release_build.sh "$build_dir" roster roster-deploy

exec /usr/bin/python3 scripts/deploy_demo.py "$PWD/$build_dir/agent/roster" "$PWD/$build_dir/server/roster-deploy"
