#!/usr/bin/env bash
# scripts/build-release.sh — build synodd and synod in the Release
# configuration (-O3) that scripts/quickstart.sh runs, into BUILD_DIR
# (default build-release). CI builds it too (.ci/run), with CI set, so
# warnings that only -O3 shows fail there (-Werror) instead of on a user's
# machine. Expects the packages scripts/install-deps.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build-release}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" --target synodd synod
