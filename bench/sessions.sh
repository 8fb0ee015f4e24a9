#!/usr/bin/env bash
# bench/sessions.sh — how session count costs, measured on loopback: starts a
# 3-server ensemble (fsync on) in a temporary directory, opens SESSIONS
# sessions from PROCS client processes at once (each drives its share on
# one thread and opens them one after another, PARALLEL at a time), holds
# them idle for HOLD seconds while sampling the servers' CPU, then stops
# everything. Prints every process's opening times per step and the
# servers' CPU share while idle.
#   BUILD_DIR (default build), SESSIONS (10000), PROCS (1), STEP (1000),
#   PARALLEL (1), HOLD (30), TIMEOUT_MS (10000: each session's timeout; a
#   keep-alive goes every third of it), BASE_PORT (17000), KEEP (1: keep the
#   servers' logs and data)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
sessions=${SESSIONS:-10000}
procs=${PROCS:-1}
step=${STEP:-1000}
parallel=${PARALLEL:-1}
hold=${HOLD:-30}
timeout_ms=${TIMEOUT_MS:-10000}
base=${BASE_PORT:-17000}
synodd="$build/server/synodd"
tool="$build/bench/sessions/synod-sessions"
for bin in "$synodd" "$tool"; do
  [[ -x $bin ]] || { echo "bench/sessions.sh: $bin is missing; build first" >&2; exit 2; }
done
dir=$(mktemp -d /tmp/synod-sessions.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ ${KEEP:-0} == 1 ]]; then echo "bench/sessions.sh: kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
peers="1=127.0.0.1:$((base + 11)),2=127.0.0.1:$((base + 12)),3=127.0.0.1:$((base + 13))"
servers="127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))"
for id in 1 2 3; do
  mkdir -p "$dir/data$id"
  "$synodd" --id "$id" --peers "$peers" --bootstrap --client-addr "127.0.0.1:$((base + id))" \
    --admin-addr "127.0.0.1:$((base + 20 + id))" --data-dir "$dir/data$id" \
    >"$dir/synodd$id.log" 2>&1 &
  pids+=($!)
done
server_pids=$(IFS=,; echo "${pids[*]}")
echo "bench/sessions.sh: 3 servers (pids $server_pids); $sessions sessions from $procs processes"
# The opening times should not include the first election: wait (at most
# 30 s) until every server's /health answers ok.
for _ in $(seq 1 300); do
  healthy=0
  for id in 1 2 3; do
    curl -sf "http://127.0.0.1:$((base + 20 + id))/health" >/dev/null 2>&1 && healthy=$((healthy + 1))
  done
  [[ $healthy == 3 ]] && break
  sleep 0.1  # polling a server that is starting, not synchronising a test
done
per=$((sessions / procs))
clients=()
for p in $(seq 1 "$procs"); do
  "$tool" --servers "$servers" --sessions "$per" --step "$step" --parallel "$parallel" \
    --seed "$p" --hold-seconds "$hold" --session-timeout-ms "$timeout_ms" \
    --pids "$server_pids" --label "process $p" &
  clients+=($!)
done
status=0
for c in "${clients[@]}"; do wait "$c" || status=1; done
leaders=$(grep -h "became leader\|leads:" "$dir"/synodd*.log | wc -l)
echo "bench/sessions.sh: leadership changes during the run (log lines): $leaders"
exit $status
