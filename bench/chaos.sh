#!/usr/bin/env bash
# Chaos bench: replays every probe of the hardening issue against real agents on loopback
# and reports held / degraded / crashed per probe, with the attacked agent's RSS and CPU
# before and after. See bench/chaos.py for the probes and their pass criteria.
#
#   bench/chaos.sh                              (about 2.5 minutes)
#   bench/chaos.sh --only parked_twice,lock_delay
#   bench/chaos.sh --list | --help
#
# Steps: install bench deps (prlimit comes with util-linux) -> build Release `roster` and
# `chaos_forge` (forged gossip datagrams, sealed by the agent's wire library) in build-chaos
# -> run bench/chaos.py, which starts its own `roster agent -dev` processes on free loopback
# ports (extra client source addresses 127.0.0.2-13), each probe bounded in time, and stops
# them when the probe ends. Exit status 0 when every probe reached a verdict, whatever it
# was; non-zero when the bench itself failed.
#
# Env: SKIP_BUILD=1 (use what is in build-chaos), JOBS (ninja -j, default 2),
#      KEEP=1 (keep every agent log and data directory).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-chaos"
py=/usr/bin/python3
[[ -x $py ]] || py=python3

for arg in "$@"; do  # nothing to build for these
  case "$arg" in -h|--help|--list) exec "$py" "$root/bench/chaos.py" "$@" ;; esac
done

if [[ $(id -u) -eq 0 ]]; then
  bash "$root/scripts/install-deps.sh" --bench >&2  # keeps stdout to the report
elif ! command -v prlimit >/dev/null; then
  echo "chaos: prlimit not found: run scripts/install-deps.sh --bench as root" >&2
  exit 1
fi
if [[ -z "${SKIP_BUILD:-}" ]]; then
  if [[ ! -f "$build/build.ninja" ]]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DROSTER_BUILD_TESTS=OFF >/dev/null
  fi
  ninja -C "$build" -j"${JOBS:-2}" roster chaos_forge >/dev/null
fi

# The clients hold thousands of sockets (2,000 parked queries, 1,000 connections from one address).
hard="$(ulimit -Hn)"
if [[ "$hard" == unlimited || "$hard" -ge 65536 ]]; then ulimit -n 65536; else ulimit -n "$hard"; fi

driver_pid=""
cleanup() {
  # chaos.py stops its agents itself; this covers an interrupted driver.
  if [[ -n "$driver_pid" ]] && kill -0 "$driver_pid" 2>/dev/null; then
    kill -TERM "$driver_pid" 2>/dev/null || true
    wait "$driver_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT INT TERM

args=(--roster "$build/agent/roster" --forge "$build/bench/chaos_forge")
[[ -n "${KEEP:-}" ]] && args+=(--keep)
"$py" "$root/bench/chaos.py" "${args[@]}" "$@" &
driver_pid=$!
status=0
wait "$driver_pid" || status=$?
driver_pid=""
exit "$status"
