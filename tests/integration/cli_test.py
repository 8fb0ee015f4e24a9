#!/usr/bin/env python3
"""The `synod` CLI against three real synodd processes on loopback: create
and get, error names and exit codes, a watch firing once per change in zxid
order, a cut-off follower refusing linearizable reads, an ephemeral that
outlives its client only until the session times out, a session moved to
another server reading no older state (also when that server lags behind
what the session has seen), acknowledged writes
surviving a leader SIGKILL, and a full ensemble restart keeping every node.

Usage: cli_test.py PATH/TO/synodd PATH/TO/synod

Reuses the cluster helpers of synodd_cluster_test.py (start, wait_for,
settled_leader, kill_all). Every wait polls with a deadline.
"""
import json
import os
import queue
import threading
import signal
import subprocess
import sys
import time

SYNOD = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "synod"
sys.argv = sys.argv[:2]
sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synodd_cluster_test as cluster  # noqa: E402  (reads sys.argv[1]: synodd)

cluster.TOTAL_DEADLINE = time.monotonic() + 140  # this test does more than the cluster one
SERVERS = ",".join(f"127.0.0.1:{cluster.CLIENT_PORT[i]}" for i in cluster.NODES)


def synod(*args, stdin=None, timeout=20, servers=SERVERS):
    """Runs the CLI; returns (exit code, stdout, stderr)."""
    p = subprocess.run([SYNOD, "--servers", servers, "--timeout", "5000", *args],
                       input=stdin, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def expect(args, code, out=None, contains=None):
    got_code, got_out, got_err = synod(*args)
    if got_code != code:
        cluster.fail(f"synod {' '.join(args)} exited {got_code}, want {code} "
                     f"(stdout {got_out!r}, stderr {got_err!r})")
    if out is not None and got_out != out:
        cluster.fail(f"synod {' '.join(args)} printed {got_out!r}, want {out!r}")
    if contains is not None and contains not in got_out + got_err:
        cluster.fail(f"synod {' '.join(args)} did not say {contains!r}: {got_out!r} {got_err!r}")
    return got_out


class Shell:
    """A `synod shell` kept open, so its session outlives single commands."""

    def __init__(self, servers, timeout_ms=5000):
        self.proc = subprocess.Popen([SYNOD, "--servers", servers, "--timeout", str(timeout_ms),
                                      "shell"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(l.strip()) for l in self.proc.stdout],
                         daemon=True).start()

    def send(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def ask(self, command, seconds=15):
        """Runs `command`; its first line of output, or None by the deadline."""
        self.send(command)
        return self.next_line(seconds)

    def next_line(self, seconds=15):
        """The next line of output, or None by the deadline."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            while line.startswith("synod>"):  # the prompt has no newline of its own
                line = line[len("synod>"):].strip()
            if line:
                return line
        return None

    def kill(self):
        self.proc.kill()
        self.proc.wait()


def check_basics():
    cluster.log("create /hello world, then get prints world")
    expect(["create", "/hello", "world"], 0, out="/hello")
    expect(["get", "/hello"], 0, out="world")
    expect(["set", "/hello", "again"], 0)
    expect(["get", "/hello"], 0, out="again")
    expect(["get", "/missing"], 1, contains="NO_NODE: /missing")
    expect(["create", "/hello", "x"], 1, contains="NODE_EXISTS: /hello")
    # /metrics counts answers by type and result, summed over the servers.
    answered = {}
    for i in cluster.NODES:
        for name, value in cluster.parse_metrics(cluster.http_get(i, "/metrics")[1]).items():
            answered[name] = answered.get(name, 0) + value
    for name in ('synod_answers_total{type="get",result="NO_NODE"}',
                 'synod_answers_total{type="write",result="NODE_EXISTS"}',
                 'synod_answers_total{type="write",result="OK"}'):
        if answered.get(name, 0) < 1:
            cluster.fail(f"/metrics of the three servers count no {name}")
    expect(["create"], 2)
    code = subprocess.run([SYNOD, "--servers", "127.0.0.1:1", "--timeout", "2000", "get",
                           "/hello"], capture_output=True, text=True, timeout=30).returncode
    if code != 3:
        cluster.fail(f"an unreachable ensemble exited {code}, want 3")


def check_ephemeral_expiry():
    cluster.log("an ephemeral of a SIGKILLed client is gone once its session times out")
    shell = Shell(SERVERS)
    shell.send("create -e /eph here")
    cluster.wait_for("the shell's ephemeral to exist",
                     lambda: synod("get", "/eph")[0] == 0, 10)
    shell.kill()
    killed_at = time.monotonic()
    cluster.wait_for("the ephemeral to vanish after the session timeout",
                     lambda: synod("get", "/eph")[0] == 1, 20)
    waited = time.monotonic() - killed_at
    cluster.log(f"the ephemeral vanished {waited:.1f} s after its client was killed")


def check_watch():
    cluster.log("a watch fires once per change, in zxid order")
    expect(["create", "/wx", "0"], 0, out="/wx")
    watcher = subprocess.Popen([SYNOD, "--servers", SERVERS, "watch", "/wx"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l.strip()) for l in watcher.stdout],
                     daemon=True).start()
    # The watch is set once `synod watch` answered its set_watch; a change
    # made before that would not be reported, so wait for the first one to land.
    def changed_and_seen(value):
        expect(["set", "/wx", value], 0)
        try:
            return lines.get(timeout=0.5)
        except queue.Empty:
            return None
    first = cluster.wait_for("the watch to report a change",
                             lambda: changed_and_seen("first"), 15)
    events = [first]
    for v in ("a", "b", "c"):
        expect(["set", "/wx", v], 0)
    deadline = time.monotonic() + 10
    while len(events) < 4 and time.monotonic() < deadline:
        try:
            events.append(lines.get(timeout=0.5))
        except queue.Empty:
            pass
    watcher.send_signal(signal.SIGINT)
    try:
        watcher.wait(timeout=5)
    except subprocess.TimeoutExpired:
        watcher.kill()
    if len(events) != 4 or not all(e.startswith("DATA_CHANGED /wx ") for e in events):
        cluster.fail(f"the watch reported {events}, want four DATA_CHANGED /wx lines")
    zxids = [int(e.split()[-1]) for e in events]
    if zxids != sorted(zxids) or len(set(zxids)) != 4:
        cluster.fail(f"watch events are not in increasing zxid order: {zxids}")
    try:
        extra = lines.get(timeout=0.5)
        cluster.fail(f"the watch reported a change that did not happen: {extra}")
    except queue.Empty:
        pass


def check_cut_off_follower(leader):
    follower = next(i for i in cluster.NODES if i != leader)
    others = [i for i in cluster.NODES if i != follower]
    cluster.log(f"node {follower}, cut off (the others SIGSTOPped), stops answering "
                "linearizable reads")
    # A shell whose session is already open on the follower, so the refusal
    # below is the read's, not the session's (opening one needs a quorum too).
    shell = Shell(f"127.0.0.1:{cluster.CLIENT_PORT[follower]}", timeout_ms=2000)
    try:
        before = shell.ask("get /hello", 10)
        if before != "again":
            cluster.fail(f"the follower's shell read {before!r} before the cut, want 'again'")
        for i in others:
            cluster.procs[i].send_signal(signal.SIGSTOP)
        try:
            during = shell.ask("get /hello", 15)
        finally:
            for i in others:
                cluster.procs[i].send_signal(signal.SIGCONT)
        if during is None or during == "again":
            cluster.fail(f"a cut-off follower answered a linearizable read: {during!r}")
        cluster.log(f"the cut-off follower refused: {during}")
    finally:
        shell.kill()
    cluster.wait_for("the ensemble settled again", lambda: cluster.settled_leader(cluster.NODES), 20)


def check_session_move():
    cluster.log("a session moved to another server never reads older state")
    shell = Shell(SERVERS)
    try:
        if shell.ask("create /moved before") != "/moved":
            cluster.fail("the shell could not create /moved")
        shell.send("set /moved after")  # prints nothing when it succeeds
        if shell.ask("get /moved") != "after":
            cluster.fail("the shell did not read its own write")
        # The shell is the only client: the server it uses shows one.
        home = cluster.wait_for("the shell's server", lambda: next(
            (i for i in cluster.NODES if cluster.status(i)["clients"] >= 1), None), 10)
        cluster.log(f"SIGKILL node {home}, which holds the shell's session")
        cluster.procs[home].kill()
        cluster.procs[home].wait()
        got = shell.ask("get --sequential /moved", 30)
        if got != "after":
            cluster.fail(f"after moving, a sequential read gave {got!r}, want 'after'")
    finally:
        shell.kill()
    cluster.start(home)
    cluster.wait_for("all three settled again", lambda: cluster.settled_leader(cluster.NODES), 20)


def check_session_move_to_lagging(leader):
    """The session moves to a server that is behind what it has seen: that
    server answers nothing until it has caught up, then never older state."""
    cluster.log("a session moved to a lagging server waits for it to catch up")
    followers = [i for i in cluster.NODES if i != leader]
    servers = ",".join(f"127.0.0.1:{cluster.CLIENT_PORT[i]}" for i in followers)
    shell = Shell(servers)
    try:
        if shell.ask("create /lagging v1") != "/lagging":
            cluster.fail("the shell could not create /lagging")
        home = cluster.wait_for("the shell's server", lambda: next(
            (i for i in followers if cluster.status(i)["clients"] >= 1), None), 10)
        lag = next(i for i in followers if i != home)
        # Killed, not stopped: a stopped server would still find the
        # leader's later messages in its socket buffers when it resumes.
        cluster.log(f"SIGKILL node {lag}; the shell on node {home} writes on without it")
        cluster.procs[lag].kill()
        cluster.procs[lag].wait()
        shell.send("set /lagging v2")
        if shell.ask("get /lagging") != "v2":
            cluster.fail("the shell did not read its own write")
        code, out, _ = synod("--json", "stat", "/lagging",
                             servers=f"127.0.0.1:{cluster.CLIENT_PORT[home]}")
        if code != 0:
            cluster.fail(f"stat /lagging exited {code}")
        seen = json.loads(out)["mzxid"]
        cluster.log(f"SIGKILL node {home}, SIGSTOP the leader {leader}, restart node {lag}: "
                    f"node {lag} cannot learn zxid {seen} until the leader resumes")
        cluster.procs[home].kill()
        cluster.procs[home].wait()
        cluster.procs[leader].send_signal(signal.SIGSTOP)
        cluster.start(lag)
        shell.send("get --sequential /lagging")
        # The session reaches the lagging server, which is behind it.
        cluster.wait_for(f"the shell on node {lag}",
                         lambda: cluster.status(lag)["clients"] >= 1, 20)
        behind = cluster.status(lag)["applied"]
        if behind >= seen:
            cluster.fail(f"node {lag} applied {behind} >= {seen}: it was not behind")
        cluster.log(f"node {lag} holds the session at applied {behind} < {seen}; "
                    f"SIGCONT the leader {leader}")
        cluster.procs[leader].send_signal(signal.SIGCONT)
        got = shell.next_line(30)  # the answer to the get sent above
        if got != "v2":
            cluster.fail(f"after moving to a lagging server, a sequential read gave {got!r}, "
                         f"want 'v2'")
    finally:
        shell.kill()
        cluster.procs[leader].send_signal(signal.SIGCONT)
    cluster.start(home)
    cluster.wait_for("all three settled again", lambda: cluster.settled_leader(cluster.NODES), 20)


def check_leader_kill(leader):
    cluster.log(f"writes keep going while the leader, node {leader}, is SIGKILLed")
    acked = []
    for k in range(30):
        if k == 10:
            cluster.procs[leader].kill()
            cluster.procs[leader].wait()
        code, _, _ = synod("create", f"/w{k}", str(k))
        if code == 0:
            acked.append(k)
    alive = [i for i in cluster.NODES if i != leader]
    cluster.wait_for("a new leader", lambda: cluster.settled_leader(alive), 20)
    if len(acked) < 20:
        cluster.fail(f"only {len(acked)} of 30 writes succeeded around the leader kill")
    cluster.start(leader)
    cluster.wait_for("all three settled again", lambda: cluster.settled_leader(cluster.NODES), 20)
    return acked


def check_restart_keeps_data(acked):
    cluster.log("a full ensemble restart keeps every acknowledged write")
    for i in cluster.NODES:
        cluster.procs[i].send_signal(signal.SIGTERM)
    for i in cluster.NODES:
        cluster.procs[i].wait(timeout=10)
    for i in cluster.NODES:
        cluster.start(i)
    cluster.wait_for("a leader after the restart", lambda: cluster.settled_leader(cluster.NODES), 20)
    for k in acked:
        expect(["get", f"/w{k}"], 0, out=str(k))
    expect(["get", "/hello"], 0, out="again")


def main():
    for path in (cluster.SYNODD, SYNOD):
        if not os.access(path, os.X_OK):
            cluster.fail(f"no executable at {path}")
    for i in cluster.NODES:
        cluster.start(i)
    leader = cluster.wait_for("one leader", lambda: cluster.settled_leader(cluster.NODES), 20)
    check_basics()
    check_watch()
    check_cut_off_follower(leader)
    leader = cluster.wait_for("one leader", lambda: cluster.settled_leader(cluster.NODES), 20)
    check_ephemeral_expiry()
    check_session_move()
    leader = cluster.wait_for("one leader", lambda: cluster.settled_leader(cluster.NODES), 20)
    check_session_move_to_lagging(leader)
    leader = cluster.wait_for("one leader", lambda: cluster.settled_leader(cluster.NODES), 20)
    acked = check_leader_kill(leader)
    check_restart_keeps_data(acked)
    cluster.log("PASS")


if __name__ == "__main__":
    cluster.run(main)
