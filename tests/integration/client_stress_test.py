#!/usr/bin/env python3
"""The client library under churn (issue 14 point 4): synod-client-stress
opens and closes 1,500 sessions one after another (a few overlapping)
against three real synodd processes, while this driver SIGKILLs the leader
and later a follower, restarting each. Every Client must open or fail with a
clean error, and the client process must never crash.

Usage: client_stress_test.py PATH/TO/synodd PATH/TO/synod-client-stress [SESSIONS]

Reuses the cluster helpers of synodd_cluster_test.py. The kills are timed on
the program's "progress I" lines, not on the clock; each restarted server
must rejoin (one settled leader among all three) before the next kill.
"""
import os
import queue
import subprocess
import sys
import threading
import time

STRESS = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "synod-client-stress"
SESSIONS = int(sys.argv[3]) if len(sys.argv) > 3 else 1500
sys.argv = sys.argv[:2]
sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synodd_cluster_test as cluster  # noqa: E402  (reads sys.argv[1]: synodd)

RUN_SECONDS = 150  # the program's own watchdog fails a hung session sooner
cluster.TOTAL_DEADLINE = time.monotonic() + RUN_SECONDS + 30
SERVERS = ",".join(f"127.0.0.1:{cluster.CLIENT_PORT[i]}" for i in cluster.NODES)


def reader(stream, lines):
    for line in stream:
        lines.put(line)
    lines.put(None)


def schedule(leader):
    """(fraction of the sessions, action, node): kill the leader, restart it,
    then the same for a follower."""
    follower = next(i for i in cluster.NODES if i != leader)
    return [(0.15, "kill", leader), (0.30, "restart", leader),
            (0.55, "kill", follower), (0.70, "restart", follower)]


def act(action, node):
    if action == "kill":
        cluster.log(f"SIGKILL node {node}")
        cluster.procs[node].kill()
        cluster.procs[node].wait()
        return
    cluster.log(f"restart node {node}")
    cluster.start(node)


def main():
    for path in (cluster.SYNODD, STRESS):
        if not os.access(path, os.X_OK):
            cluster.fail(f"no executable at {path}")
    for i in cluster.NODES:
        cluster.start(i)
    leader = cluster.wait_for("one leader", lambda: cluster.settled_leader(cluster.NODES), 20)
    cluster.log(f"node {leader} leads; running {os.path.basename(STRESS)} for {SESSIONS} sessions")
    run = subprocess.Popen([STRESS, "--servers", SERVERS, "--sessions", str(SESSIONS)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = queue.Queue()
    threading.Thread(target=reader, args=(run.stdout, lines), daemon=True).start()
    steps = schedule(leader)
    output = []
    deadline = time.monotonic() + RUN_SECONDS
    while True:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            run.kill()
            cluster.fail(f"{STRESS} did not finish within {RUN_SECONDS} s:\n" + "".join(output))
        if line is None:
            break
        output.append(line)
        if not line.startswith("progress "):
            sys.stdout.write(line)
            continue
        done = int(line.split()[1])
        while steps and done >= steps[0][0] * SESSIONS:
            _, action, node = steps.pop(0)
            act(action, node)
    code = run.wait()
    if code != 0 or not any(line.startswith("PASS") for line in output):
        cluster.fail(f"{os.path.basename(STRESS)} exited {code}:\n" + "".join(output[-40:]))
    if steps:
        cluster.fail(f"the run ended before the schedule did: {steps}")
    cluster.log("PASS")


if __name__ == "__main__":
    cluster.run(main)
