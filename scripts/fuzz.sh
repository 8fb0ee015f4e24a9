#!/usr/bin/env bash
# scripts/fuzz.sh SECONDS [TARGET...] — build the libFuzzer targets with
# clang (installed with apt-get when missing) and run each for SECONDS.
#
# Targets (tests/fuzz/): fuzz-client (client frames into a one-voter
# replica), fuzz-peer (peer frames into a consensus core), fuzz-recovery (a
# data dir of arbitrary bytes recovered). Default: all three.
#
# Each target keeps its corpus in build-fuzz/corpus/<target>, seeded from
# the valid inputs fuzz-seeds writes, so later runs start where earlier ones
# stopped. A crash stops that target; the script goes on with the others,
# prints every crash file and how to reproduce it, and exits 1. A crash
# input becomes a named case in the target's doctest corpus
# (tests/unit/{replica,consensus,wal}/..._test.cpp), with the product fix.
#
# Environment: BUILD_DIR (default build-fuzz), JOBS (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh SECONDS [fuzz-client|fuzz-peer|fuzz-recovery ...]" >&2
  exit 2
fi
seconds=$1
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz-client fuzz-peer fuzz-recovery)
for t in "${targets[@]}"; do
  case $t in
    fuzz-client | fuzz-peer | fuzz-recovery) ;;
    *) echo "fuzz.sh: unknown target $t" >&2; exit 2 ;;
  esac
done

bash scripts/install-deps.sh
# clang and its runtime (libFuzzer, the sanitizers), as install-deps.sh does.
if ! command -v clang++ > /dev/null || ! command -v clang > /dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "fuzz.sh: installing clang"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang
fi

build_dir=${BUILD_DIR:-build-fuzz}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSYNOD_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ > /dev/null
cmake --build "$build_dir" -j "$jobs" --target fuzz-seeds "${targets[@]}"

seeds="$build_dir/corpus-seeds"
rm -rf "$seeds"
"$build_dir/tests/fuzz/fuzz-seeds" "$seeds"

crashes=()
for t in "${targets[@]}"; do
  corpus="$build_dir/corpus/$t"
  artifacts="$build_dir/crashes/$t/"
  mkdir -p "$corpus" "$artifacts"
  cp -n "$seeds/$t"/* "$corpus"/ 2> /dev/null || true
  log="$build_dir/crashes/$t.log"
  echo "fuzz.sh: $t for ${seconds}s (corpus $corpus: $(find "$corpus" -type f | wc -l) inputs)"
  set +e
  # -print_final_stats: one progress line at the end; the log keeps the rest.
  "$build_dir/tests/fuzz/$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" > "$log" 2>&1
  rc=$?
  set -e
  grep -E '^#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::new_units_added' "$log" |
    tail -n 3 | sed "s/^/fuzz.sh: $t: /"
  if [ $rc -ne 0 ]; then
    found=$(grep -oE "Test unit written to [^ ]+" "$log" | sed 's/Test unit written to //' || true)
    [ -n "$found" ] || found="(no crash file; see $log)"
    echo "fuzz.sh: $t FAILED (exit $rc): $found"
    grep -E "synod: assertion failed|fuzz-[a-z]+: |ERROR: (AddressSanitizer|libFuzzer)|runtime error" \
      "$log" | head -n 5 | sed "s/^/fuzz.sh: $t:   /"
    crashes+=("$t $found")
  else
    echo "fuzz.sh: $t ok"
  fi
done

if [ ${#crashes[@]} -gt 0 ]; then
  echo "fuzz.sh: ${#crashes[@]} target(s) crashed. Reproduce with:"
  for c in "${crashes[@]}"; do
    read -r target file <<< "$c"
    echo "  $build_dir/tests/fuzz/$target $file"
  done
  exit 1
fi
echo "fuzz.sh: every target ran ${seconds}s without a crash"
