#!/bin/sh
# Installs the build tree into a temporary prefix, then configures and builds
# tests/install/consumer against it with find_package(Synod). Usage:
#   install_test.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
source=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/synod/client.h"
cmake -S "$source/tests/install/consumer" -B "$tmp/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/build" -j1 >/dev/null
test -x "$tmp/build/consumer"
echo "install test: find_package(Synod) and Synod::client work from $tmp/prefix"
