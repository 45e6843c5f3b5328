#!/usr/bin/env bash
# Roster's gossip pool against HashiCorp Serf (Debian's `serf`), same N, same machine, same run.
# One command: installs serf if missing (scripts/install-deps.sh --bench, as root), builds the
# Release agent in build-bench, and runs bench/gossip_bench.py with the arguments given.
#
#   bench/gossip_bench.sh                          # N=10 and 50, 3 repetitions each (~20 min)
#   bench/gossip_bench.sh -n 100 -r 1              # one size
#   bench/gossip_bench.sh -n 200 -r 1 --join-rate 20   # 200 agents, joins paced 20/s
#   bench/gossip_bench.sh --storm -n 200           # join storm: 200 agents, all joins at once, 150 s
#   bench/gossip_bench.sh --help
#
# As root the agents run in a private network namespace (unshare -n) on 127.0.1.x; results and a
# summary.md go to /tmp/gossip_bench/results_<time>/ (or --out). Agents are killed by PID at the
# end of each repetition; `bench/gossip_bench.py --cleanup /tmp/gossip_bench/pids.txt` kills
# leftovers after a crash of the driver. SKIP_BUILD=1 uses the existing build.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
if ! command -v serf >/dev/null; then
  if [[ $(id -u) -eq 0 ]]; then scripts/install-deps.sh --bench; else
    echo "serf not found: run scripts/install-deps.sh --bench as root" >&2; exit 1; fi
fi
if [[ -z "${SKIP_BUILD:-}" ]]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DROSTER_BUILD_TESTS=OFF >/dev/null
  ninja -C "$BUILD" -j2 roster >/dev/null
fi
PY=/usr/bin/python3; [[ -x $PY ]] || PY=python3
exec "$PY" bench/gossip_bench.py --roster "$BUILD/agent/roster" "$@"
