"""Autopilot with real processes on loopback: three servers (-server -bootstrap-expect 3)
with short autopilot times from their config file.

    ROSTER_BIN=build/agent/roster /usr/bin/python3 tests/integration/test_cluster_autopilot.py

- A fourth server started later, with a fresh data directory, joins without a bootstrap:
  the leader adds it as a non-voter, and promotes it once it has been healthy for
  server_stabilization_time. It then holds what was written before it came.
- A server killed with SIGKILL and never restarted is removed from the Raft configuration
  once it has been failed for dead_server_cleanup_after; the others keep serving writes.
- With cleanup_dead_servers off, a killed server stays in the configuration.

Observed only through the HTTP API, signals and the agents' logs. Test methods run in name
order on one cluster, each building on the last. Which removals autopilot refuses (never
a majority, never one of the last two voters, min_quorum) is unit-tested in
tests/agent/server/autopilot_policy_test.cc.
"""

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "clients"))
import roster_process  # noqa: E402
from roster_cluster import RosterCluster, free_gossip_port, free_tcp_port  # noqa: E402
from roster_process import RosterAgent, wait_for  # noqa: E402

BINARY = None
STABILIZATION = 2.0
CLEANUP_AFTER = 5.0
AUTOPILOT_CONFIG = """\
autopilot:
  cleanup_dead_servers: true
  dead_server_cleanup_after: %ds
  server_stabilization_time: %ds
""" % (CLEANUP_AFTER, STABILIZATION)


def raft_servers(agent):
    """The Raft configuration as `agent` sees it: {address: voter}."""
    configuration = agent.get_json("/v1/operator/raft/configuration", timeout=5)
    return {server["Address"]: server["Voter"] for server in configuration["Servers"]}


def member_status(agent, node):
    """The gossip status code of `node` as `agent` sees it (1 alive, 3 left, 4 failed)."""
    for member in agent.get_json("/v1/agent/members", timeout=5):
        if member["Name"] == node:
            return member["Status"]
    return None


def add_server(cluster, name):
    """Starts one more server with a fresh data directory and the same flags as the
    others (-bootstrap-expect included), joined to the pool."""
    data_dir = os.path.join(cluster.root, name)
    os.makedirs(data_dir)
    agent = RosterAgent(cluster.binary, node=name, dev=False, data_dir=data_dir,
                        config_files=[cluster.config_path], serf_lan_port=free_gossip_port(), log_level="info",
                        wait_for_leader=False,
                        extra_args=["-server", "-bootstrap-expect", "3", "-bind", "127.0.0.1",
                                    "-server-port", str(free_tcp_port())])
    cluster.servers.append(agent)
    cluster.start_agent(agent)
    return agent


class AutopilotTest(unittest.TestCase):
    cluster = None

    @classmethod
    def setUpClass(cls):
        cls.cluster = RosterCluster(BINARY, servers=3, clients=0, prefix="ap", extra_config=AUTOPILOT_CONFIG)
        cls.cluster.start(timeout=90)

    @classmethod
    def tearDownClass(cls):
        if cls.cluster:
            cls.cluster.stop()

    def test_1_a_new_server_is_a_non_voter_until_it_has_been_stable(self):
        leader = self.cluster.wait_for_leader()
        for i in range(20):
            status, _, body = leader.request("PUT", "/v1/kv/before/%02d" % i, "value-%d" % i)
            self.assertEqual((status, body), (200, b"true"))

        newcomer = add_server(self.cluster, "ap-server-4")
        address = self.cluster.server_address(newcomer)
        # Every answer of the leader about the newcomer, in order, until it votes.
        seen = []

        def promoted():
            voter = raft_servers(leader).get(address)
            if voter is not None and (not seen or seen[-1][1] != voter):
                seen.append((time.monotonic(), voter))
            return voter is True
        wait_for(promoted, 60, "%s to be promoted to voter" % newcomer.node)

        self.assertEqual([voter for _, voter in seen], [False, True],
                         "the leader's configuration showed the new server as %r" % seen)
        # Promoted only after it had been healthy for the stabilization time (less a
        # margin for how late the first poll saw it as a non-voter).
        non_voter_for = seen[1][0] - seen[0][0]
        self.assertGreaterEqual(non_voter_for, STABILIZATION - 0.5,
                                "promoted %.2fs after it was seen as a non-voter" % non_voter_for)
        sys.stderr.write("\n  seen as a non-voter for %.2f s before its promotion\n" % non_voter_for)
        self.assertIn("autopilot: adding server %s as a non-voter" % newcomer.node, leader.log())
        self.assertIn("autopilot: promoting server %s to voter" % newcomer.node, leader.log())
        # It joined the running cluster; it did not start one of its own.
        self.assertNotIn("bootstrapping the cluster", newcomer.log())
        self.assertIn("already holds a cluster; joining it instead of bootstrapping", newcomer.log())

        # It holds what was written before it came, and every server counts it.
        for i in range(20):
            wait_for(lambda: newcomer.request("GET", "/v1/kv/before/%02d?raw&stale" % i)[2] == b"value-%d" % i,
                     30, "%s to hold before/%02d" % (newcomer.node, i))
        everyone = sorted(self.cluster.server_address(s) for s in self.cluster.servers)
        for server in self.cluster.servers:
            wait_for(lambda: sorted(server.get_json("/v1/status/peers")) == everyone, 30,
                     "%s to list four peers" % server.node)
        self.assertEqual(newcomer.get_json("/v1/status/leader"), self.cluster.server_address(leader))
        healthy = {a: (True, True) for a in everyone}
        health = wait_for(lambda: (lambda h: h if {s["Address"]: (s["Voter"], s["Healthy"])
                                                    for s in h["Servers"]} == healthy else None)(
            leader.get_json("/v1/operator/autopilot/health")), 10, "four healthy voters in autopilot's health")
        self.assertEqual(health["FailureTolerance"], 1)  # 4 voters, a quorum of 3: one to spare

    def test_2_a_killed_server_is_removed_after_the_cleanup_time(self):
        leader = self.cluster.wait_for_leader()
        victim = next(s for s in self.cluster.servers if s is not leader)
        victim_address = self.cluster.server_address(victim)
        survivors = [s for s in self.cluster.servers if s is not victim]
        self.assertIn(victim_address, leader.get_json("/v1/status/peers"))

        killed_at = time.monotonic()
        victim.kill()
        wait_for(lambda: member_status(leader, victim.node) == 4, 30, "the leader to see %s failed" % victim.node)
        # Writes go on meanwhile: three voters of four are alive.
        status, _, body = survivors[0].request("PUT", "/v1/kv/while-failed", "yes", timeout=20)
        self.assertEqual((status, body), (200, b"true"))

        wait_for(lambda: victim_address not in leader.get_json("/v1/status/peers", timeout=5), 60,
                 "the leader to remove %s" % victim.node)
        removed_after = time.monotonic() - killed_at
        self.assertGreaterEqual(removed_after, CLEANUP_AFTER,
                                "removed %.2fs after the kill, before dead_server_cleanup_after" % removed_after)
        sys.stderr.write("\n  removed %.2f s after the kill\n" % removed_after)
        self.assertIn("autopilot: removing server %s (failed past the cleanup time)" % victim.node, leader.log())
        self.assertEqual(self.cluster.leader(), leader)
        expected = {self.cluster.server_address(s): True for s in survivors}
        for server in survivors:
            wait_for(lambda: raft_servers(server) == expected, 30,
                     "%s to hold the configuration without %s" % (server.node, victim.node))
            wait_for(lambda: sorted(server.get_json("/v1/status/peers")) == sorted(expected), 30,
                     "%s to list three peers" % server.node)

        # The three left serve writes, and can lose one more.
        for i, server in enumerate(survivors):
            status, _, body = server.request("PUT", "/v1/kv/after-removal/%d" % i, "v%d" % i, timeout=20)
            self.assertEqual((status, body), (200, b"true"))
            status, _, body = server.request("GET", "/v1/kv/after-removal/%d?raw&consistent" % i)
            self.assertEqual((status, body), (200, b"v%d" % i))
        health = wait_for(lambda: leader.get_json("/v1/operator/autopilot/health"), 10, "autopilot health")
        self.assertEqual(len(health["Servers"]), 3)
        self.assertEqual(health["FailureTolerance"], 1)


class CleanupOffTest(unittest.TestCase):
    """cleanup_dead_servers: false keeps a failed server in the configuration."""
    cluster = None

    @classmethod
    def setUpClass(cls):
        config = AUTOPILOT_CONFIG.replace("cleanup_dead_servers: true", "cleanup_dead_servers: false")
        cls.cluster = RosterCluster(BINARY, servers=3, clients=0, prefix="apoff", extra_config=config)
        cls.cluster.start(timeout=90)

    @classmethod
    def tearDownClass(cls):
        if cls.cluster:
            cls.cluster.stop()

    def test_a_killed_server_stays_in_the_configuration(self):
        leader = self.cluster.wait_for_leader()
        victim = next(s for s in self.cluster.servers if s is not leader)
        victim_address = self.cluster.server_address(victim)
        victim.kill()
        wait_for(lambda: member_status(leader, victim.node) == 4, 30, "the leader to see %s failed" % victim.node)
        # Watch it stay for twice the cleanup time after the failure was seen.
        deadline = time.monotonic() + 2 * CLEANUP_AFTER
        polls = 0
        while time.monotonic() < deadline:
            self.assertIn(victim_address, leader.get_json("/v1/status/peers", timeout=5))
            self.assertIs(raft_servers(leader).get(victim_address), True)
            polls += 1
            time.sleep(0.2)
        self.assertGreater(polls, 10)
        self.assertNotIn("autopilot: removing server", leader.log())
        # Two voters of three still make a quorum.
        status, _, body = leader.request("PUT", "/v1/kv/cleanup-off", "kept", timeout=20)
        self.assertEqual((status, body), (200, b"true"))


if __name__ == "__main__":
    BINARY = roster_process.find_binary()
    roster_process.run_unittest_main()
