#!/usr/bin/env bash
# Runs the deterministic SWIM simulator (tests/sim/gossip_sim) at scale in a
# Release build and prints its figures. Every run is a function of its flags:
# rerun a line to reproduce it exactly.
#
#   bench/gossip_sim.sh            # all of the runs below (~35 min, ~17 GB of memory at most)
#   BUILD=/path/to/build bench/gossip_sim.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-gossip-rel}
if [[ ! -x "$BUILD/tests/sim/gossip_sim" ]]; then
  cmake -S . -B "$BUILD" -G Ninja -DROSTER_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$BUILD" -j2 gossip_sim >/dev/null
SIM="$BUILD/tests/sim/gossip_sim"
SEED=${SEED:-1}

echo "== 1,000 nodes: join (10 ms apart), tag, failure, then 10 minutes of virtual time at 5% loss"
"$SIM" --nodes=1000 --seed="$SEED" --steady-loss=0.05 --steady-seconds=600

echo
echo "== 200 nodes joining at once, each input costing 2 ms (an overloaded machine), 1-50 ms latency, 2% loss"
"$SIM" --nodes=200 --seed="$SEED" --join-pace-ms=0 --processing-us=2000 --max-latency-ms=50 --join-loss=0.02 \
  --steady-loss=0.02 --steady-seconds=120

echo
echo "== Lifeguard on and off: 100 nodes, 10 of them frozen 5 s and 7 s of every 30 s, for 300 s"
for stall in 5000 7000; do
  for lifeguard in "" "--no-lifeguard"; do
    "$SIM" --nodes=100 --seed="$SEED" --steady-loss=0 --steady-seconds=300 --slow-nodes=10 --slow-stall-ms="$stall" \
      --slow-stall-every-ms=30000 --skip-failure $lifeguard | grep -E '^(gossip_sim|steady|slow):'
  done
done

echo
echo "== Serf's convergence simulator (serf.io/docs/internals/simulator.html), its published model, same settings:"
echo "   gossip every 200 ms to 3 nodes; the time until 50% and 99.99% of the nodes have a broadcast"
for n in 1000 3000 10000; do
  for loss in 0 0.01 0.05; do
    awk -v n="$n" -v loss="$loss" 'BEGIN {
      contact = (3 / n) * (1 - loss) * 0.5
      half = -1; all = -1
      for (r = 0; r <= 100 && all < 0; r++) {
        f = 1 / (1 + (n + 1) * exp(-contact * n * r))
        if (half < 0 && f >= 0.5) half = r
        if (f >= 0.9999) all = r
      }
      printf "   N=%-6d loss %4.1f%%: 50%% at %.1f s, 99.99%% at %.1f s\n", n, loss * 100, half * 0.2, all * 0.2
    }'
  done
done

echo
echo "== 3,000 nodes all joining, 1 ms apart, tag and failure phases, 60 s steady at 1% loss"
"$SIM" --nodes=3000 --seed="$SEED" --join-pace-ms=1 --steady-loss=0.01 --steady-seconds=60

echo
# 10,000 nodes: the pool starts formed (each node already holds the other
# 9,989) and 10 newcomers join it 10 ms apart. Simulating all 10,000 joins
# at once is out of reach here: every node would queue ~10,000 alive
# broadcasts (each held until sent ~16 times). ~16 GB and ~15 min.
echo "== 10,000 nodes: 9,990 formed + 10 joining, tag and failure phases, 120 s steady at 5% loss"
"$SIM" --nodes=10000 --preformed=9990 --seed="$SEED" --steady-loss=0.05 --steady-seconds=120
