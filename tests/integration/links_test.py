#!/usr/bin/env python3
"""Idle client connections, against three real synodd: raw TCP connections
that never open a session are closed at the handshake timeout, with a
logged reason and counted on /metrics, while a `synod shell` with a live
session on the same server stays connected.

Usage: links_test.py PATH/TO/synodd PATH/TO/synod

Every wait polls with a deadline (no sleep is used as synchronisation);
every process is killed on the way out.
"""
import os
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


def main():
    for path in (cluster.SYNODD, cli_test.SYNOD):
        if not os.access(path, os.X_OK):
            cluster.fail(f"no executable at {path}")
    for i in cluster.NODES:
        cluster.start(i)
    leader = cluster.wait_for("one leader", lambda: cluster.settled_leader(cluster.NODES), 20)
    check_idle_clients(next(i for i in cluster.NODES if i != leader))
    cluster.log("PASS")


if __name__ == "__main__":
    cluster.run(main)
