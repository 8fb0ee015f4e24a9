#!/usr/bin/env bash
# scripts/test.sh — install what the build needs, build, and run the whole
# test suite through ctest. Works on a bare Debian 12 (run as root or with
# sudo available). Environment:
#   BUILD_DIR   build directory (default: build)
#   BUILD_TYPE  CMake build type (default: RelWithDebInfo; assertions stay on)
#   CTEST_ARGS  extra arguments for ctest (e.g. "-L unit")
set -euo pipefail
cd "$(dirname "$0")/.."

# Installs with apt-get whatever is missing: g++, cmake, ninja, ccache,
# python3 and the -dev packages (scripts/install-deps.sh lists them).
bash scripts/install-deps.sh

build_dir=${BUILD_DIR:-build}
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}"
cmake --build "$build_dir" -j "$jobs"
# shellcheck disable=SC2086
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" ${CTEST_ARGS:-}
