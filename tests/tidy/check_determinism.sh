#!/usr/bin/env bash
# The deterministic layers (DESIGN.md, "Layers") must not reach the outside
# world: no Asio, threads, locks, <random>, file streams or iostreams, no clock
# reads, no std::random_device. The simulator runs these folders as they are,
# so one stray clock read would make a seed stop replaying.
#
#   check_determinism.sh SOURCE_DIR   checks the tree; exit 1 naming each hit
#   check_determinism.sh --self-test  proves the check catches a planted hit
set -euo pipefail

folders=(base consensus protocol server/store server/wal server/replica server/codec client/core)
pattern='#[[:space:]]*include[[:space:]]*<(asio|thread|mutex|shared_mutex|condition_variable|future|random|fstream|iostream)([>./])'
pattern+='|_clock::now[[:space:]]*\(|random_device|[^_a-z]time[[:space:]]*\([[:space:]]*(nullptr|NULL|0)?[[:space:]]*\)|gettimeofday|clock_gettime|std::thread|pthread_create'

check() {
  local root=$1 hits=0
  for folder in "${folders[@]}"; do
    [ -d "$root/$folder" ] || continue
    # The runtime is the one Asio layer inside server/, so it is not scanned.
    while IFS= read -r hit; do
      echo "tidy: $hit — $folder must stay deterministic (DESIGN.md, Layers)"
      hits=$((hits + 1))
    done < <(grep -rnE "$pattern" "$root/$folder" --include='*.h' --include='*.cpp' --include='*.hpp' || true)
  done
  if [ "$hits" -gt 0 ]; then
    echo "tidy: $hits forbidden use(s) in deterministic layers"
    return 1
  fi
  echo "tidy: deterministic layers are clean (${folders[*]})"
}

if [ "${1:-}" = "--self-test" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/consensus" "$tmp/base"
  echo 'int main() {}' > "$tmp/base/clean.h"
  check "$tmp" >/dev/null || { echo "tidy self-test: a clean tree was rejected"; exit 1; }
  for planted in '#include <thread>' '#include <asio/ip/tcp.hpp>' \
                 'auto t = std::chrono::steady_clock::now();' 'std::random_device rd;' \
                 '#include <random>' '#include <fstream>'; do
    echo "$planted" > "$tmp/consensus/bad.cpp"
    if check "$tmp" >/dev/null; then
      echo "tidy self-test: missed planted line: $planted"
      exit 1
    fi
  done
  echo "tidy self-test: every planted forbidden use was caught"
  exit 0
fi

check "${1:?usage: check_determinism.sh SOURCE_DIR | --self-test}"
