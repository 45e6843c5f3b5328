#!/usr/bin/env bash
# Installs everything Roster needs to build, test and run its demo on Debian 12.
# Idempotent and non-interactive; run as root. Pass --bench to add the benchmark tools.
# Last, it installs the npm client suite's packages from tests/clients/node/package-lock.json.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake ninja-build ccache pkg-config git curl
  libboost-dev libboost-system-dev
  libcpprest-dev libyaml-cpp-dev nlohmann-json3-dev
  libspdlog-dev libfmt-dev libcli11-dev
  libssl-dev libxxhash-dev zlib1g-dev
  libkainjow-mustache-dev  # playbook templates (server/playbook)
  protobuf-compiler libprotobuf-dev
  libgtest-dev libgmock-dev
  python3 python3-consul
  ansible-core  # tests/clients/ansible: ansible-inventory against /v1/roster/inventory
  prometheus  # tests/integration/test_prometheus.py scrapes an agent with it
  clang libclang-rt-14-dev
)
# Node.js and npm run the npm `consul` client suite (tests/clients/node). Debian's nodejs
# and npm packages provide them. A NodeSource nodejs bundles npm and conflicts with
# Debian's npm package, so the packages are only asked for when a command is missing.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(wrk etcd-server etcd-client libbenchmark-dev serf python3-msgpack util-linux iproute2
             golang-go golang-etcd-server-dev)  # the last two build the etcd anchor's gRPC load generator
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if (( ${#missing[@]} == 0 )); then
  echo "install-deps: all ${#packages[@]} packages already installed"
else
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages (${missing[*]}); run this script as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  echo "install-deps: installed ${missing[*]}"
fi

# The npm client suite's packages, exactly as the lockfile pins them. `npm ci` starts
# from an empty node_modules, so it runs only when the lockfile differs from the copy
# left by the last install.
node_suite="$repo/tests/clients/node"
installed_lock="$node_suite/node_modules/.roster-installed-package-lock.json"
if cmp -s "$node_suite/package-lock.json" "$installed_lock"; then
  echo "install-deps: npm packages of tests/clients/node already installed"
else
  (cd "$node_suite" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$node_suite/package-lock.json" "$installed_lock"
  echo "install-deps: installed the npm packages of tests/clients/node"
fi
