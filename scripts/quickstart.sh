#!/usr/bin/env bash
# scripts/quickstart.sh — install what Synod needs, build it (Release), start
# a 3-server ensemble on 127.0.0.1 and print how to use the `synod` CLI.
#
#   scripts/quickstart.sh          start (or keep running) the ensemble
#   scripts/quickstart.sh stop     stop it
#
# Data, logs and pid files live under one directory, printed at the end
# (SYNOD_QUICKSTART_DIR, default /tmp/synod-quickstart). Running it twice is
# safe: servers already running are left alone.
#
# Ports: clients 7001-7003 (what `synod` connects to by default), peers
# 7101-7103, admin HTTP 8001-8003 (/status, /metrics, /health).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
dir=${SYNOD_QUICKSTART_DIR:-/tmp/synod-quickstart}
build_dir=${BUILD_DIR:-build-release}
peers="1=127.0.0.1:7101,2=127.0.0.1:7102,3=127.0.0.1:7103"

running() { [ -f "$dir/$1.pid" ] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

if [ "${1:-}" = "stop" ]; then
  for id in 1 2 3; do
    if running "$id"; then
      kill "$(cat "$dir/$id.pid")"
      echo "quickstart: stopped synodd $id"
    fi
    rm -f "$dir/$id.pid"
  done
  exit 0
fi

# Installs with apt-get whatever is missing: g++, cmake, ninja, ccache,
# python3 and the -dev packages (scripts/install-deps.sh lists them).
bash scripts/install-deps.sh

BUILD_DIR="$build_dir" bash scripts/build-release.sh
synodd="$root/$build_dir/server/synodd"
synod="$root/$build_dir/cli/synod"

mkdir -p "$dir"
for id in 1 2 3; do
  if running "$id"; then
    echo "quickstart: synodd $id is already running (pid $(cat "$dir/$id.pid"))"
    continue
  fi
  mkdir -p "$dir/data$id"
  "$synodd" --id "$id" --peers "$peers" --bootstrap \
    --client-addr "127.0.0.1:700$id" --admin-addr "127.0.0.1:800$id" \
    --data-dir "$dir/data$id" >"$dir/synodd$id.log" 2>&1 &
  echo $! >"$dir/$id.pid"
  echo "quickstart: started synodd $id (pid $!), log $dir/synodd$id.log"
done

# Wait (with a deadline) until the servers agree on one leader.
python3 - "$dir" <<'PY'
import json, sys, time, urllib.request
deadline = time.time() + 30
while time.time() < deadline:
    leaders = set()
    try:
        for port in (8001, 8002, 8003):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=1) as r:
                leaders.add(json.load(r).get("leader"))
        if len(leaders) == 1 and 0 not in leaders and None not in leaders:
            print(f"quickstart: the ensemble is up; node {leaders.pop()} leads")
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.2)
print(f"quickstart: no leader within 30 s; see the logs in {sys.argv[1]}", file=sys.stderr)
sys.exit(1)
PY

cat <<TXT

Synod is running: 3 servers on 127.0.0.1 (clients 7001-7003, admin 8001-8003).
Data, logs and pid files: $dir

Try:
  $synod create /hello world
  $synod get /hello
  $synod ls -l /
  $synod status

Stop it with: scripts/quickstart.sh stop
TXT
