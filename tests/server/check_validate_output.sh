#!/bin/sh
# Runs `roster-deploy validate DIR` and checks that it fails and that its
# output holds every line of EXPECTED (fixed strings, one per line) and
# nothing about db.conf, which only non-overlapping plays manage, and no
# error beyond the 13 expected.
# Usage: check_validate_output.sh ROSTER_DEPLOY DIR EXPECTED
set -u
deploy=$1 dir=$2 expected=$3
output=$("$deploy" validate "$dir" 2>&1)
status=$?
printf '%s\n' "$output"
if [ "$status" -eq 0 ]; then
  echo "FAIL: roster-deploy validate exited 0 on broken playbooks" >&2
  exit 1
fi
missing=0
while IFS= read -r line; do
  [ -z "$line" ] && continue
  if ! printf '%s\n' "$output" | grep -qF -- "$line"; then
    echo "FAIL: missing from the output: $line" >&2
    missing=1
  fi
done < "$expected"
if printf '%s\n' "$output" | grep -qF "db.conf"; then
  echo "FAIL: db.conf is reported, but role=db and role=web/env=prod plays never share /etc/db.conf" >&2
  missing=1
fi
count=$(grep -c . "$expected")
errors=$(printf '%s\n' "$output" | grep -c '^[^ ]*:[0-9][0-9]*: ')
if [ "$errors" -ne 13 ]; then
  echo "FAIL: expected 13 errors, got $errors" >&2
  missing=1
fi
[ "$missing" -eq 0 ] && echo "all $count expected lines found"
exit "$missing"
