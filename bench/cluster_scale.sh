#!/usr/bin/env bash
# The catalog at scale: 5,000 simulated client agents register 10 services each (50,000
# instances) through a client agent (HTTP -> RPC -> leader), on a 3-server cluster on
# loopback. From the project root:
#
#   bash bench/cluster_scale.sh                 (about 3 minutes after the build)
#   bash bench/cluster_scale.sh --nodes 500     (a quick look)
#
# Steps: build Release `roster-agent` (scripts/release_build.sh, ccache) -> bench/cluster_scale.py:
# 3 servers + 2 client agents (tests/clients/roster_cluster.py); the registrations from
# bench/roster_loadgen.py --op register through client agent 1; time until the leader and
# then every server hold them all (counted exactly); blocking watchers through client agent
# 2 timed from a change to their answer; RSS; a leadership transfer to check the gossip
# reconciler leaves the simulated nodes alone. Figures beside Consul's published one.
# The table also goes to bench/results/scale-<ts>.{md,json} (gitignored).
#
# Env: BUILD_DIR (default build/release-bench), SKIP_BUILD=1, JOBS (build jobs),
#      SCRATCH_DIR (default /tmp). Extra arguments go to cluster_scale.py (--help).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-build/release-bench}"
if [[ -z "${SKIP_BUILD:-}" ]]; then
  CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/roster-ccache}" CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1 \
    bash scripts/release_build.sh "$build" roster-agent
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# The Python driver kills every process it started (try/finally, SIGTERM included); this
# trap makes sure it gets the signal when the script is interrupted.
pid=
cleanup() { [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; exit 130; }
trap cleanup INT TERM
command="bash bench/cluster_scale.sh${*:+ $*}"
/usr/bin/python3 bench/cluster_scale.py --roster-bin "$build/agent/roster-agent" --command "$command" "$@" &
pid=$!
wait "$pid"
