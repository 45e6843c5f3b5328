"""Recovery after a permanent loss of quorum, with real processes on loopback: three servers
(-server -bootstrap-expect 3) take KV writes, two of them are killed with SIGKILL for good,
and the survivor is brought back alone with a peers.json, as docs/OPERATIONS.md tells an
operator to do.

    ROSTER_BIN=build/agent/roster /usr/bin/python3 tests/integration/test_cluster_recovery.py

Observed only through the HTTP API, signals, the agents' logs and the files in the
survivor's data directory. Test methods run in name order on one cluster, each building on
the last.
"""

import base64
import json
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "clients"))
import roster_process  # noqa: E402
from roster_cluster import RosterCluster  # noqa: E402
from roster_process import AgentError, wait_for  # noqa: E402

BINARY = None
KEYS = 25


class ClusterRecoveryTest(unittest.TestCase):
    cluster = None
    survivor = None
    written = {}

    @classmethod
    def setUpClass(cls):
        cls.cluster = RosterCluster(BINARY, servers=3, clients=0, prefix="rec")
        cls.cluster.start(timeout=90)

    @classmethod
    def tearDownClass(cls):
        if cls.cluster:
            cls.cluster.cleanup()

    def peers_file(self):
        return os.path.join(self.survivor.data_dir, "raft", "peers.json")

    def put(self, agent, key, value, timeout=10):
        status, _, body = agent.request("PUT", "/v1/kv/" + key, value, timeout=timeout)
        return status, body

    def recovery_kv(self, agent, consistency):
        """The recovery/ keys the agent holds, with their values, read with ?<consistency>."""
        entries = agent.get_json("/v1/kv/recovery/?recurse&" + consistency, timeout=10)
        return {entry["Key"]: base64.b64decode(entry["Value"]).decode() for entry in entries}

    def assert_holds_every_write(self, agent):
        held = self.recovery_kv(agent, "consistent")
        for key, value in self.written.items():
            self.assertEqual(held.get(key), value, key)
        # A write that was never acknowledged may or may not have survived; nothing else may appear.
        self.assertLessEqual(set(held) - set(self.written), {"recovery/without-quorum"})

    def test_1_writes_are_acknowledged_by_the_cluster(self):
        leader = self.cluster.wait_for_leader()
        for i in range(KEYS):
            key, value = "recovery/key-%02d" % i, "value-%d" % i
            self.assertEqual(self.put(leader, key, value), (200, b"true"), key)
            self.written[key] = value
        # The survivor is a follower: it must keep what it holds, not only what it led.
        type(self).survivor = next(s for s in self.cluster.servers if s is not leader)
        wait_for(lambda: self.recovery_kv(self.survivor, "stale") == self.written, 20,
                 "%s to apply every write" % self.survivor.node)

    def test_2_killing_two_servers_for_good_loses_the_quorum(self):
        survivor = self.survivor
        configuration = survivor.get_json("/v1/operator/raft/configuration")
        self.assertEqual(len(configuration["Servers"]), 3)
        me = [s for s in configuration["Servers"] if s["Address"] == self.cluster.server_address(survivor)]
        self.assertEqual(len(me), 1, configuration)
        # What an operator copies from `roster operator raft list-peers` into peers.json.
        type(self).survivor_id = me[0]["ID"]
        type(self).survivor_address = me[0]["Address"]

        for server in self.cluster.servers:
            if server is not survivor:
                server.kill()
        # The survivor loses its leader (or, leading, steps down for want of a quorum).
        wait_for(lambda: survivor.get_json("/v1/status/leader", timeout=5) == "", 30,
                 "%s to have no leader" % survivor.node)
        started = time.monotonic()
        try:
            status, body = self.put(survivor, "recovery/without-quorum", "lost", timeout=20)
        except OSError:  # the write hung past the timeout: no answer is no acknowledgement either
            status, body = None, b""
        sys.stderr.write("\n  a write without a quorum: HTTP %s after %.1f s: %r\n" % (
            status, time.monotonic() - started, body[:200]))
        self.assertNotEqual((status, body), (200, b"true"), "a write was acknowledged without a quorum")
        self.assertTrue(status is None or status >= 500, (status, body))

    def test_3_a_bad_peers_json_stops_the_server_from_starting(self):
        survivor = self.survivor
        self.assertEqual(survivor.stop(), 0, "the survivor did not stop cleanly")
        with open(self.peers_file(), "w") as peers:
            peers.write('[{"id": "%s", "address": "%s"' % (self.survivor_id, self.survivor_address))
        with self.assertRaises(AgentError) as refused:
            self.cluster.start_agent(survivor)
        message = str(refused.exception)
        self.assertIn(self.peers_file(), message)
        self.assertIn("not valid JSON", message)
        self.assertTrue(os.path.exists(self.peers_file()), "the refused file was removed")

    def test_4_the_survivor_recovers_alone_with_every_acknowledged_write(self):
        survivor = self.survivor
        with open(self.peers_file(), "w") as peers:
            json.dump([{"id": self.survivor_id, "address": self.survivor_address, "non_voter": False}], peers,
                      indent=2)
        self.cluster.start_agent(survivor)
        wait_for(lambda: self.cluster.leader(among=[survivor]) is survivor, 60, "%s to lead alone" % survivor.node)
        self.assertFalse(os.path.exists(self.peers_file()), "peers.json is still there after the recovery")
        self.assertEqual(survivor.log().count("recovered the Raft configuration from %s: 1 servers"
                                              % self.peers_file()), 1)

        configuration = survivor.get_json("/v1/operator/raft/configuration")
        self.assertEqual([(s["ID"], s["Address"], s["Leader"], s["Voter"]) for s in configuration["Servers"]],
                         [(self.survivor_id, self.survivor_address, True, True)])
        # Every acknowledged write, through a ?consistent read: the recovered leader answers it.
        self.assert_holds_every_write(survivor)

        self.assertEqual(self.put(survivor, "recovery/after", "recovered"), (200, b"true"))
        status, _, body = survivor.request("GET", "/v1/kv/recovery/after?raw&consistent")
        self.assertEqual((status, body), (200, b"recovered"))
        self.written["recovery/after"] = "recovered"

    def test_5_a_restart_afterwards_is_an_ordinary_one(self):
        survivor = self.survivor
        self.assertEqual(survivor.stop(), 0)
        self.cluster.start_agent(survivor)
        wait_for(lambda: self.cluster.leader(among=[survivor]) is survivor, 60, "%s to lead again" % survivor.node)
        self.assertEqual(survivor.log().count("recovered the Raft configuration"), 1, "recovered twice")
        self.assert_holds_every_write(survivor)
        self.assertEqual(self.put(survivor, "recovery/after-restart", "still"), (200, b"true"))


if __name__ == "__main__":
    BINARY = roster_process.find_binary()
    roster_process.run_unittest_main()
