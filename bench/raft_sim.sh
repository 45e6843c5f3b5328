#!/usr/bin/env bash
# Runs N seeded Raft schedules through the simulator (tests/sim/raft_sim) in a
# Release build: faults, failpoints, invariants after every step and a
# linearizability check of every client history. Seeds 1..N, 3 and 5 servers
# alternating. Ends with "schedules: N, violations: V"; exits 1 when V > 0.
# A failing seed prints the one command that reproduces it.
#
#   bench/raft_sim.sh 10000                       # ~10 min on 2 cores
#   bench/raft_sim.sh 500 --bug read_without_heartbeat   # a planted bug: expect violations
#   BUILD=/path/to/build bench/raft_sim.sh 100
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
shift || true
BUILD=${BUILD:-build-raft-rel}
if [[ ! -f "$BUILD/build.ninja" ]]; then
  cmake -S . -B "$BUILD" -G Ninja -DROSTER_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$BUILD" -j2 raft_sim >/dev/null
SIM="$BUILD/tests/sim/raft_sim"

# Two processes, one per core, over the two halves of the seeds.
HALF=$(( (N + 1) / 2 ))
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$SIM" --seed 1 --count "$HALF" "$@" >"$OUT/a" &
A=$!
"$SIM" --seed $(( HALF + 1 )) --count $(( N - HALF )) "$@" >"$OUT/b" &
B=$!
wait $A || true
wait $B || true
grep -h '^seed\|^  reproduce' "$OUT/a" "$OUT/b" || true
grep -h '^totals' "$OUT/a" "$OUT/b"
V=$(awk '/^schedules: [0-9]+, violations: [0-9]+$/ { v += $4 } END { print v + 0 }' "$OUT/a" "$OUT/b")
echo "schedules: $N, violations: $V"
[[ "$V" -eq 0 ]]
