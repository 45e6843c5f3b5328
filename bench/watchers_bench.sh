#!/usr/bin/env bash
# Blocking-query fan-out: 10,000 watchers on distinct keys + 10,000 on one hot
# key against a Release `roster agent -dev`; agent RSS, hot-key wake time, and
# proof that the hot write woke nobody else. See bench/watchers_bench.cc.
#
#   bench/watchers_bench.sh          (about 30 s)
#
# Env: SKIP_BUILD=1 (use the roster already in build-bench),
#      DISTINCT (10000), HOT (10000), SERVER_CPU / CLIENT_CPU (0 / 1).
#
# File descriptors: the agent needs one per connection plus its own handful,
# the client runs two worker processes of up to 10,000 sockets each. The script
# raises the soft limit to min(65536, hard limit). If the hard limit is too low
# for the agent to hold DISTINCT + HOT sockets (it cannot be raised without
# CAP_SYS_RESOURCE), the distinct-key count is reduced to fit and this is said
# in the output; the hot-key count is never reduced.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-bench"
distinct="${DISTINCT:-10000}"
hot="${HOT:-10000}"
server_cpu="${SERVER_CPU:-0}"
client_cpu="${CLIENT_CPU:-1}"
py=/usr/bin/python3

hard="$(ulimit -Hn)"
if [[ "$hard" == unlimited || "$hard" -ge 65536 ]]; then ulimit -n 65536; else ulimit -n "$hard"; fi
limit="$(ulimit -n)"

if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DROSTER_BUILD_TESTS=OFF >/dev/null
fi
[[ -n "${SKIP_BUILD:-}" ]] || ninja -C "$build" -j"${JOBS:-2}" roster >/dev/null
roster="$build/agent/roster"
[[ -x "$roster" ]] || roster="$(find "$build" -maxdepth 3 -type f -name roster -perm -u+x | awk 'NR==1')"
client="$build/bench/watchers_bench"
mkdir -p "$build/bench"
if [[ ! -x "$client" || "$root/bench/watchers_bench.cc" -nt "$client" ]]; then
  g++ -std=c++20 -O2 -Wall -Wextra -o "$client" "$root/bench/watchers_bench.cc"
fi

work="$(mktemp -d /tmp/roster-watchers-bench.XXXXXX)"
agent_pid=""
cleanup() {
  if [[ -n "$agent_pid" ]] && kill -0 "$agent_pid" 2>/dev/null; then
    kill "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
port="$(free_port)"
taskset -c "$server_cpu" "$roster" agent -dev -http-port "$port" -node watchers -log-level warn \
  -bind 127.0.0.1 -serf-lan-port "$(free_port)" >"$work/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 200); do
  curl -fs -o /dev/null "http://127.0.0.1:$port/v1/status/leader" && break
  sleep 0.1
done
curl -fs -o /dev/null "http://127.0.0.1:$port/v1/status/leader" || { cat "$work/agent.log" >&2; exit 1; }

agent_fds="$(ls "/proc/$agent_pid/fd" | wc -l)"
agent_limit="$(awk '/Max open files/ {print $4}' "/proc/$agent_pid/limits")"
# Room for the bench's own short-lived control connections too.
room=$((agent_limit - agent_fds - 4))
note=""
if (( distinct + hot > room )); then
  requested=$distinct
  distinct=$((room - hot))
  note="NOTE: the fd hard limit is $hard and cannot be raised here; the agent starts with $agent_fds fds, so it can hold at most $room client sockets: distinct-key watchers reduced from $requested to $distinct."
fi

echo "watchers_bench: $(date -u +%F), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), loopback;" \
     "agent pinned to CPU $server_cpu, client to CPU $client_cpu (taskset); fd limit $agent_limit"
[[ -n "$note" ]] && echo "$note"
set +e
taskset -c "$client_cpu" "$client" --port "$port" --pid "$agent_pid" --distinct "$distinct" --hot "$hot"
rc=$?
set -e
if grep -qiE 'error|warn' "$work/agent.log"; then
  echo "agent log:"; grep -iE 'error|warn' "$work/agent.log" | sort | uniq -c | head -10
fi
exit $rc
