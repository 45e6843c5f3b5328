"""The cluster catalog with real processes on loopback: three servers replicating it with
Raft (-server -bootstrap-expect 3) and two client agents that keep none.

    ROSTER_BIN=build/agent/roster /usr/bin/python3 tests/integration/test_cluster.py

Observed only through the HTTP API, signals and the agents' logs. Test methods run in name
order on one cluster, each building on the last. The fault test kills the leader with
SIGKILL while both clients write and read; every operation is recorded with its start, end
and result, and the history is checked (check_history) for lost acknowledged writes and
stale ?consistent reads.
"""

import json
import os
import sys
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
        history = []
        lock = threading.Lock()
        stop = threading.Event()

        def worker(client, label):
            n = 0
            written = []
            while not stop.is_set():
                n += 1
                key = "history/%s-%d" % (label, n)
                value = "%s-%d" % (label, n)
                start = time.monotonic()
                try:
                    status, _, body = client.request("PUT", "/v1/kv/" + key, value, timeout=20)
                    result = "ok" if (status, body) == (200, b"true") else "failed" if status < 500 else "unknown"
                except OSError:
                    result = "unknown"
                end = time.monotonic()
                with lock:
                    history.append({"kind": "write", "key": key, "value": value, "start": start, "end": end,
                                    "result": result})
                if result == "ok":
                    written.append((key, value))
                # Read back an earlier write (and this one) with ?consistent.
                for read_key, _ in written[-2:]:
                    start = time.monotonic()
                    try:
                        status, _, body = client.request("GET", "/v1/kv/%s?raw&consistent" % read_key, timeout=20)
                    except OSError:
                        continue
                    end = time.monotonic()
                    if status == 200:
                        outcome, got = "found", body.decode()
                    elif status == 404:
                        outcome, got = "missing", None
                    else:
                        continue  # no answer: says nothing about the data
                    with lock:
                        history.append({"kind": "read", "key": read_key, "value": got, "start": start,
                                        "end": end, "result": outcome})

        threads = [threading.Thread(target=worker, args=(client, "c%d" % i))
                   for i, client in enumerate(self.cluster.clients)]
        for thread in threads:
            thread.start()
        failovers = []
        try:
            for _ in range(KILLS):
                time.sleep(1.0)  # let both clients write under this leader
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
            time.sleep(1.0)
        finally:
            stop.set()
            for thread in threads:
                thread.join(60)
        acknowledged = [op for op in history if op["kind"] == "write" and op["result"] == "ok"]
        self.assertGreater(len(acknowledged), 20, "too few writes got through to test anything")
        violations = check_history(history)
        self.assertEqual(violations, [], "\n".join(violations[:20]))
        # Every acknowledged write is on every server once they converge.
        keys = {op["key"]: op["value"] for op in acknowledged}
        for server in self.cluster.servers:
            def has_all():
                listed = server.get_json("/v1/kv/history/?recurse&stale", timeout=20)
                present = {entry["Key"] for entry in listed}
                return set(keys) <= present
            wait_for(has_all, 30, "%s to hold every acknowledged write" % server.node)
        sys.stderr.write("\n  %d kills; failover %s s; %d writes acknowledged, %d reads checked\n" % (
            KILLS, ", ".join("%.2f" % f for f in failovers), len(acknowledged),
            sum(1 for op in history if op["kind"] == "read")))

    def test_8_restarting_every_server_keeps_the_catalog(self):
        before = self.cluster.clients[0].get_json("/v1/kv/?recurse")
        for server in self.cluster.servers:
            server.stop()
        for server in self.cluster.servers:
            self.cluster.start_agent(server)
        self.cluster.wait_for_leader(timeout=60)
        after = wait_for(lambda: self.cluster.clients[0].get_json("/v1/kv/?recurse"), 30, "the KV store after a restart")
        strip = lambda entries: sorted((e["Key"], e["Value"], e["ModifyIndex"]) for e in entries)  # noqa: E731
        self.assertEqual(strip(after), strip(before))


if __name__ == "__main__":
    BINARY = roster_process.find_binary()
    roster_process.run_unittest_main()
