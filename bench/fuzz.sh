#!/usr/bin/env bash
# Builds a libFuzzer target and runs it for a while.
#
#   bench/fuzz.sh [seconds] [target]     (default: 300 s of http_api_fuzz)
#   bench/fuzz.sh 300 gossip_packet_fuzz  (the gossip wire decoders)
#   bench/fuzz.sh 300 raft_frame_fuzz     (the Raft frame reader and decoder)
#   bench/fuzz.sh 300 rpc_frame_fuzz      (RPC frames on the server port: request and response decoders)
#   bench/fuzz.sh 300 bundle_decode_fuzz  (deploy bundles: open_bundle, decode_bundle_unverified)
#   bench/fuzz.sh 300 playbook_loader_fuzz (the playbook loader and validate's checks)
#
# Build dir: build-fuzz (clang, -DROSTER_FUZZ=ON). The target's seed corpus
# (tests/fuzz/corpus/ for the HTTP API, tests/fuzz/gossip_corpus/ for the
# gossip wire, tests/fuzz/raft_corpus/ for Raft frames, tests/fuzz/rpc_corpus/ for
# RPC frames, tests/fuzz/bundle_corpus/
# and tests/fuzz/playbook_corpus/ for deploy bundles and playbooks) is copied to a
# scratch corpus, so the repo stays clean.
# Crash inputs land in $FUZZ_ARTIFACTS (default build-fuzz/fuzz-artifacts/).
# Prints the number of executions and whether it crashed; exits non-zero on a
# crash.
set -euo pipefail

seconds="${1:-300}"
target="${2:-http_api_fuzz}"
case "$target" in
  http_api_fuzz) corpus_dir=corpus; max_len=4096 ;;
  gossip_packet_fuzz) corpus_dir=gossip_corpus; max_len=8192 ;;
  raft_frame_fuzz) corpus_dir=raft_corpus; max_len=8192 ;;
  rpc_frame_fuzz) corpus_dir=rpc_corpus; max_len=8192 ;;
  bundle_decode_fuzz) corpus_dir=bundle_corpus; max_len=8192 ;;
  playbook_loader_fuzz) corpus_dir=playbook_corpus; max_len=8192 ;;
  *) echo "fuzz: unknown target $target (http_api_fuzz, gossip_packet_fuzz, raft_frame_fuzz, rpc_frame_fuzz, bundle_decode_fuzz or playbook_loader_fuzz)" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
artifacts="${FUZZ_ARTIFACTS:-$build/fuzz-artifacts}"

if [[ ! -f "$build/build.ninja" ]]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DROSTER_FUZZ=ON -DROSTER_BUILD_TESTS=OFF >/dev/null
fi
ninja -C "$build" -j"${JOBS:-2}" "$target"

work="$(mktemp -d /tmp/roster-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$artifacts"
cp "$root"/tests/fuzz/"$corpus_dir"/* "$work/corpus/"

echo "fuzz: running $target for ${seconds}s (-max_len=$max_len -rss_limit_mb=2048)"
set +e
"$build/tests/fuzz/$target" "$work/corpus" \
  -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" >"$work/log" 2>&1
rc=$?
set -e

execs="$(grep -oP 'stat::number_of_executed_units:\s*\K[0-9]+' "$work/log" | tail -1 || true)"
[[ -z "$execs" ]] && execs="$(grep -oP '^Done \K[0-9]+(?= runs)' "$work/log" | tail -1 || true)"
cov="$(grep -oP '#[0-9]+\s+(DONE|pulse|NEW|REDUCE)\s+cov: \K[0-9]+' "$work/log" | tail -1 || true)"
corpus_size="$(find "$work/corpus" -type f | wc -l)"
echo "fuzz: exit code $rc, executions ${execs:-unknown}, coverage edges ${cov:-unknown}, corpus $corpus_size inputs"
if [[ $rc -ne 0 ]]; then
  echo "fuzz: CRASHED; log tail and artifacts (in $artifacts):"
  grep -E 'ERROR|SUMMARY|Test unit written|runtime error' "$work/log" | head -20
  tail -60 "$work/log" > "$artifacts/last-crash.log"
  echo "fuzz: full tail saved to $artifacts/last-crash.log"
  exit 1
fi
echo "fuzz: no crash"
