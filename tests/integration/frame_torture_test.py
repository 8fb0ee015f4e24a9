#!/usr/bin/env python3
"""Malformed, truncated, oversized, forged and random frames against a live
ensemble's client and peer ports (loopback only), while writes go on: only
the offending connection may close, no server may exit or stall, and every
acknowledged write is still there at the end, on every server.

Usage: frame_torture_test.py PATH/TO/synodd PATH/TO/synod [--seconds N] [--seed S]

ctest runs it for a few seconds; run it by hand with --seconds 300 for a
longer soak. Forged frames are built from JSON with flatc (Debian's
flatbuffers-compiler) against proto/*.fbs, then some are mutated byte by
byte, so they pass the length check and reach the FlatBuffers verifier and
the validators behind it. Attacks go to 127.0.0.1 ports of servers this
test started, nothing else; the run stops by itself.
"""
import argparse
import json
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "..", "..", "proto")
parser = argparse.ArgumentParser()
parser.add_argument("synodd")
parser.add_argument("synod")
parser.add_argument("--seconds", type=float, default=8.0)
parser.add_argument("--seed", type=int, default=None)
ARGS = parser.parse_args()
SYNOD = os.path.abspath(ARGS.synod)
sys.argv = sys.argv[:2]
sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, HERE)
import synodd_cluster_test as cluster  # noqa: E402  (reads sys.argv[1]: synodd)

cluster.TOTAL_DEADLINE = time.monotonic() + ARGS.seconds + 120
SERVERS = ",".join(f"127.0.0.1:{cluster.CLIENT_PORT[i]}" for i in cluster.NODES)
SEED = ARGS.seed if ARGS.seed is not None else random.randrange(1 << 30)
rng = random.Random(SEED)


def synod(*args, servers=SERVERS):
    p = subprocess.run([SYNOD, "--servers", servers, "--timeout", "5000", *args],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def flatc_binary(schema, frame):
    """The FlatBuffer flatc builds from `frame` (JSON) against proto/`schema`."""
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "frame.json")
        with open(src, "w") as f:
            json.dump(frame, f)
        subprocess.run(["flatc", "-b", "-I", PROTO, "-o", d, os.path.join(PROTO, schema), src],
                       check=True, capture_output=True, timeout=30)
        with open(os.path.join(d, "frame.bin"), "rb") as f:
            return f.read()


def forged_frames():
    """Well-formed FlatBuffers that say wrong things, keyed by what they try."""
    client = {
        "a path without a slash": {"request_id": 1, "request_type": "GetRequest",
                                   "request": {"path": "no-slash"}},
        "a 70 KiB path": {"request_id": 2, "request_type": "CreateRequest",
                          "request": {"path": "/" + "p" * 70000}},
        "a negative session timeout": {"request_id": 3, "request_type": "OpenSessionRequest",
                                       "request": {"timeout_ms": -5}},
        "a moved session that never existed": {
            "request_id": 4, "request_type": "OpenSessionRequest",
            "request": {"timeout_ms": 5000, "previous_session": 987654321,
                        "last_zxid": 1 << 60}},
        "a write with no session": {"request_id": 5, "request_type": "SetRequest",
                                    "request": {"path": "/torture", "data": [1, 2, 3]}},
        "no request at all": {"request_id": 6},
    }
    peer = {
        "a frame of another ensemble": lambda me: {
            "from": 1 + me % 3, "to": me, "cluster": CLUSTER_ID ^ 1, "message_type": "Touch",
            "message": {"sessions": [1]}},
        "a frame from the receiver itself": lambda me: {
            "from": me, "to": me, "message_type": "Touch", "message": {"sessions": [1]}},
        "a frame addressed to another server": lambda me: {
            "from": 1 + me % 3, "to": 1 + (me + 1) % 3, "message_type": "Touch",
            "message": {"sessions": [1]}},
        "a sender that is no member": lambda me: {
            "from": 200, "to": me, "message_type": "ReadIndex", "message": {"id": 1}},
        "no message at all": lambda me: {"from": 1 + me % 3, "to": me},
    }
    built_client = {}
    for what, frame in client.items():
        try:
            built_client[what] = flatc_binary("client.fbs", frame)
        except subprocess.CalledProcessError as e:
            cluster.fail(f"flatc could not build {what}: {e.stderr!r}")
    return built_client, peer


def frame(payload, length=None):
    return struct.pack("<I", len(payload) if length is None else length) + payload


def mutate(payload):
    data = bytearray(payload)
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def client_attacks(forged):
    names = list(forged)
    return {
        "random bytes": lambda: [frame(rng.randbytes(rng.randint(1, 512)))],
        "an oversized length": lambda: [frame(b"\0" * 16, length=(17 << 20) + rng.randint(1, 9))],
        "a zero-length frame": lambda: [frame(b"")],
        "a truncated frame": lambda: [frame(b"\x01" * 10, length=100)],
        "a forged frame": lambda: [frame(forged[rng.choice(names)])],
        "a mutated forged frame": lambda: [frame(mutate(forged[rng.choice(names)]))],
        "a flood of garbage": lambda: [frame(rng.randbytes(64)) for _ in range(200)],
    }


def peer_attacks(peer, me):
    names = list(peer)
    def forged():
        fields = peer[rng.choice(names)](me)
        fields.setdefault("cluster", CLUSTER_ID)  # past the ensemble check, to the validators
        return flatc_binary("peer.fbs", fields)
    return {
        "random bytes": lambda: [frame(rng.randbytes(rng.randint(1, 512)))],
        "an oversized length": lambda: [frame(b"\0" * 16, length=(64 << 20))],
        "a truncated frame": lambda: [frame(b"\x02" * 10, length=1000)],
        "a forged frame": lambda: [frame(forged())],
        "a mutated forged frame": lambda: [frame(mutate(forged()))],
    }


def cluster_id():
    """The ensemble's id, from node 1's identity file (server/wal/identity.h:
    a 16-byte header, then the cluster id, little-endian)."""
    with open(os.path.join(cluster.tmp, "data1", "identity"), "rb") as f:
        return struct.unpack_from("<Q", f.read(), 16)[0]


CLUSTER_ID = 0


def check_alive(round_no):
    for i in cluster.NODES:
        if cluster.procs[i].poll() is not None:
            cluster.fail(f"node {i} exited (code {cluster.procs[i].returncode}) in round "
                         f"{round_no}; seed {SEED}")


def main():
    for path in (cluster.SYNODD, SYNOD):
        if not os.access(path, os.X_OK):
            cluster.fail(f"no executable at {path}")
    for i in cluster.NODES:
        cluster.start(i)
    cluster.wait_for("one leader", lambda: cluster.settled_leader(cluster.NODES), 20)
    global CLUSTER_ID
    CLUSTER_ID = cluster_id()
    cluster.log(f"seed {SEED}: {ARGS.seconds:.0f} s of bad frames while writes go on "
                f"(ensemble {CLUSTER_ID})")
    forged, peer = forged_frames()
    acked = {}
    code, _, err = synod("create", "/torture", "")
    if code != 0:
        cluster.fail(f"create /torture failed: {err}")
    bystanders = {i: socket.create_connection(("127.0.0.1", cluster.CLIENT_PORT[i]), timeout=2)
                  for i in cluster.NODES}
    end = time.monotonic() + ARGS.seconds
    rounds = closed = 0
    while time.monotonic() < end:
        rounds += 1
        i = rng.choice(cluster.NODES)
        if rng.random() < 0.5:
            what, make = rng.choice(list(client_attacks(forged).items()))
            port, side = cluster.CLIENT_PORT[i], "client"
        else:
            what, make = rng.choice(list(peer_attacks(peer, i).items()))
            port, side = cluster.PEER_PORT[i], "peer"
        host = "127.0.0.1" if side == "client" else cluster.peer_host(i)
        try:
            s = socket.create_connection((host, port), timeout=2)
            for p in make():
                s.sendall(p)
            closed += cluster.connection_closed(s, seconds=0.5)
            s.close()
        except OSError:
            closed += 1
        check_alive(rounds)
        key = f"/torture/k{rounds}"
        code, _, err = synod("create", key, f"v{rounds}")
        if code == 0:
            acked[key] = f"v{rounds}"
        if rounds % 20 == 0:
            cluster.log(f"  round {rounds}: {side} port of node {i}, {what}; "
                        f"{len(acked)} writes acknowledged")
    for i, s in bystanders.items():
        if not cluster.still_open(s):
            cluster.fail(f"a bystander's connection to node {i} was closed; seed {SEED}")
        s.close()
    leader = cluster.wait_for("one leader after the attacks",
                              lambda: cluster.settled_leader(cluster.NODES), 20)
    cluster.log(f"{rounds} attacks ({closed} connections closed); node {leader} leads; "
                f"checking {len(acked)} acknowledged writes on every server")
    if len(acked) < rounds // 2:
        cluster.fail(f"only {len(acked)} of {rounds} writes were acknowledged; seed {SEED}")
    for i in cluster.NODES:
        one = f"127.0.0.1:{cluster.CLIENT_PORT[i]}"
        code, out, err = synod("ls", "/torture", servers=one)
        if code != 0:
            cluster.fail(f"ls /torture on node {i}: {err}")
        names = set(out.split())
        for key in acked:
            if key.rsplit("/", 1)[1] not in names:
                cluster.fail(f"acknowledged {key} is missing on node {i}; seed {SEED}")
    check_alive(rounds)
    cluster.log("PASS")


if __name__ == "__main__":
    cluster.run(main)
