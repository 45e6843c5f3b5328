#!/usr/bin/env bash
# The deploy benchmark (roster-deploy issue, item 9), with Ansible as the anchor in
# the same run. From the project root:
#
#   bash bench/deploy_bench.sh                  (about 10 minutes)
#   bash bench/deploy_bench.sh --sizes 1 --skip-ansible --samples 50   (a quick look)
#
# Steps: install deps (ansible-core among them) -> build Release roster and
# roster-deploy -> bench/deploy_bench.py: for 1, 50 and 200 client agents on
# loopback, a dev agent, the agents (sandboxed exec roots) and roster-deploy with
# bench/deploy/playbooks/; event-to-applied p50/p99 over 100 retags; at 200, every
# node retagged at once and roster-deploy's RSS; then ansible-playbook running the
# same four tasks on 200 local hosts; both with 50 in flight (roster-deploy -forks 50, ansible-playbook -f 50), flipping every host's color the same
# way; the ratio. Extra arguments go to deploy_bench.py (--help lists them).
#
# Env: BUILD_DIR (default build/rel), SKIP_BUILD=1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-$root/build/rel}"
if [[ -z "${SKIP_BUILD:-}" ]]; then
  bash scripts/install-deps.sh
  bash scripts/release_build.sh "$build" roster roster-deploy
fi
# Many agents, each with sockets and files: lift the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec /usr/bin/python3 bench/deploy_bench.py --roster-bin "$build/agent/roster" \
  --deploy-bin "$build/server/roster-deploy" "$@"
