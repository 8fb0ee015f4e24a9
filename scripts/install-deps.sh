#!/usr/bin/env bash
# scripts/install-deps.sh — install, with apt-get, every Debian 12 package
# Synod's build and tests use (g++, cmake, ninja, ccache, python3 and the
# -dev packages). Already-installed packages cost nothing; apt-get update runs
# only when something is missing. Used by test.sh and quickstart.sh.
set -euo pipefail
packages=(g++ cmake ninja-build ccache python3 pkg-config
          libasio-dev libflatbuffers-dev flatbuffers-compiler libcli11-dev doctest-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
