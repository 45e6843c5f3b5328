#!/usr/bin/env bash
# Raft engine throughput (issue acceptance item 5), with a 3-member etcd 3.4 as
# the anchor, in one run. From the project root:
#
#   bench/raft_bench.sh                      (about 1.5 minutes)
#
# Steps: install bench deps -> build Release raft_bench -> raft_bench: the
# disk's fsync latency through Roster's own Storage, then for 1, 16, 64 and 256
# proposers a fresh cluster of three engines (one process each, null state
# machine, WAL under $DATA_DIR) and P proposers on the leader -> the etcd anchor
# (../shared/anchors/etcd): a 3-member cluster from cluster.py, goload put with
# 64 clients for the same duration against its leader, stopped by its recorded
# PIDs -> a table with the ratios and whether the targets hold:
#   - at 64 proposers, at least 10 entries per fsync;
#   - at 64 proposers, at least 4x the puts/s etcd acknowledges at 64 clients.
#
# Env: BUILD_DIR (default build/bench-rel), SKIP_BUILD=1, DURATION (seconds
#      measured per point, default 5), DATA_DIR (default /var/tmp; must be a
#      real disk, not tmpfs), PROPOSERS (default 1,16,64,256).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build/bench-rel}"
duration="${DURATION:-5}"
data_dir="${DATA_DIR:-/var/tmp}"
proposers="${PROPOSERS:-1,16,64,256}"
anchor="$root/../shared/anchors/etcd"
goload=/tmp/etcd-anchor-goload/goload
py=/usr/bin/python3

bash "$root/scripts/install-deps.sh" --bench
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DROSTER_BUILD_TESTS=OFF >/dev/null
fi
[[ -n "${SKIP_BUILD:-}" ]] || ninja -C "$build" -j"${JOBS:-2}" raft_bench >/dev/null
[[ -x "$goload" ]] || sh "$anchor/build_goload.sh" >/dev/null

work="$(mktemp -d /tmp/roster-raft-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

echo "raft_bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "data on: $(df -T "$data_dir" | awk 'NR==2 {print $1, $2}')"
echo "--- Roster: $build/bench/raft_bench --dir $data_dir --duration $duration --proposers $proposers"
"$build/bench/raft_bench" --dir "$data_dir" --duration "$duration" --proposers "$proposers" | tee "$work/roster.out"
tail -n 1 "$work/roster.out" > "$work/roster.json"

echo "--- etcd 3.4: 3 members (../shared/anchors/etcd/cluster.py), goload put, 64 clients, ${duration} s, against the leader"
ANCHOR="$anchor" GOLOAD="$goload" DURATION="$duration" "$py" - > "$work/etcd.json" <<'PY'
import json, os, subprocess, sys, time
sys.path.insert(0, os.environ["ANCHOR"])
from cluster import Cluster  # noqa: E402
c = Cluster(3, 22379, "/tmp/etcd-anchor/raft-bench")  # the anchor's ports and data root
try:
    c.start()
    c.wait_healthy()
    time.sleep(1.0)
    leader = c.leader_index()
    cmd = [os.environ["GOLOAD"], "--endpoints", f"127.0.0.1:{c.client_port(leader)}", "--op", "put",
           "--clients", "64", "--conns", "8", "--prefix", "rb", "--duration", os.environ["DURATION"] + "s"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    print(out.stdout.strip().splitlines()[-1] if out.returncode == 0 else json.dumps({"error": out.stderr[-300:]}))
finally:
    c.stop()  # kills exactly the PIDs it started
PY
cat "$work/etcd.json"

echo "--- Verdict"
"$py" - "$work/roster.json" "$work/etcd.json" <<'PY'
import json, sys
roster = json.load(open(sys.argv[1]))
etcd = json.load(open(sys.argv[2]))
probe = roster["fsync_probe"]
runs = {r["proposers"]: r for r in roster["runs"]}
etcd_ops = etcd.get("ops_per_s")
print(f"disk fsync through Storage (1 entry of 256 B + sync): p50 {probe['p50_ms']:.3f} ms, p99 {probe['p99_ms']:.3f} ms")
print(f"{'proposers':>9} {'commits/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'entries/fsync':>13} {'x etcd@64':>9}")
for p, r in sorted(runs.items()):
    if "error" in r:
        print(f"{p:>9} error: {r['error']}")
        continue
    ratio = f"{r['commits_per_s'] / etcd_ops:.2f}x" if etcd_ops else "-"
    print(f"{p:>9} {r['commits_per_s']:>10.0f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['entries_per_fsync']:>13.1f} {ratio:>9}")
if etcd_ops:
    print(f"etcd 3.4, 3 members, put, 64 clients: {etcd_ops:.0f}/s, p50 {etcd['p50_ms']:.2f} ms, p99 {etcd['p99_ms']:.2f} ms, errors {etcd.get('errors')}")
else:
    print(f"etcd anchor failed: {etcd.get('error')}")
r64 = runs.get(64, {})
if "commits_per_s" in r64:
    epf = r64["entries_per_fsync"]
    print(f"target >= 10 entries per fsync at 64 proposers: {'met' if epf >= 10 else 'MISSED'} ({epf:.1f})")
    if etcd_ops:
        ratio = r64["commits_per_s"] / etcd_ops
        print(f"target >= 4x etcd puts/s at 64: {'met' if ratio >= 4 else 'MISSED'} ({ratio:.2f}x: {r64['commits_per_s']:.0f} vs {etcd_ops:.0f})")
else:
    print("no result at 64 proposers: both targets unverified")
PY
echo "rerun: bench/raft_bench.sh (DURATION=$duration DATA_DIR=$data_dir)"
