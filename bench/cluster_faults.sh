#!/usr/bin/env bash
# Leader kills against the Release build: tests/integration/test_cluster.py with
# ROSTER_CLUSTER_KILLS=50 (3 servers, 2 client agents writing write-once keys and shared
# registers and reading them back with ?consistent while the leader is killed with SIGKILL
# 50 times; the history is checked for lost acknowledged writes and stale reads, and by the
# Raft simulator's linearizability checker, lincheck_history). The same run then pauses the
# leader for 10 s, corrupts a WAL tail and restarts every server. Prints the failover times
# and the history counts the test reports. From the project root:
#
#   bash bench/cluster_faults.sh          (about 5 minutes)
#
# Env: BUILD_DIR (default build/release-bench), CHECKER_BUILD_DIR (default build-raft-rel),
# SKIP_BUILD=1, KILLS (default 50).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-build/release-bench}"
checker_build="${CHECKER_BUILD_DIR:-build-raft-rel}"
if [[ -z "${SKIP_BUILD:-}" ]]; then
  CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/roster-ccache}" CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1 \
    bash scripts/release_build.sh "$build" roster
  # The checker is test code: it builds in the Release tree that bench/raft_sim.sh uses.
  cmake -S . -B "$checker_build" -G Ninja -DROSTER_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$checker_build" -j "$(nproc)" --target lincheck_history
fi
echo "cluster_faults: $(date -u), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD)"
log="$(mktemp /tmp/roster-cluster-faults.XXXXXX)"
# The test's harness stops every agent it started (by PID) when it ends or fails.
pid=
cleanup() { [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -f "$log"; exit 130; }
trap cleanup INT TERM
start=$(date +%s)
set +e
ROSTER_CLUSTER_KILLS="${KILLS:-50}" ROSTER_BIN="$build/agent/roster" ROSTER_LINCHECK="$checker_build/tests/sim/lincheck_history" \
  /usr/bin/python3 tests/integration/test_cluster.py >"$log" 2>&1 &
pid=$!
wait "$pid"
rc=$?
set -e
pid=
grep -E '^(test_|Ran |OK|FAILED)|kills; failover|paused|corrupted|snapshot at|violation|Error|error:' "$log" | grep -v '^======== log' | head -60 || true
echo "elapsed: $(( $(date +%s) - start )) s, exit status $rc"
/usr/bin/python3 - "$log" <<'PY'
import re, statistics, sys
text = open(sys.argv[1], errors="replace").read()
m = re.search(r"(\d+) kills; failover ([\d., ]+) s; \d+ writes \((\d+) acknowledged, \d+ unknown\), (\d+) \?consistent", text)
if m:
    f = [float(x) for x in m.group(2).split(",")]
    f.sort()
    print(f"{m.group(1)} kills: failover (new leader agreed) median {statistics.median(f):.2f} s, "
          f"min {f[0]:.2f}, p90 {f[int(0.9 * (len(f) - 1))]:.2f}, max {f[-1]:.2f}; "
          f"{m.group(3)} writes acknowledged, {m.group(4)} ?consistent reads checked, history: no violation, "
          f"linearizable")
else:
    print("the fault test did not report its failover line (see the failure above)")
PY
[[ $rc -eq 0 ]] || { echo "full log: $log"; exit $rc; }
rm -f "$log"
