"""The cluster catalog with real processes on loopback: three servers replicating it with
Raft (-server -bootstrap-expect 3) and two client agents that keep none.

    ROSTER_BIN=build/agent/roster /usr/bin/python3 tests/integration/test_cluster.py

Observed only through the HTTP API, signals and the agents' logs. Test methods run in name
order on one cluster, each building on the last. The fault test kills the leader with
SIGKILL while both clients write and read; every operation is recorded with its start, end
and result, and the history is checked (check_history) for lost acknowledged writes and
stale ?consistent reads.
"""

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "clients"))
import roster_process  # noqa: E402
from roster_cluster import RosterCluster  # noqa: E402
from roster_process import wait_for  # noqa: E402

BINARY = None
KILLS = int(os.environ.get("ROSTER_CLUSTER_KILLS", "3"))


def lincheck_binary():
    """The Raft simulator's linearizability checker as a program (tests/sim/lincheck_history)."""
    path = os.environ.get("ROSTER_LINCHECK")
    if not path:
        build = os.path.dirname(os.path.dirname(os.path.abspath(BINARY or roster_process.find_binary())))
        path = os.path.join(build, "tests", "sim", "lincheck_history")
    if not os.access(path, os.X_OK):
        raise AssertionError("lincheck_history not found at %s (set ROSTER_LINCHECK)" % path)
    return path


def run_lincheck(history, origin=0.0):
    """Runs lincheck_history over a recorded history; returns (exit status, its report).
    Writes become puts (unknown when no answer came; refused ones are left out), answered
    ?consistent reads become gets."""
    lines = []
    for op in history:
        if op["kind"] == "write":
            if op["result"] == "failed":
                continue  # refused for certain: it did nothing
            outcome = "ok" if op["result"] == "ok" else "unknown"
            lines.append("%d\tput\t%s\t%d\t%d\t%s\t=%s" % (
                op.get("client", 0), op["key"], (op["start"] - origin) * 1e6, (op["end"] - origin) * 1e6, outcome,
                op["value"]))
        else:
            value = "absent" if op["result"] == "missing" else "=" + op["value"]
            lines.append("%d\tget\t%s\t%d\t%d\tok\t%s" % (
                op.get("client", 0), op["key"], (op["start"] - origin) * 1e6, (op["end"] - origin) * 1e6, value))
    with tempfile.NamedTemporaryFile("w", prefix="roster-history-", suffix=".tsv", delete=False) as out:
        out.write("\n".join(lines) + "\n")
    try:
        done = subprocess.run([lincheck_binary(), out.name], capture_output=True, text=True, timeout=300)
    finally:
        os.unlink(out.name)
    return done.returncode, done.stdout + done.stderr


class Workload:
    """Both client agents writing and reading while a fault is played, every operation recorded
    with its start, end and result. Each worker thread writes keys of its own once
    (history/...), overwrites a few registers shared by all (registers/...), and reads both
    back with ?consistent.

        with Workload(cluster.clients) as workload:
            workload.run_for(1.0)
            ...fault...
        workload.assert_checked(test)
    """

    REGISTERS = 3

    def __init__(self, clients, threads_per_client=2):
        self.clients = clients
        self.threads_per_client = threads_per_client
        self.history = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = []
        self.origin = time.monotonic()
        # Keys of this workload alone: the checkers take every key to start absent.
        self.tag = "%x" % int(time.time() * 1000)

    def __enter__(self):
        for i, client in enumerate(self.clients):
            for j in range(self.threads_per_client):
                worker = i * self.threads_per_client + j
                thread = threading.Thread(target=self._work, args=(client, worker), daemon=True)
                thread.start()
                self.threads.append(thread)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(60)
        return False

    def run_for(self, seconds):
        """Lets the workload run for this long (the length of a fault, not a wait for an event)."""
        time.sleep(seconds)

    def _record(self, op):
        with self.lock:
            self.history.append(op)

    def _put(self, client, worker, key, value):
        start = time.monotonic()
        try:
            status, _, body = client.request("PUT", "/v1/kv/" + key, value, timeout=20)
            result = "ok" if (status, body) == (200, b"true") else "failed" if status < 500 else "unknown"
        except OSError:
            result = "unknown"
        self._record({"kind": "write", "client": worker, "key": key, "value": value, "start": start,
                      "end": time.monotonic(), "result": result})
        return result

    def _get(self, client, worker, key):
        start = time.monotonic()
        try:
            status, _, body = client.request("GET", "/v1/kv/%s?raw&consistent" % key, timeout=20)
        except OSError:
            return  # no answer: says nothing about the data
        end = time.monotonic()
        if status == 200:
            outcome, got = "found", body.decode()
        elif status == 404:
            outcome, got = "missing", None
        else:
            return
        self._record({"kind": "read", "client": worker, "key": key, "value": got, "start": start, "end": end,
                      "result": outcome})

    def _work(self, client, worker):
        rng = random.Random(worker)
        label = "%s-w%d" % (self.tag, worker)
        written = []
        n = 0
        while not self.stop.is_set():
            n += 1
            key = "history/%s-%d" % (label, n)
            if self._put(client, worker, key, "%s-%d" % (label, n)) == "ok":
                written.append(key)
            register = "registers/%s/r%d" % (self.tag, rng.randrange(self.REGISTERS))
            self._put(client, worker, register, "%s-%d" % (label, n))
            for read_key in written[-2:] + ["registers/%s/r%d" % (self.tag, rng.randrange(self.REGISTERS))]:
                self._get(client, worker, read_key)

    def acknowledged(self):
        with self.lock:
            return {op["key"]: op["value"] for op in self.history if op["kind"] == "write" and op["result"] == "ok"}

    def summary(self):
        with self.lock:
            writes = [op for op in self.history if op["kind"] == "write"]
            return "%d writes (%d acknowledged, %d unknown), %d ?consistent reads checked" % (
                len(writes), sum(op["result"] == "ok" for op in writes),
                sum(op["result"] == "unknown" for op in writes),
                sum(op["kind"] == "read" for op in self.history))

    def assert_checked(self, test, minimum_acknowledged):
        """The history passes both checkers: no lost acknowledged write or stale read of a
        write-once key (check_history), and linearizable as a whole (lincheck_history)."""
        with self.lock:
            history = list(self.history)
        acknowledged = sum(1 for op in history if op["kind"] == "write" and op["result"] == "ok")
        test.assertGreater(acknowledged, minimum_acknowledged, "too few writes got through to test anything")
        violations = check_history([op for op in history if op["key"].startswith("history/")])
        test.assertEqual(violations, [], "\n".join(violations[:20]))
        status, report = run_lincheck(history, self.origin)
        test.assertEqual(status, 0, "lincheck_history: " + report)


def corrupt_wal_tail(wal_dir):
    """Garbles the last bytes written to the newest WAL segment, as a crash in mid-write or a
    bad sector would leave them. Returns (segment path, offset, bytes changed)."""
    segments = sorted(name for name in os.listdir(wal_dir) if name.startswith("wal-") and name.endswith(".log"))
    if not segments:
        raise AssertionError("no WAL segment in %s" % wal_dir)
    path = os.path.join(wal_dir, segments[-1])
    with open(path, "r+b") as segment:
        data = segment.read()
        end = len(data.rstrip(b"\0"))  # segments are preallocated with zeros
        if end < 64:
            raise AssertionError("%s holds too little to corrupt" % path)
        length = 12
        offset = end - length
        segment.seek(offset)
        segment.write(bytes(b ^ 0x5A for b in data[offset:end]))
        segment.flush()
        os.fsync(segment.fileno())
    return path, offset, length


def check_history(history):
    """Checks a history of write-once registers, one per key: writes PUT a key once with a
    unique value; ?consistent reads GET it. Returns the violations, as text.

    - Lost write: a write acknowledged true whose key a read that started after the
      acknowledgement did not find (or found with another value).
    - Read from the future: a read that returned a value before its write started.
    Writes that failed or whose outcome is unknown may or may not have been applied; a read
    may see them either way."""
    violations = []
    writes = {}
    for op in history:
        if op["kind"] == "write":
            writes[op["key"]] = op
    for op in history:
        if op["kind"] != "read":
            continue
        write = writes.get(op["key"])
        if write is None:
            continue
        if op["result"] == "found" and op["value"] != write["value"]:
            violations.append("read of %s returned %r, never written" % (op["key"], op["value"]))
        if op["result"] == "found" and op["end"] < write["start"]:
            violations.append("read of %s ended before its write started" % op["key"])
        if write["result"] == "ok" and op["start"] > write["end"] and op["result"] == "missing":
            violations.append("stale read: %s acknowledged at %.3f, a ?consistent read from %.3f did not "
                              "find it" % (op["key"], write["end"], op["start"]))
    return violations


class HistoryCheckerTest(unittest.TestCase):
    """The checker catches what it is for, on histories with planted bugs."""

    def test_a_clean_history_passes(self):
        history = [
            {"kind": "write", "key": "k", "value": "1", "start": 0.0, "end": 1.0, "result": "ok"},
            {"kind": "read", "key": "k", "value": "1", "start": 1.5, "end": 2.0, "result": "found"},
            {"kind": "read", "key": "k", "value": None, "start": 0.2, "end": 0.4, "result": "missing"},
        ]
        self.assertEqual(check_history(history), [])

    def test_a_stale_read_is_caught(self):
        history = [
            {"kind": "write", "key": "k", "value": "1", "start": 0.0, "end": 1.0, "result": "ok"},
            {"kind": "read", "key": "k", "value": None, "start": 1.5, "end": 2.0, "result": "missing"},
        ]
        self.assertEqual(len(check_history(history)), 1)

    def test_a_read_from_the_future_is_caught(self):
        history = [
            {"kind": "write", "key": "k", "value": "1", "start": 5.0, "end": 6.0, "result": "ok"},
            {"kind": "read", "key": "k", "value": "1", "start": 1.0, "end": 2.0, "result": "found"},
        ]
        self.assertEqual(len(check_history(history)), 1)

    def test_lincheck_accepts_a_linearizable_history(self):
        history = [
            {"kind": "write", "client": 1, "key": "r", "value": "a", "start": 0.0, "end": 1.0, "result": "ok"},
            {"kind": "write", "client": 2, "key": "r", "value": "b", "start": 0.5, "end": 3.0, "result": "unknown"},
            {"kind": "read", "client": 1, "key": "r", "value": "a", "start": 1.5, "end": 2.0, "result": "found"},
            {"kind": "read", "client": 3, "key": "q", "value": None, "start": 0.0, "end": 0.1, "result": "missing"},
        ]
        status, report = run_lincheck(history)
        self.assertEqual(status, 0, report)

    def test_lincheck_catches_a_register_that_goes_back_in_time(self):
        history = [
            {"kind": "write", "client": 1, "key": "r", "value": "a", "start": 0.0, "end": 1.0, "result": "ok"},
            {"kind": "write", "client": 1, "key": "r", "value": "b", "start": 2.0, "end": 3.0, "result": "ok"},
            {"kind": "read", "client": 2, "key": "r", "value": "a", "start": 4.0, "end": 5.0, "result": "found"},
        ]
        status, report = run_lincheck(history)
        self.assertEqual(status, 1, report)
        self.assertIn("not linearizable", report)

    def test_lincheck_catches_a_lost_acknowledged_write(self):
        history = [
            {"kind": "write", "client": 1, "key": "k", "value": "v", "start": 0.0, "end": 1.0, "result": "ok"},
            {"kind": "read", "client": 2, "key": "k", "value": None, "start": 2.0, "end": 3.0, "result": "missing"},
        ]
        status, report = run_lincheck(history)
        self.assertEqual(status, 1, report)

    def test_lincheck_refuses_a_malformed_history(self):
        with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as out:
            out.write("1\tput\tk\tnot-a-time\t5\tok\t=v\n")
        try:
            done = subprocess.run([lincheck_binary(), out.name], capture_output=True, text=True, timeout=60)
        finally:
            os.unlink(out.name)
        self.assertEqual(done.returncode, 3)
        self.assertIn("line 1: bad call time", done.stderr)


class ClusterTest(unittest.TestCase):
    cluster = None

    @classmethod
    def setUpClass(cls):
        cls.cluster = RosterCluster(BINARY, servers=3, clients=2, prefix="ct")
        cls.cluster.start(timeout=90)

    @classmethod
    def tearDownClass(cls):
        if cls.cluster:
            cls.cluster.stop()

    def test_1_the_servers_agree_on_one_leader_and_three_peers(self):
        leader = self.cluster.wait_for_leader()
        self.assertIsNotNone(leader)
        for agent in self.cluster.agents:
            self.assertEqual(agent.get_json("/v1/status/leader"), self.cluster.server_address(leader))
            self.assertEqual(sorted(agent.get_json("/v1/status/peers")),
                             sorted(self.cluster.server_address(s) for s in self.cluster.servers))
        # One bootstrap or more (servers that saw all three at once each write the same first
        # entry); the others joined the cluster it made. None bootstrapped twice.
        bootstrapped = [s for s in self.cluster.servers if "bootstrapping the cluster" in s.log()]
        self.assertGreaterEqual(len(bootstrapped), 1)
        for server in self.cluster.servers:
            self.assertLessEqual(server.log().count("bootstrapping the cluster"), 1, server.node)

    def test_2_a_write_through_one_client_is_read_everywhere(self):
        first, second = self.cluster.clients
        status, _, body = first.request("PUT", "/v1/kv/shared/greeting", "hello")
        self.assertEqual((status, body), (200, b"true"))
        status, headers, body = second.request("GET", "/v1/kv/shared/greeting?raw")
        self.assertEqual((status, body), (200, b"hello"))
        self.assertEqual(headers.get("X-Consul-Effective-Consistency"), "leader")
        self.assertEqual(headers.get("X-Consul-KnownLeader"), "true")
        for server in self.cluster.servers:
            wait_for(lambda: server.request("GET", "/v1/kv/shared/greeting?raw&stale")[2] == b"hello", 10,
                     "%s to apply the write" % server.node)

    def test_3_every_agent_answers_the_whole_catalog(self):
        names = {agent.node for agent in self.cluster.agents}
        for agent in self.cluster.agents:
            nodes = {node["Node"] for node in agent.get_json("/v1/catalog/nodes")}
            self.assertEqual(nodes, names, "as %s sees it" % agent.node)
        servers = self.cluster.clients[1].get_json("/v1/catalog/service/consul")
        self.assertEqual({entry["Node"] for entry in servers}, {s.node for s in self.cluster.servers})
        # Every member has the leader's serfHealth check, passing.
        for name in names:
            checks = self.cluster.clients[0].get_json("/v1/health/node/%s" % name)
            serf = [c for c in checks if c["CheckID"] == "serfHealth"]
            self.assertEqual([c["Status"] for c in serf], ["passing"], name)

    def test_4_a_client_registers_its_service_in_the_cluster_catalog(self):
        client = self.cluster.clients[0]
        service = {"Name": "web", "Port": 8080, "Tags": ["v1"], "Check": {"TTL": "30s"}}
        status, _, body = client.request("PUT", "/v1/agent/service/register", json.dumps(service))
        self.assertEqual(status, 200, body)
        self.assertIn("web", client.get_json("/v1/agent/services"))
        for agent in (self.cluster.clients[1], self.cluster.servers[2]):
            entries = agent.get_json("/v1/catalog/service/web")
            self.assertEqual([(e["Node"], e["ServicePort"]) for e in entries], [(client.node, 8080)])
        status, _, _ = client.request("PUT", "/v1/agent/check/pass/service:web")
        self.assertEqual(status, 200)
        health = self.cluster.clients[1].get_json("/v1/health/service/web?passing")
        self.assertEqual(len(health), 1)

    def test_5_a_blocking_query_through_a_client_returns_on_a_change(self):
        reader, writer = self.cluster.clients
        status, headers, _ = reader.request("GET", "/v1/kv/shared/blocking")
        index = headers.get("X-Consul-Index")
        result = {}

        def block():
            started = time.monotonic()
            result["answer"] = reader.request("GET", "/v1/kv/shared/blocking?raw&index=%s&wait=20s" % index,
                                              timeout=30)
            result["took"] = time.monotonic() - started

        thread = threading.Thread(target=block)
        thread.start()
        # The query is held on a server: a write through the other client wakes it.
        wait_for(lambda: any(
            int(s.get_json("/v1/agent/self")["Stats"]["agent"]["blocking_watchers"]) > 0
            for s in self.cluster.servers), 10, "the blocking query to park on a server")
        self.assertEqual(writer.request("PUT", "/v1/kv/shared/blocking", "changed")[0], 200)
        thread.join(30)
        self.assertFalse(thread.is_alive())
        self.assertEqual(result["answer"][0], 200)
        self.assertEqual(result["answer"][2], b"changed")
        self.assertLess(result["took"], 15)

    def test_5b_a_write_that_wakes_a_forwarded_query_is_acknowledged_at_once(self):
        # The server answers the woken query and the write's forward back to back on one
        # inbound RPC connection when both came through the same server; with Nagle on that
        # socket the acknowledgement waited for the peer's delayed ACK (40 ms on Linux)
        # every time. The fastest of a few rounds shows it without timing a single one.
        reader, writer = self.cluster.clients
        took = []
        for round_number in range(5):
            status, headers, _ = reader.request("GET", "/v1/kv/shared/nagle")
            index = headers.get("X-Consul-Index")
            result = {}
            thread = threading.Thread(target=lambda: result.update(answer=reader.request(
                "GET", "/v1/kv/shared/nagle?raw&index=%s&wait=20s" % index, timeout=30)))
            thread.start()
            wait_for(lambda: any(
                int(s.get_json("/v1/agent/self")["Stats"]["agent"]["blocking_watchers"]) > 0
                for s in self.cluster.servers), 10, "the blocking query to park on a server")
            started = time.monotonic()
            status, _, body = writer.request("PUT", "/v1/kv/shared/nagle", "v%d" % round_number)
            took.append(time.monotonic() - started)
            self.assertEqual((status, body), (200, b"true"))
            thread.join(30)
            self.assertEqual(result["answer"][2], b"v%d" % round_number)
        self.assertLess(min(took), 0.035, "write acknowledgements took %s s" % ["%.3f" % t for t in took])

    def test_6_consistency_modes_carry_their_headers(self):
        follower = next(s for s in self.cluster.servers if s is not self.cluster.leader())
        _, headers, body = follower.request("GET", "/v1/kv/shared/greeting?raw&consistent")
        self.assertEqual(body, b"hello")
        self.assertEqual(headers.get("X-Consul-Effective-Consistency"), "consistent")
        _, headers, _ = follower.request("GET", "/v1/kv/shared/greeting?stale")
        self.assertEqual(headers.get("X-Consul-Effective-Consistency"), "stale")
        self.assertNotEqual(headers.get("X-Consul-LastContact"), None)
        status, _, _ = follower.request("GET", "/v1/kv/shared/greeting?stale&consistent")
        self.assertEqual(status, 400)

    def test_7_the_leader_killed_repeatedly_loses_no_acknowledged_write(self):
        workload = Workload(self.cluster.clients)
        failovers = []
        with workload:
            for _ in range(KILLS):
                workload.run_for(1.0)  # both clients write under this leader
                leader = self.cluster.wait_for_leader(timeout=30)
                killed_at = time.monotonic()
                leader.kill()
                survivor = self.cluster.wait_for_leader(timeout=30, not_this=leader)
                failovers.append(time.monotonic() - killed_at)
                self.assertIsNot(survivor, leader)
                # It comes back with its data, without a bootstrap, and catches up.
                self.cluster.start_agent(leader)
                wait_for(lambda: self.cluster.leader() is not None and leader.get_json(
                    "/v1/status/leader") == self.cluster.server_address(self.cluster.leader()), 60,
                    "%s to rejoin" % leader.node)
                self.assertIn("rejoining without a bootstrap", leader.log())
            workload.run_for(1.0)
        workload.assert_checked(self, minimum_acknowledged=20)
        self.assert_every_server_holds(workload.acknowledged())
        sys.stderr.write("\n  %d kills; failover %s s; %s\n" % (
            KILLS, ", ".join("%.2f" % f for f in failovers), workload.summary()))

    def test_8_a_paused_leader_is_replaced_and_steps_down_when_it_resumes(self):
        workload = Workload(self.cluster.clients)
        with workload:
            workload.run_for(1.0)
            leader = self.cluster.wait_for_leader(timeout=30)
            others = [s for s in self.cluster.servers if s is not leader]
            stepped_down_before = leader.log().count("stepped down as leader")
            paused_at = time.monotonic()
            leader.send_signal(signal.SIGSTOP)
            try:
                successor = wait_for(lambda: self.cluster.leader(among=others), 30,
                                     "a new leader while %s is paused" % leader.node)
                took_over = time.monotonic() - paused_at
                acknowledged_before = len(workload.acknowledged())
                # The fault is a 10 s pause; the workload goes on through it.
                workload.run_for(max(0.0, 10.0 - (time.monotonic() - paused_at)))
                acknowledged_during = len(workload.acknowledged()) - acknowledged_before
            finally:
                leader.send_signal(signal.SIGCONT)
            # Once it runs again it hears of the newer term, steps down and follows.
            wait_for(lambda: leader.get_json("/v1/status/leader", timeout=5) ==
                     self.cluster.server_address(successor), 30, "%s to follow %s" % (leader.node, successor.node))
            wait_for(lambda: leader.log().count("stepped down as leader") > stepped_down_before, 10,
                     "%s to log that it stepped down" % leader.node)
            workload.run_for(1.0)
        workload.assert_checked(self, minimum_acknowledged=10)
        self.assert_every_server_holds(workload.acknowledged())
        sys.stderr.write("\n  paused %s for 10 s; %s led after %.2f s; %d writes acknowledged during the pause; "
                         "%s\n" % (leader.node, successor.node, took_over, acknowledged_during, workload.summary()))

    def test_9_a_server_with_a_corrupt_wal_tail_recovers_and_loses_nothing(self):
        workload = Workload(self.cluster.clients)
        with workload:
            workload.run_for(1.0)
            victim = self.cluster.wait_for_leader(timeout=30)
            victim.kill()
            segment, offset, length = corrupt_wal_tail(os.path.join(victim.data_dir, "raft", "wal"))
            self.cluster.wait_for_leader(timeout=30, not_this=victim)
            workload.run_for(1.0)
            self.cluster.start_agent(victim)
            # It cuts the damaged record off, recovers what came before, and catches up
            # from the leader.
            self.assertIn("torn tail cut off", victim.log())
            wait_for(lambda: self.cluster.leader() is not None and victim.get_json(
                "/v1/status/leader") == self.cluster.server_address(self.cluster.leader()), 60,
                "%s to rejoin" % victim.node)
            workload.run_for(1.0)
        workload.assert_checked(self, minimum_acknowledged=10)
        self.assert_every_server_holds(workload.acknowledged())
        sys.stderr.write("\n  corrupted %d bytes at offset %d of %s; %s\n" % (
            length, offset, os.path.basename(segment), workload.summary()))

    def test_zz_restarting_every_server_at_once_keeps_the_catalog(self):
        # Client agents leave first (the leader deregisters them), so nothing writes while
        # the servers are down; the catalog then settles, and every server holds the same
        # snapshot.
        for client in self.cluster.clients:
            client.send_signal(signal.SIGINT)  # an interrupt leaves the pool gracefully
            client.process.wait(30)
        server = self.cluster.servers[0]
        wait_for(lambda: not ({n["Node"] for n in server.get_json("/v1/catalog/nodes")} &
                              {c.node for c in self.cluster.clients}), 30,
                 "the clients that left to leave the catalog")
        before = wait_for(lambda: same_snapshot(self.cluster.servers), 30, "every server to hold the same snapshot")
        for server in self.cluster.servers:
            server.kill()
        for server in self.cluster.servers:
            self.cluster.start_agent(server)
        self.cluster.wait_for_leader(timeout=60)
        after = wait_for(lambda: same_snapshot(self.cluster.servers), 30, "every server to hold the same snapshot")
        self.assertEqual(after["digest"], before["digest"], "the catalog changed across a restart of every server: "
                         "%s -> %s; written since: %s" % (describe_snapshot(before), describe_snapshot(after),
                                                         changed_since(self.cluster.servers[0], before["index"])))
        sys.stderr.write("\n  snapshot at index %d, %d bytes, sha256 %s, identical before and after\n" % (
            after["index"], after["size"], after["digest"][:16]))

    def assert_every_server_holds(self, acknowledged):
        """Every acknowledged write is on every server once they converge."""
        for server in self.cluster.servers:
            def has_all():
                for prefix in ("history/", "registers/"):
                    listed = {e["Key"]: e["Value"] for e in server.get_json("/v1/kv/%s?recurse&stale" % prefix,
                                                                              timeout=20)}
                    for key in {k for k in acknowledged if k.startswith(prefix)}:
                        if key not in listed:
                            return False
                return True
            wait_for(has_all, 30, "%s to hold every acknowledged write" % server.node)


def same_snapshot(servers):
    """The snapshot every server serves locally (?stale), when they are all identical."""
    seen = []
    for server in servers:
        status, headers, body = server.request("GET", "/v1/snapshot?stale", timeout=20)
        if status != 200:
            return None
        seen.append(body)
    if len(set(seen)) != 1:
        return None
    body = seen[0]
    return {"digest": hashlib.sha256(body).hexdigest(), "size": len(body),
            "index": int.from_bytes(body[len(b"ROSTERSNAP1"):len(b"ROSTERSNAP1") + 8], "little"), "body": body}


def changed_since(server, index):
    """What the catalog shows as written after `index`: to explain a differing snapshot."""
    changed = []
    for path in ("/v1/catalog/nodes?stale", "/v1/health/state/any?stale", "/v1/kv/?recurse&stale",
                 "/v1/session/list?stale"):
        status, _, body = server.request("GET", path, timeout=20)
        if status != 200:
            continue
        for entry in json.loads(body) or []:
            if max(entry.get("ModifyIndex", 0), entry.get("CreateIndex", 0)) > index:
                changed.append("%s %s" % (path.split("?")[0], json.dumps(entry, sort_keys=True)[:300]))
    return changed or "nothing the API lists (a deletion, or a table index)"


def describe_snapshot(snapshot):
    return {"index": snapshot["index"], "size": snapshot["size"]}


if __name__ == "__main__":
    BINARY = roster_process.find_binary()
    roster_process.run_unittest_main()
