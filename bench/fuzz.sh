#!/usr/bin/env bash
# Builds the libFuzzer target for the HTTP API and runs it for a while.
#
#   bench/fuzz.sh [seconds]     (default 300)
#
# Build dir: build-fuzz (clang, -DROSTER_FUZZ=ON). The seed corpus in
# tests/fuzz/corpus/ is copied to a scratch corpus, so the repo stays clean.
# Crash inputs land in $FUZZ_ARTIFACTS (default build-fuzz/fuzz-artifacts/).
# Prints the number of executions and whether it crashed; exits non-zero on a
# crash.
set -euo pipefail

seconds="${1:-300}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
artifacts="${FUZZ_ARTIFACTS:-$build/fuzz-artifacts}"

if [[ ! -f "$build/build.ninja" ]]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DROSTER_FUZZ=ON -DROSTER_BUILD_TESTS=OFF >/dev/null
fi
ninja -C "$build" -j"${JOBS:-2}" http_api_fuzz

work="$(mktemp -d /tmp/roster-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$artifacts"
cp "$root"/tests/fuzz/corpus/* "$work/corpus/"

echo "fuzz: running http_api_fuzz for ${seconds}s (-max_len=4096 -rss_limit_mb=2048)"
set +e
"$build/tests/fuzz/http_api_fuzz" "$work/corpus" \
  -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 \
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
