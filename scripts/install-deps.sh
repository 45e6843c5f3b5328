#!/usr/bin/env bash
# Installs everything Roster needs to build, test and run its demo on Debian 12.
# Idempotent and non-interactive; run as root. Pass --bench to add the benchmark tools.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git curl
  libboost-dev libboost-system-dev
  libcpprest-dev libyaml-cpp-dev nlohmann-json3-dev
  libspdlog-dev libfmt-dev libcli11-dev
  libssl-dev libxxhash-dev zlib1g-dev
  protobuf-compiler libprotobuf-dev
  libgtest-dev libgmock-dev
  python3 python3-consul
  prometheus  # tests/integration/test_prometheus.py scrapes an agent with it
  clang libclang-rt-14-dev
)
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
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages (${missing[*]}); run this script as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
