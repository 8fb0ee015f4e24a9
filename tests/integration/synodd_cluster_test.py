#!/usr/bin/env python3
"""Three synodd processes on loopback: election, leader SIGKILL, restart and
rejoin, the admin endpoint, refusals at startup, and malformed client frames.

Usage: synodd_cluster_test.py PATH/TO/synodd

Standard library only. Every wait polls with a deadline (no sleep is used as
synchronisation); every process is killed on the way out; the whole run
stops by itself in about a minute.
"""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

SYNODD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "synodd"
TOTAL_DEADLINE = time.monotonic() + 55
NODES = (1, 2, 3)
FRAME_BYTES_MAX = (16 << 20) + (1 << 20)  # protocol/limits.h

procs = {}
tmp = tempfile.mkdtemp(prefix="synodd-it-")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def fail(msg):
    log("FAIL: " + msg)
    for i in NODES:
        path = os.path.join(tmp, f"node{i}.log")
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                lines = f.readlines()
            print(f"--- last lines of node {i}'s log ---")
            sys.stdout.writelines(lines[-25:])
    raise SystemExit(1)


def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def peer_host(i):
    # Each server on its own loopback address, so peers are identifiable by
    # source address (synodd binds its outbound links to its peer host).
    return f"127.0.0.{i}"


PEER_PORT = {i: free_port(peer_host(i)) for i in NODES}
CLIENT_PORT = {i: free_port("127.0.0.1") for i in NODES}
ADMIN_PORT = {i: free_port("127.0.0.1") for i in NODES}
PEERS = ",".join(f"{i}={peer_host(i)}:{PEER_PORT[i]}" for i in NODES)


def args_for(i, data_dir=None, client_port=None, admin_port=None, bootstrap=True):
    # Every founder passes --bootstrap; on a data dir that already holds an
    # identity it changes nothing (the persisted membership is used).
    return [SYNODD, "--id", str(i), "--peers", PEERS] + (["--bootstrap"] if bootstrap else []) + [
            "--client-addr", f"127.0.0.1:{client_port or CLIENT_PORT[i]}",
            "--admin-addr", f"127.0.0.1:{admin_port or ADMIN_PORT[i]}",
            "--data-dir", data_dir or os.path.join(tmp, f"data{i}"),
            "--election-timeout-ms", "300", "--heartbeat-ms", "50", "--tick-ms", "10",
            "--session-timeout-min-ms", "1000"]


def start(i):
    out = open(os.path.join(tmp, f"node{i}.log"), "ab")
    procs[i] = subprocess.Popen(args_for(i), stdout=out, stderr=subprocess.STDOUT)


def kill_all():
    for p in procs.values():
        if p.poll() is None:
            p.kill()
            p.wait()


def wait_for(what, predicate, seconds=15.0):
    deadline = min(time.monotonic() + seconds, TOTAL_DEADLINE)
    last = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # a server still starting or just killed
            last = e
        time.sleep(0.05)  # polling interval, not synchronisation
    fail(f"timed out waiting for {what}" + (f" (last error: {last})" if last else ""))


def http_get(i, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{ADMIN_PORT[i]}{path}", timeout=2) as r:
        return r.status, r.read().decode()


def status(i):
    code, body = http_get(i, "/status")
    assert code == 200
    return json.loads(body)


def settled_leader(alive):
    """The leader's id if exactly one of `alive` leads and the others follow it."""
    s = {i: status(i) for i in alive}
    leaders = [i for i in alive if s[i]["role"] == "leader"]
    if len(leaders) != 1:
        return None
    leader = leaders[0]
    if all(s[i]["leader"] == leader and s[i]["role"] == "follower"
           for i in alive if i != leader):
        return leader
    return None


METRIC_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def parse_metrics(text):
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = METRIC_LINE.match(line)
        if not m:
            fail(f"/metrics line does not parse: {line!r}")
        values[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return values


def connection_closed(sock, seconds=5.0):
    """True once the server closed `sock` (EOF or reset)."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            data = sock.recv(4096)
            if data == b"":
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def still_open(sock):
    sock.settimeout(0.3)
    try:
        return sock.recv(1) != b""
    except socket.timeout:
        return True
    except OSError:
        return False


def check_startup_refusals():
    log("a bad flag exits 2")
    r = subprocess.run([SYNODD, "--no-such-flag"], capture_output=True, timeout=10)
    if r.returncode != 2:
        fail(f"a bad flag exited {r.returncode}, want 2")
    r = subprocess.run(args_for(1)[:-2] + ["--peers", "1=nonsense"], capture_output=True,
                       timeout=10)
    if r.returncode != 2 or b"peer" not in r.stderr:
        fail(f"a malformed --peers exited {r.returncode} ({r.stderr!r}), want 2 with a reason")

    log("a second synodd on a data dir in use exits 2 with a reason")
    r = subprocess.run(args_for(1, client_port=free_port("127.0.0.1"),
                                admin_port=free_port("127.0.0.1")),
                       capture_output=True, timeout=10)
    if r.returncode != 2:
        fail(f"a second synodd on data1 exited {r.returncode}, want 2: {r.stderr!r}")
    if b"in use" not in r.stderr:
        fail(f"a second synodd on data1 did not say the data dir is in use: {r.stderr!r}")
    log(f"  it said: {r.stderr.decode(errors='replace').strip().splitlines()[-1]}")


def check_identity(leader):
    log("a new data dir without --bootstrap is refused, and says what to do")
    fresh = os.path.join(tmp, "fresh")
    r = subprocess.run(args_for(1, data_dir=fresh, client_port=free_port("127.0.0.1"),
                                admin_port=free_port("127.0.0.1"), bootstrap=False),
                       capture_output=True, timeout=10)
    if r.returncode != 2 or b"--bootstrap" not in r.stderr:
        fail(f"a new data dir without --bootstrap exited {r.returncode} ({r.stderr!r}), "
             "want 2 naming --bootstrap")
    if os.path.exists(os.path.join(fresh, "identity")) or os.path.exists(
            os.path.join(fresh, "meta")):
        fail("a refused start wrote to the new data dir")
    log(f"  it said: {r.stderr.decode(errors='replace').strip().splitlines()[-1][:100]}...")

    follower = next(i for i in NODES if i != leader)
    procs[follower].send_signal(signal.SIGTERM)
    procs[follower].wait(timeout=10)
    other = next(i for i in NODES if i != follower)
    log(f"a data dir is bound to its server: data{follower} under --id {other} is refused")
    r = subprocess.run(args_for(other, data_dir=os.path.join(tmp, f"data{follower}"),
                                client_port=free_port("127.0.0.1"),
                                admin_port=free_port("127.0.0.1")),
                       capture_output=True, timeout=10)
    if r.returncode != 2 or f"belongs to node {follower}".encode() not in r.stderr:
        fail(f"data{follower} under --id {other} exited {r.returncode} ({r.stderr!r}), want 2")

    log(f"restart node {follower} with other --peers: the persisted membership wins")
    bogus = ",".join(f"{i}=127.0.0.{i}:{free_port('127.0.0.1')}" for i in NODES)
    args = args_for(follower)
    args[args.index("--peers") + 1] = bogus
    out = open(os.path.join(tmp, f"node{follower}.log"), "ab")
    procs[follower] = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    wait_for("one leader with two followers after the restart", lambda: settled_leader(NODES), 20)
    with open(os.path.join(tmp, f"node{follower}.log"), "rb") as f:
        text = f.read()
    if b"ignoring --peers" not in text:
        fail(f"node {follower} did not say it ignored the changed --peers")


def check_admin(leader):
    log("/health, /metrics and /status answer")
    for i in NODES:
        code, body = http_get(i, "/health")
        if code != 200 or body.strip() != "ok":
            fail(f"/health on node {i}: {code} {body!r}")
    code, text = http_get(leader, "/metrics")
    metrics = parse_metrics(text)
    for name in ("synod_requests_total{type=\"write\"}",
                 "synod_frames_rejected_total{source=\"client\"}",
                 "synod_commit_latency_seconds_count", "synod_fsync_seconds_sum",
                 "synod_fsync_seconds_count", "synod_fsync_batch_inputs_total",
                 "synod_sessions", "synod_watches", "synod_applied_slot", "synod_chosen_slot",
                 "synod_wal_bytes", "synod_snapshot_bytes"):
        if name not in metrics:
            fail(f"/metrics lacks {name}")
    if metrics["synod_is_leader"] != 1 or metrics["synod_fsync_seconds_count"] < 1:
        fail("the leader's /metrics does not show it leading after syncing")
    if metrics["synod_wal_bytes"] <= 0:
        fail("the leader's /metrics shows an empty write-ahead log")
    s = status(leader)
    for key in ("id", "role", "leader", "ballot", "chosen", "applied", "members", "sessions",
                "watches", "clients", "nodes"):
        if key not in s:
            fail(f"/status lacks {key}: {s}")
    members = {m["id"]: m for m in s["members"]}
    if sorted(members) != list(NODES) or any(m["role"] != "voter" for m in members.values()):
        fail(f"/status members are not the three voters: {s['members']}")
    if members[2]["address"] != f"{peer_host(2)}:{PEER_PORT[2]}":
        fail(f"/status gives node 2's address as {members[2]['address']}")
    if s["ballot"]["node"] != leader:
        fail(f"the leader's ballot {s['ballot']} is not its own")


def check_malformed_frames(i):
    log(f"random bytes and an oversized length close only that connection (node {i})")
    bystander = socket.create_connection(("127.0.0.1", CLIENT_PORT[i]), timeout=2)
    before = parse_metrics(http_get(i, "/metrics")[1])
    rejected_before = before["synod_frames_rejected_total{source=\"client\"}"]

    garbage = socket.create_connection(("127.0.0.1", CLIENT_PORT[i]), timeout=2)
    payload = bytes([0xA5, 0x17, 0xFF, 0x00] * 8)  # not a FlatBuffer
    garbage.sendall(struct.pack("<I", len(payload)) + payload)
    if not connection_closed(garbage):
        fail("a frame of random bytes did not close its connection")
    garbage.close()

    oversized = socket.create_connection(("127.0.0.1", CLIENT_PORT[i]), timeout=2)
    oversized.sendall(struct.pack("<I", FRAME_BYTES_MAX + 1) + b"\x00" * 64)
    if not connection_closed(oversized):
        fail("an oversized length prefix did not close its connection")
    oversized.close()

    if not still_open(bystander):
        fail("another client's connection was closed too")
    bystander.close()
    if procs[i].poll() is not None:
        fail(f"node {i} exited after malformed frames")
    wait_for("/status after malformed frames", lambda: status(i)["id"] == i, 5)
    after = parse_metrics(http_get(i, "/metrics")[1])
    if after["synod_frames_rejected_total{source=\"client\"}"] < rejected_before + 2:
        fail("synod_frames_rejected_total did not count the two bad frames")
    with open(os.path.join(tmp, f"node{i}.log"), errors="replace") as f:
        text = f.read()
    if "exceeds the limit" not in text or "closing client connection" not in text:
        fail("the log does not say why the connections were closed")


PEER_INBOUND_CONNECTIONS_MAX = 64  # server/runtime/runtime.h


def check_peer_connection_cap(i):
    log(f"inbound peer connections beyond the cap are refused on accept (node {i})")
    held = [socket.create_connection((peer_host(i), PEER_PORT[i]), timeout=2)
            for _ in range(PEER_INBOUND_CONNECTIONS_MAX)]
    # Its two peers already hold a connection each, so the last ones are over.
    if not connection_closed(held[-1]):
        fail("a peer connection over peer_inbound_connections_max was not closed")
    for sock in held:
        sock.close()
    wait_for("the ensemble still settled", lambda: settled_leader(NODES), 10)
    with open(os.path.join(tmp, f"node{i}.log"), errors="replace") as f:
        if "peer_inbound_connections_max" not in f.read():
            fail("the log does not say why the peer connection was refused")
    metrics = parse_metrics(http_get(i, "/metrics")[1])
    for reason in ("sender", "ballot_overflow", "beyond_log", "conflicting_value"):
        if f"synod_peer_messages_rejected_total{{reason=\"{reason}\"}}" not in metrics:
            fail(f"/metrics lacks the peer rejections for {reason}")


def main():
    if not os.access(SYNODD, os.X_OK):
        fail(f"no synodd at {SYNODD}")
    log(f"three servers in {tmp}; peers {PEERS}")
    for i in NODES:
        start(i)
    leader = wait_for("one leader with two followers", lambda: settled_leader(NODES), 20)
    log(f"node {leader} leads")

    check_admin(leader)
    check_startup_refusals()
    check_identity(leader)
    leader = wait_for("one leader with two followers", lambda: settled_leader(NODES), 20)
    check_malformed_frames(leader)
    check_peer_connection_cap(leader)

    log(f"SIGKILL the leader, node {leader}")
    procs[leader].kill()
    procs[leader].wait()
    alive = [i for i in NODES if i != leader]
    new_leader = wait_for("a new leader among the two left",
                          lambda: settled_leader(alive), 20)
    log(f"node {new_leader} leads now")

    log(f"restart node {leader} on its data dir; it rejoins and catches up")
    start(leader)
    target = status(new_leader)["chosen"]
    wait_for(f"node {leader} following node {new_leader} with applied >= {target}",
             lambda: (lambda s: s["leader"] == new_leader and s["role"] == "follower"
                      and s["applied"] >= target)(status(leader)), 20)
    wait_for("one leader with two followers again", lambda: settled_leader(NODES), 10)

    log("SIGTERM shuts every server down cleanly (exit 0)")
    for i in NODES:
        procs[i].send_signal(signal.SIGTERM)
    for i in NODES:
        try:
            code = procs[i].wait(timeout=max(1.0, TOTAL_DEADLINE - time.monotonic()))
        except subprocess.TimeoutExpired:
            fail(f"node {i} did not stop after SIGTERM")
        if code != 0:
            fail(f"node {i} exited {code} after SIGTERM, want 0")
    log("PASS")


def run(test_main):
    """Runs a test's main, then stops every server and removes the temp dir
    (kept, and named, when SYNOD_KEEP_TMP is set)."""
    try:
        test_main()
    finally:
        kill_all()
        if os.environ.get("SYNOD_KEEP_TMP"):
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run(main)
