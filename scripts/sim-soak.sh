#!/usr/bin/env bash
# scripts/sim-soak.sh SECONDS [CANARY] — run random simulator seeds for about
# SECONDS (default 600), beyond CI's fixed range. Builds first if needed.
# Prints each failing seed's replay command; exits 1 if any seed failed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
build_dir=${BUILD_DIR:-build}
[ -x "$build_dir/tests/sim/synod-sim" ] || {
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build_dir" --target synod-sim
}
sim="$build_dir/tests/sim/synod-sim"
deadline=$(( $(date +%s) + seconds ))
failed=0 ran=0
while [ "$(date +%s)" -lt "$deadline" ]; do
  base=$(( (RANDOM << 30) ^ (RANDOM << 15) ^ RANDOM ))
  if ! out=$("$sim" --seeds "$base:$((base + 99))" --log none); then
    echo "$out" | grep -E 'FAILED|replay:'
    failed=1
  fi
  ran=$((ran + 100))
  echo "sim-soak: $ran seeds so far, $(( deadline - $(date +%s) ))s left"
done
echo "sim-soak: $ran random seeds, $([ $failed = 0 ] && echo 'all passed' || echo 'FAILURES above')"
exit $failed
