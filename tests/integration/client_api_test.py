#!/usr/bin/env python3
"""The client library's blocking and awaitable APIs (synod/client.h,
synod/asio.h) against three real synodd processes on loopback: starts the
ensemble, runs synod-client-api-test against it, and fails when it fails.

Usage: client_api_test.py PATH/TO/synodd PATH/TO/synod-client-api-test

Reuses the cluster helpers of synodd_cluster_test.py (start, wait_for,
settled_leader, kill_all), which draw every port from the kernel, so this
test can run beside the other integration tests. The C++ program SIGSTOPs
the server it is given first for a few seconds; it names the check that
failed on stderr.
"""
import os
import subprocess
import sys
import time

API_TEST = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "synod-client-api-test"
sys.argv = sys.argv[:2]
sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synodd_cluster_test as cluster  # noqa: E402  (reads sys.argv[1]: synodd)

RUN_SECONDS = 150  # the C++ program's own watchdog fails a hung check sooner
cluster.TOTAL_DEADLINE = time.monotonic() + RUN_SECONDS + 30
SERVERS = ",".join(f"127.0.0.1:{cluster.CLIENT_PORT[i]}" for i in cluster.NODES)


def main():
    for path in (cluster.SYNODD, API_TEST):
        if not os.access(path, os.X_OK):
            cluster.fail(f"no executable at {path}")
    for i in cluster.NODES:
        cluster.start(i)
    leader = cluster.wait_for("one leader", lambda: cluster.settled_leader(cluster.NODES), 20)
    cluster.log(f"node {leader} leads; running {os.path.basename(API_TEST)}")
    pids = ",".join(str(cluster.procs[i].pid) for i in cluster.NODES)
    try:
        run = subprocess.run([API_TEST, "--servers", SERVERS, "--pids", pids],
                             capture_output=True, text=True, timeout=RUN_SECONDS)
    except subprocess.TimeoutExpired as e:
        sys.stdout.write(e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or ""))
        cluster.fail(f"{API_TEST} did not finish within {RUN_SECONDS} s")
    sys.stdout.write(run.stdout)
    sys.stdout.write(run.stderr)
    if run.returncode != 0 or "PASS" not in run.stdout:
        cluster.fail(f"{os.path.basename(API_TEST)} exited {run.returncode}")
    cluster.log("PASS")


if __name__ == "__main__":
    cluster.run(main)
