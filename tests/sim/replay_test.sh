#!/usr/bin/env bash
# A seed is a bug report: replaying it must reproduce the run byte for byte,
# every transition included. Runs a few seeds twice with --log full and
# compares, and checks that a failing canary seed prints its replay command.
set -euo pipefail
sim=${1:?usage: replay_test.sh SYNOD_SIM}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for seed in 3 17 42; do
  "$sim" --seed "$seed" --log full > "$tmp/a"
  "$sim" --seed "$seed" --log full > "$tmp/b"
  # The closing line carries the measured speed; everything else must match.
  if ! cmp -s <(grep -v '^sim: ' "$tmp/a") <(grep -v '^sim: ' "$tmp/b"); then
    echo "replay: seed $seed did not reproduce byte for byte"
    diff <(grep -v '^sim: ' "$tmp/a") <(grep -v '^sim: ' "$tmp/b") | head -20
    exit 1
  fi
  lines=$(wc -l < "$tmp/a")
  [ "$lines" -gt 10 ] || { echo "replay: seed $seed logged only $lines lines"; exit 1; }
done
"$sim" --seed 1 --canary short-quorum --log none > "$tmp/c" || true
grep -q '^replay: synod-sim --seed 1 --canary short-quorum --log full$' "$tmp/c" \
  || { echo "replay: a failing seed did not end with its replay command"; cat "$tmp/c"; exit 1; }
grep -q '^sim: 0 passed, 1 failed' "$tmp/c" || { echo "replay: wrong closing line"; exit 1; }
echo "replay: seeds 3, 17, 42 reproduce byte for byte; failures print their replay command"
