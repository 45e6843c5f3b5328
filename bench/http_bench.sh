#!/usr/bin/env bash
# HTTP read throughput of a -dev agent, and the same small-key read on etcd.
#
#   bench/http_bench.sh            (about 1 minute)
#
# Steps: install bench deps (wrk, etcd) -> build Release roster in build-bench
# -> start `roster agent -dev` on a free loopback port -> seed one small KV key
# and 100 catalog nodes -> wrk GET /v1/kv/<key> and GET /v1/catalog/nodes ->
# stop the agent -> start a single-member etcd (data in mktemp) -> wrk the v3
# JSON gateway's serializable range of a small key -> print the ratio.
#
# CPU placement: the server under test (roster or etcd) is pinned to core 0
# and wrk to core 1 with taskset, so the two never fight over a core. roster's
# agent serves HTTP on one thread; etcd gets the same single core.
#
# Env: SKIP_BUILD=1 (use the roster already in build-bench),
#      DURATION (wrk seconds, default 10), CONNECTIONS (default 32),
#      SERVER_CPU / CLIENT_CPU (default 0 / 1).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-bench"
duration="${DURATION:-10}"
connections="${CONNECTIONS:-32}"
server_cpu="${SERVER_CPU:-0}"
client_cpu="${CLIENT_CPU:-1}"
py=/usr/bin/python3

bash "$root/scripts/install-deps.sh" --bench
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DROSTER_BUILD_TESTS=OFF >/dev/null
fi
[[ -n "${SKIP_BUILD:-}" ]] || ninja -C "$build" -j"${JOBS:-2}" roster >/dev/null
roster="$build/agent/roster"
[[ -x "$roster" ]] || roster="$(find "$build" -maxdepth 3 -type f -name roster -perm -u+x | awk 'NR==1')"

work="$(mktemp -d /tmp/roster-http-bench.XXXXXX)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_http() {  # url [curl args...]: polls until the URL answers 200, 20 s deadline
  local url="$1"; shift
  for _ in $(seq 200); do
    if curl -fs -o /dev/null "$@" "$url"; then return 0; fi
    sleep 0.1
  done
  echo "http_bench: $url did not come up; log:" >&2
  cat "$work"/*.log >&2 || true
  return 1
}

ticks="$(getconf CLK_TCK)"
cpu_ticks() {  # user + system CPU ticks of a process and all its threads
  awk '{print $14 + $15}' "/proc/$1/stat"
}

# run_wrk label url [wrk args...]: prints "label: N req/s, p99 X" and sets rps_<n>
results=()
run_wrk() {
  local label="$1" url="$2"; shift 2
  local out cpu_before cpu_after
  cpu_before="$(cpu_ticks "$server_pid")"
  out="$(taskset -c "$client_cpu" wrk -t1 -c"$connections" -d"${duration}s" --latency "$@" "$url")"
  cpu_after="$(cpu_ticks "$server_pid")"
  echo "$out" >"$work/wrk-$(echo "$label" | tr -c 'a-zA-Z0-9' '_').txt"
  local rps p99 p50 errors
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  errors="$(awk '/Non-2xx or 3xx responses:/ {print $5} /Socket errors:/ {print "socket:" $0}' <<<"$out")"
  local requests per_cpu_second
  requests="$(awk '/requests in/ {print $1}' <<<"$out")"
  per_cpu_second="$("$py" -c "t=($cpu_after-$cpu_before)/$ticks; print(f'{$requests/t:.0f}' if t > 0 else 'n/a')")"
  printf '%-44s %10s req/s   p50 %-9s p99 %-9s server CPU %4s%%, %s req per server CPU-second\n' "$label" "$rps" \
    "$p50" "$p99" "$(( (cpu_after - cpu_before) * 100 / ticks / duration ))" "$per_cpu_second"
  if [[ -n "$errors" ]]; then
    echo "http_bench: $label had errors: $errors" >&2
    echo "$out" >&2
    exit 1
  fi
  last_rps="$rps"
  last_per_cpu="$per_cpu_second"
}

echo "http_bench: $(date -u +%F) $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
     "server pinned to CPU $server_cpu, wrk to CPU $client_cpu (taskset), loopback," \
     "wrk -t1 -c$connections -d${duration}s"

# ---------------- roster ----------------
port="$(free_port)"
taskset -c "$server_cpu" "$roster" agent -dev -http-port "$port" -node bench -log-level warn \
  -bind 127.0.0.1 -serf-lan-port "$(free_port)" \
  >"$work/roster.log" 2>&1 &
server_pid=$!
api="http://127.0.0.1:$port"
wait_http "$api/v1/status/leader"

small_value="$(head -c 64 /dev/zero | tr '\0' 'v')"
curl -fs -X PUT --data-binary "$small_value" "$api/v1/kv/bench/small" >/dev/null
for i in $(seq 1 100); do
  printf '{"Node":"node-%03d","Address":"10.0.%d.%d","NodeMeta":{"rack":"r%d"}}' "$i" $((i / 250)) $((i % 250)) $((i % 4)) \
    >"$work/node.json"
  curl -fs -X PUT --data-binary @"$work/node.json" "$api/v1/catalog/register" >/dev/null
done
nodes="$(curl -fs "$api/v1/catalog/nodes" | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
[[ "$nodes" -ge 100 ]] || { echo "http_bench: expected >= 100 nodes, got $nodes" >&2; exit 1; }
kv_bytes="$(curl -fs "$api/v1/kv/bench/small" | wc -c)"
nodes_bytes="$(curl -fs "$api/v1/catalog/nodes" | wc -c)"

run_wrk "roster GET /v1/kv/bench/small (${kv_bytes} B)" "$api/v1/kv/bench/small"
roster_kv_rps="$last_rps"
roster_kv_per_cpu="$last_per_cpu"
run_wrk "roster GET /v1/catalog/nodes ($nodes nodes, ${nodes_bytes} B)" "$api/v1/catalog/nodes"
roster_rss_kib="$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
server_pid=""

# ---------------- etcd ----------------
client_port="$(free_port)"
peer_port="$(free_port)"
client_url="http://127.0.0.1:$client_port"
peer_url="http://127.0.0.1:$peer_port"
taskset -c "$server_cpu" etcd --name bench0 --data-dir "$work/etcd-data" \
  --listen-client-urls "$client_url" --advertise-client-urls "$client_url" \
  --listen-peer-urls "$peer_url" --initial-advertise-peer-urls "$peer_url" \
  --initial-cluster "bench0=$peer_url" --initial-cluster-state new \
  --initial-cluster-token "roster-bench-$$" --log-level warn --logger zap \
  >"$work/etcd.log" 2>&1 &
server_pid=$!
key_b64="$(printf 'bench/small' | base64 -w0)"
value_b64="$(printf '%s' "$small_value" | base64 -w0)"
for _ in $(seq 200); do
  if curl -fs -o /dev/null -X POST -d "{\"key\":\"$key_b64\",\"value\":\"$value_b64\"}" "$client_url/v3/kv/put"; then
    break
  fi
  sleep 0.1
done
range_body="{\"key\":\"$key_b64\",\"serializable\":true}"
got="$(curl -fs -X POST -d "$range_body" "$client_url/v3/kv/range")"
grep -q "\"value\":\"$value_b64\"" <<<"$got" || { echo "http_bench: etcd range failed: $got" >&2; exit 1; }

ETCD_KEY_B64="$key_b64" run_wrk "etcd POST /v3/kv/range serializable (${#got} B)" "$client_url/v3/kv/range" \
  -s "$root/bench/etcd_range.lua"
etcd_rps="$last_rps"
etcd_per_cpu="$last_per_cpu"
# etcd is multi-threaded: also give it both cores (wrk stays on its own), as
# a check that pinning it to one core is not what makes it slower.
taskset -a -p -c 0-1 "$server_pid" >/dev/null
ETCD_KEY_B64="$key_b64" run_wrk "etcd, same, server unpinned (CPUs 0-1)" "$client_url/v3/kv/range" \
  -s "$root/bench/etcd_range.lua"
etcd_unpinned_rps="$last_rps"
etcd_version="$(etcd --version | awk 'NR==1')"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
server_pid=""

ratio="$("$py" -c "print(f'{$roster_kv_rps / $etcd_rps:.2f}')")"
echo "roster agent RSS after the runs: $((roster_rss_kib / 1024)) MiB; $etcd_version"
ratio_unpinned="$("$py" -c "print(f'{$roster_kv_rps / $etcd_unpinned_rps:.2f}')")"
echo "ratio roster KV GET / etcd serializable GET: ${ratio}x (both servers on one core);" \
     "${ratio_unpinned}x against etcd on both cores"
echo "CPU efficiency: roster serves $roster_kv_per_cpu KV GETs per CPU-second, etcd $etcd_per_cpu serializable GETs" \
     "per CPU-second ($("$py" -c "print(f'{$roster_kv_per_cpu / $etcd_per_cpu:.1f}')")x)"
echo "(the machine is shared: when other work holds CPU $server_cpu the req/s figures drop, the per-CPU-second ones do not)"
"$py" - "$roster_kv_rps" "$ratio" <<'PY'
import sys
rps, ratio = float(sys.argv[1]), float(sys.argv[2])
print(f"target small KV GET >= 30000 req/s: {'met' if rps >= 30000 else 'MISSED'} ({rps:.0f})")
print(f"target >= 4x etcd serializable GET: {'met' if ratio >= 4 else 'MISSED'} ({ratio:.2f}x)")
PY
