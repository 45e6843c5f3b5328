#!/usr/bin/env bash
# The API walkthrough: builds the agent, starts `roster agent -dev` on loopback, and
# walks through what an operator does with it, printing each step.
#
#   bash scripts/api_demo.sh            (as root on a fresh Debian 12 machine)
#   ROSTER_DEMO_PORT=18500 bash scripts/api_demo.sh     (if 8500 is taken)
#   ROSTER_DEMO_KEEP=1 bash scripts/api_demo.sh         (leave the agent running)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

build_dir=${ROSTER_DEMO_BUILD_DIR:-build/release}
bash scripts/release_build.sh "$build_dir" roster

roster="$PWD/$build_dir/agent/roster"
port=${ROSTER_DEMO_PORT:-8500}
export ROSTER_HTTP_ADDR="127.0.0.1:$port"
data_dir=$(mktemp -d /tmp/roster-demo.XXXXXX)
log="$data_dir/agent.log"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "Starting a dev agent (its own server) on $ROSTER_HTTP_ADDR, data in $data_dir"
"$roster" agent -dev -node demo-1 -http-port "$port" -data-dir "$data_dir" -tag image=golden-2026.11 >"$log" 2>&1 &
agent_pid=$!
stop_agent() {
  if [[ -z "${ROSTER_DEMO_KEEP:-}" ]]; then
    kill "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
    rm -rf "$data_dir"
  else
    echo "Agent left running (pid $agent_pid, log $log)."
  fi
}
trap stop_agent EXIT
for _ in $(seq 100); do
  if curl -sf "http://$ROSTER_HTTP_ADDR/v1/status/leader" >/dev/null; then break; fi
  if ! kill -0 "$agent_pid" 2>/dev/null; then cat "$log"; echo "the agent exited" >&2; exit 1; fi
  sleep 0.1
done
curl -sf "http://$ROSTER_HTTP_ADDR/v1/status/leader" >/dev/null || { cat "$log"; echo "agent did not start" >&2; exit 1; }
run "$roster" info

step "Registering a service 'web' on port 8080 with a TTL health check"
run curl -sf -X PUT "http://$ROSTER_HTTP_ADDR/v1/agent/service/register" \
  -d '{"Name": "web", "Port": 8080, "Tags": ["v1"], "Check": {"TTL": "30s"}}'
run curl -sf -X PUT "http://$ROSTER_HTTP_ADDR/v1/agent/check/pass/service:web?note=ready"
run "$roster" catalog services

step "Tagging the node as an operator: role=web"
run "$roster" tag set role=web env=demo
run "$roster" catalog nodes -tag role=web

step "Writing and reading KV"
run "$roster" kv put app/web/replicas 3
run "$roster" kv put app/web/image nginx:1.25
run "$roster" kv get -recurse app/web

step "Asking as a Consul client would: healthy instances of web"
run curl -sf "http://$ROSTER_HTTP_ADDR/v1/health/service/web?passing"
echo

step "Members of the pool"
run "$roster" members
echo
echo "Demo finished. The agent's log is below."
cat "$log"
