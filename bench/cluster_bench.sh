#!/usr/bin/env bash
# The cluster catalog against etcd 3.4, in one run on this machine. From the project root:
#
#   bash bench/cluster_bench.sh            (about 8 minutes after the build)
#   bash bench/cluster_bench.sh --quick    (3 s per point, 20,000 fill keys)
#
# Steps: build Release `roster` (scripts/release_build.sh, ccache) -> bench/cluster_bench.py:
# a 3-server Roster cluster and one client agent (tests/clients/roster_cluster.py), then a
# 3-member etcd cluster (the anchor's cluster.py at its defaults: heartbeat 100 ms, election
# 1000 ms), data of both under $SCRATCH_DIR on the same disk; for each: idle RSS, 100,000
# distinct keys written with 64 clients (disk write_bytes per put, data-dir growth, RSS after),
# 2000 sequential puts, puts at 1/16/64/256 clients, ?consistent/linearizable and
# ?stale/serializable reads at 64 clients, 3 leader kills -> a table with the ratios and the
# targets, also written to bench/results/cluster-<ts>.{md,json} (gitignored).
# Roster is driven by bench/roster_loadgen.py, etcd by the anchor's loadgen.py (JSON
# gateway, same design and worker count) and by goload (gRPC); loads go to the leader.
#
# Env: BUILD_DIR (default build/release-bench), SKIP_BUILD=1, SCRATCH_DIR (default /tmp; a
#      real disk, not tmpfs), GOLOAD (default /tmp/etcd-anchor-goload/goload). Extra
#      arguments go to cluster_bench.py (--help lists them).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-build/release-bench}"
anchor="$root/../shared/anchors/etcd"
[[ -d "$anchor" ]] || anchor=/work/shared/anchors/etcd
goload="${GOLOAD:-/tmp/etcd-anchor-goload/goload}"
if [[ -z "${SKIP_BUILD:-}" ]]; then
  CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/roster-ccache}" CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1 \
    bash scripts/release_build.sh "$build" roster
fi
[[ -x /usr/bin/etcd ]] || { echo "etcd missing: apt-get install -y etcd-server etcd-client" >&2; exit 1; }
[[ -x "$goload" ]] || sh "$anchor/build_goload.sh" >/dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# The Python driver kills every process it started (try/finally, SIGTERM included); this
# trap makes sure it gets the signal when the script is interrupted.
pid=
cleanup() { [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; exit 130; }
trap cleanup INT TERM
command="bash bench/cluster_bench.sh${*:+ $*}"
GOLOAD="$goload" ETCD_ANCHOR="$anchor" /usr/bin/python3 bench/cluster_bench.py \
  --roster-bin "$build/agent/roster" --command "$command" "$@" &
pid=$!
wait "$pid"
