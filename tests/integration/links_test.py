#!/usr/bin/env python3
"""Idle client connections and dead peers, against three real synodd.

1. Raw TCP connections that never open a session are closed at the
   handshake timeout, with a logged reason and counted on /metrics, while a
   `synod shell` with a live session on the same server stays connected.
2. A follower stopped with SIGSTOP (its kernel still acknowledges, so TCP
   notices nothing) is noticed by the leader within a bound derived from
   the election timeout; a write acknowledged meanwhile is readable from the
   follower after SIGCONT. Then the leader is stopped: the others elect a
   new one and go on acknowledging writes, and the old leader follows after
   SIGCONT.

Usage: links_test.py PATH/TO/synodd PATH/TO/synod

Every wait polls with a deadline (no sleep is used as synchronisation);
every process is killed on the way out (SIGKILL ends a stopped one too).
"""
import os
import signal
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, HERE)
import cli_test  # noqa: E402  (reads sys.argv[2]: synod, then imports the cluster helpers)
import synodd_cluster_test as cluster  # noqa: E402

cluster.TOTAL_DEADLINE = time.monotonic() + 150
HANDSHAKE_TIMEOUT_MS = 1000
IDLE_TIMEOUT_MS = 1000
ELECTION_TIMEOUT_MS = 300  # synodd_cluster_test.args_for
# runtime.h: peer_silence_ms = max(election timeout, 500 ms);
# peer_dead_ms = peer_dead_elections (2) * peer_silence_ms.
PEER_DEAD_MS = 2 * max(ELECTION_TIMEOUT_MS, 500)
RAW_CONNECTIONS = 5

base_args_for = cluster.args_for


def args_for(i, **kw):
    return base_args_for(i, **kw) + ["--handshake-timeout-ms", str(HANDSHAKE_TIMEOUT_MS),
                                     "--client-idle-timeout-ms", str(IDLE_TIMEOUT_MS)]


cluster.args_for = args_for


def servers(*ids):
    return ",".join(f"127.0.0.1:{cluster.CLIENT_PORT[i]}" for i in ids)


def synod(ids, *args):
    return cli_test.synod(*args, servers=servers(*ids))


def metric(i, name):
    return cluster.parse_metrics(cluster.http_get(i, "/metrics")[1]).get(name, 0)


def node_log(i):
    with open(os.path.join(cluster.tmp, f"node{i}.log"), errors="replace") as f:
        return f.read()


def closed_by_peer(sock):
    """True once the server closed `sock` (EOF or reset); False while open."""
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def check_idle_clients(home):
    cluster.log(f"a shell with a live session on node {home}, then {RAW_CONNECTIONS} raw "
                "connections there that never open one")
    shell = cli_test.Shell(servers(home))
    try:
        if shell.ask("create /idle live") != "/idle":
            cluster.fail("the shell could not create /idle")
        accepted = metric(home, "synod_client_connections_total")
        raw = []
        for _ in range(RAW_CONNECTIONS):
            s = socket.create_connection(("127.0.0.1", cluster.CLIENT_PORT[home]), timeout=2)
            s.setblocking(False)
            raw.append(s)
        opened = time.monotonic()
        cluster.wait_for("the raw connections to be closed",
                         lambda: all(closed_by_peer(s) for s in raw),
                         HANDSHAKE_TIMEOUT_MS / 1000 + 5)
        waited = time.monotonic() - opened
        for s in raw:
            s.close()
        if waited < 0.8 * HANDSHAKE_TIMEOUT_MS / 1000:
            cluster.fail(f"the raw connections closed after {waited:.2f} s, before the "
                         f"{HANDSHAKE_TIMEOUT_MS} ms handshake timeout")
        cluster.log(f"closed after {waited:.2f} s")
        handshake = 'synod_client_connections_idle_closed_total{reason="handshake"}'
        cluster.wait_for("the closes to be counted",
                         lambda: metric(home, handshake) == RAW_CONNECTIONS)
        if "opened no session within" not in node_log(home):
            cluster.fail(f"node {home} logged no reason for closing the raw connections")
        # Well past both timeouts now; the shell's connection is still the same one.
        if shell.ask("get /idle") != "live":
            cluster.fail("the shell lost its session")
        if metric(home, "synod_client_connections_total") != accepted + RAW_CONNECTIONS:
            cluster.fail("the shell reconnected: its connection was closed")
        if metric(home, 'synod_client_connections_idle_closed_total{reason="idle"}') != 0:
            cluster.fail("a connection was closed as idle after its session")
    finally:
        shell.kill()


def write(ids, path, value):
    code, out, err = synod(ids, "create", path, value)
    if code != 0:
        cluster.fail(f"create {path} through {ids} failed: {out} {err}")


def readable_from(i, path, value):
    code, out, _ = synod([i], "get", path)
    return code == 0 and out == value


def check_stopped_follower(leader):
    follower, other = [i for i in cluster.NODES if i != leader]
    dead_before = metric(leader, "synod_peer_links_dead_total")
    cluster.log(f"SIGSTOP follower {follower}; leader {leader} must notice within "
                f"~{PEER_DEAD_MS} ms")
    cluster.procs[follower].send_signal(signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        cluster.wait_for(f"leader {leader} to close its link to the stopped node {follower}",
                         lambda: metric(leader, "synod_peer_links_dead_total") > dead_before, 10)
        noticed = time.monotonic() - stopped
        bound = (PEER_DEAD_MS + 1500) / 1000  # checks run every dead/5; the poll, the scrape
        cluster.log(f"noticed after {noticed:.2f} s (bound {bound:.2f} s)")
        if noticed < 0.8 * PEER_DEAD_MS / 1000 or noticed > bound:
            cluster.fail(f"the stopped follower was noticed after {noticed:.2f} s, want about "
                         f"{PEER_DEAD_MS} ms")
        if f"node {follower} sent nothing for {PEER_DEAD_MS} ms" not in node_log(leader):
            cluster.fail(f"leader {leader} did not log which peer went silent")
        write([leader, other], "/while-stopped", "acked")
    finally:
        cluster.procs[follower].send_signal(signal.SIGCONT)
    cluster.log(f"SIGCONT node {follower}: its link comes back and it catches up")
    cluster.wait_for(f"leader {leader} to hear from node {follower} again",
                     lambda: f"heard from node {follower} again" in node_log(leader), 15)
    cluster.wait_for(f"node {follower} to serve the write made while it was stopped",
                     lambda: readable_from(follower, "/while-stopped", "acked"), 20)


def check_stopped_leader(leader):
    rest = [i for i in cluster.NODES if i != leader]
    cluster.log(f"SIGSTOP leader {leader}; nodes {rest} must elect another and go on")
    cluster.procs[leader].send_signal(signal.SIGSTOP)
    try:
        new = cluster.wait_for("a new leader among the others",
                               lambda: cluster.settled_leader(rest), 20)
        cluster.log(f"node {new} leads")
        write(rest, "/after-leader-stop", "acked")
        cluster.wait_for(f"node {new} to close its link to the stopped node {leader}",
                         lambda: f"node {leader} sent nothing for" in node_log(new), 10)
    finally:
        cluster.procs[leader].send_signal(signal.SIGCONT)
    cluster.log(f"SIGCONT node {leader}: it follows node {new}")
    cluster.wait_for(f"node {leader} to follow node {new}",
                     lambda: cluster.settled_leader(cluster.NODES) == new, 20)
    cluster.wait_for(f"node {leader} to serve the new leader's write",
                     lambda: readable_from(leader, "/after-leader-stop", "acked"), 20)


def main():
    for path in (cluster.SYNODD, cli_test.SYNOD):
        if not os.access(path, os.X_OK):
            cluster.fail(f"no executable at {path}")
    for i in cluster.NODES:
        cluster.start(i)
    leader = cluster.wait_for("one leader", lambda: cluster.settled_leader(cluster.NODES), 20)
    check_idle_clients(next(i for i in cluster.NODES if i != leader))
    check_stopped_follower(leader)
    leader = cluster.wait_for("one leader", lambda: cluster.settled_leader(cluster.NODES), 20)
    check_stopped_leader(leader)
    cluster.log("PASS")


if __name__ == "__main__":
    cluster.run(main)
