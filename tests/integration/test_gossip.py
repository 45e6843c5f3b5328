"""The gossip pool with real `roster agent` processes on loopback: joins, failure detection,
leave, tags, encryption and key rotation, restarts, address changes, collisions and bad packets.
Observed only through the HTTP API, the CLI, exit statuses and the agents' logs.

    ROSTER_BIN=build/agent/roster /usr/bin/python3 tests/integration/test_gossip.py

The pool runs with fast timing set explicitly in each agent's config file (the `gossip:` keys
documented in docs/CONFIG.md); the defaults stay Serf's LAN timing. Test methods run in name
order on one shared pool of ten agents, each step building on the last.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "clients"))
import roster_process  # noqa: E402
from roster_cluster import free_gossip_port  # noqa: E402
from roster_process import RosterAgent, wait_for  # noqa: E402

BINARY = None
POOL_SIZE = 10

# Timing of the test pool (config file below). The failure-detection bound follows from it:
# a probe of the dead node starts within one interval (every live node probes one member per
# interval), the probe's window is the interval stretched by the local health multiplier (at
# most 8x), then the suspicion runs at most suspicion_max_timeout_mult (6) x suspicion_mult x
# log10(N) x interval before the node is declared failed, and the "dead" broadcast spreads
# in a few gossip rounds.
PROBE_INTERVAL = 0.5
SUSPICION_MULT = 3
FAILURE_BOUND = PROBE_INTERVAL + 8 * PROBE_INTERVAL + 6 * SUSPICION_MULT * 1 * PROBE_INTERVAL + 2.0

GOSSIP_CONFIG = textwrap.dedent("""\
    gossip:
      profile: local
      probe_interval: 500ms
      probe_timeout: 200ms
      gossip_interval: 100ms
      suspicion_mult: 3
      push_pull_interval: 10s
    """)

KEY_1 = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="
KEY_2 = "ZWTL+bgjHyQPhJRKcFe3ccirc2SFHmc/Nw1Yzx9hYHc="  # the intruder's
KEY_3 = "RFNB5mEfBhVTFnJyE6WL3ukfQcRdXgVdYyA7xvbvo6c="

STATUS_ALIVE, STATUS_LEFT, STATUS_FAILED = 1, 3, 4


def members(agent):
    """{name: member} as `agent` sees the pool."""
    return {member["Name"]: member for member in agent.get_json("/v1/agent/members")}


def serf_stats(agent):
    return agent.get_json("/v1/agent/self")["Stats"]["serf_lan"]


def log_line(agent, *words):
    """The first line of the agent's log that holds every word, or None."""
    for line in agent.log().splitlines():
        if not line.startswith("====") and all(word in line for word in words):
            return line
    return None


def run_cli(*args, timeout=60):
    return subprocess.run([BINARY] + list(args), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


class GossipPoolTest(unittest.TestCase):
    pool = []
    workdir = None
    # Nodes stopped, killed or gone on purpose: only they may be seen failed or left.
    gone = set()

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="roster-gossip-")
        cls.config_path = cls.write_config("gossip.yaml", GOSSIP_CONFIG)
        started = time.monotonic()
        seed = None
        for i in range(POOL_SIZE):
            # node-0 is the pool's single server (-bootstrap), holding the catalog that the
            # tag commands write to; the others are client agents.
            extra = ["-join", seed] if seed else ["-server", "-bootstrap", "-server-port", "0"]
            agent = cls.make_agent("node-%d" % i, extra)
            agent.start()
            if seed is None:
                seed = agent.gossip_address()
            cls.pool.append(agent)
        cls.seed_address = seed
        cls.start_seconds = time.monotonic() - started

    @classmethod
    def tearDownClass(cls):
        roster_process.stop_all()
        if cls.workdir and not os.environ.get("ROSTER_KEEP_TEST_DIRS"):
            shutil.rmtree(cls.workdir, ignore_errors=True)

    @classmethod
    def write_config(cls, name, text):
        path = os.path.join(cls.workdir, name)
        with open(path, "w") as out:
            out.write(text)
        return path

    @classmethod
    def node_config(cls, name):
        return os.path.join(cls.workdir, name + ".yaml")

    @classmethod
    def make_agent(cls, name, extra_args=(), key=KEY_1, data_dir=None):
        """An agent with the pool's timing and an image tag (image=v1) in its own config file."""
        data_dir = data_dir or os.path.join(cls.workdir, name)
        os.makedirs(data_dir, exist_ok=True)
        if not os.path.exists(cls.node_config(name)):
            cls.write_config(name + ".yaml", "tags:\n  image: v1\n")
        args = ["-bind", "127.0.0.1", "-encrypt", key] + list(extra_args)
        # Client agents only: the pool needs no catalog, so none waits for a leader.
        return RosterAgent(BINARY, node=name, dev=False, data_dir=data_dir,
                           config_files=[cls.config_path, cls.node_config(name)], extra_args=args,
                           wait_for_leader=False)

    def live(self):
        return [agent for agent in self.pool if agent.node not in self.gone]

    def wait_all_see(self, predicate, what, timeout=30.0):
        """Waits until predicate(members_map) holds on every live agent; returns the seconds taken."""
        started = time.monotonic()
        for agent in self.live():
            remaining = max(0.5, timeout - (time.monotonic() - started))
            wait_for(lambda: predicate(members(agent)), remaining, "%s on %s" % (what, agent.node), interval=0.1)
        return time.monotonic() - started

    def assert_no_false_failures(self):
        """No live agent is failed or left in anyone's view."""
        for agent in self.live():
            view = members(agent)
            for other in self.live():
                self.assertIn(other.node, view, "%s does not know %s" % (agent.node, other.node))
                self.assertEqual(view[other.node]["Status"], STATUS_ALIVE,
                                 "%s sees live %s as %r" % (agent.node, other.node, view[other.node]))

    # ---- tests, in order ----

    def test_01_all_see_all(self):
        names = {agent.node for agent in self.pool}
        took = self.wait_all_see(
            lambda view: names <= set(view) and all(view[n]["Status"] == STATUS_ALIVE for n in names),
            "all %d members alive" % POOL_SIZE)
        print("\n  %d agents started and joined in %.1fs; all saw all %.1fs later"
              % (POOL_SIZE, self.start_seconds, took))
        view = members(self.pool[3])
        self.assertEqual(view["node-3"]["Addr"], "127.0.0.1")
        self.assertGreater(view["node-3"]["Port"], 0)
        # The CLI's table shows the status words.
        result = run_cli("members", "-http-addr", self.pool[0].address)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("node-9", result.stdout)
        self.assertIn("alive", result.stdout)
        self.assertEqual(serf_stats(self.pool[0])["encrypted"], "true")

    def test_02_tag_set_spreads(self):
        result = run_cli("tag", "set", "-http-addr", self.pool[3].address, "role=web")
        self.assertEqual(result.returncode, 0, result.stderr)
        took = self.wait_all_see(lambda view: view["node-3"]["Tags"].get("role") == "web", "node-3 role=web")
        print("\n  tag seen by all in %.2fs" % took)

    def test_03_sighup_keeps_tags(self):
        agent = self.pool[3]
        self.wait_all_see(lambda view: view["node-3"]["Tags"].get("image") == "v1", "node-3 image=v1")
        with open(self.node_config(agent.node), "w") as out:
            out.write("tags:\n  image: v2\n")
        reloads = agent.log().count("reloaded tags")
        agent.send_signal(signal.SIGHUP)
        wait_for(lambda: agent.log().count("reloaded tags") > reloads, 10, "node-3 to reload")
        self.wait_all_see(lambda view: view["node-3"]["Tags"].get("image") == "v2", "node-3 image=v2")
        # The operator tag set over the API survived the reload, everywhere.
        for other in self.live():
            self.assertEqual(members(other)["node-3"]["Tags"].get("role"), "web", other.node)

    def test_04_kill9_is_detected_within_bound(self):
        victim = self.pool[9]
        self.assertEqual(victim.kill(), -signal.SIGKILL)
        self.gone.add(victim.node)
        killed = time.monotonic()
        took = self.wait_all_see(lambda view: view["node-9"]["Status"] == STATUS_FAILED,
                                 "node-9 failed", timeout=FAILURE_BOUND + 5)
        total = time.monotonic() - killed
        print("\n  kill -9 seen as failed by all %d others in %.1fs (bound %.1fs)"
              % (len(self.live()), total, FAILURE_BOUND))
        self.assertLessEqual(total, FAILURE_BOUND, "failure detection took %.1fs, bound %.1fs" % (total, FAILURE_BOUND))
        self.assertLessEqual(took, total)
        self.assertIn("node node-9 failed", self.pool[0].log())
        self.assert_no_false_failures()

    def test_05_leave_shows_left(self):
        leaver = self.pool[8]
        result = run_cli("leave", "-http-addr", leaver.address)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("Graceful leave complete", result.stdout)
        self.assertEqual(leaver.process.wait(15), 0, "the agent exits 0 after a leave")
        self.gone.add(leaver.node)
        self.wait_all_see(lambda view: view["node-8"]["Status"] == STATUS_LEFT, "node-8 left")
        self.assertIn("node node-8 left", self.pool[0].log())

    def test_06_wrong_key_is_refused(self):
        intruder = self.make_agent("intruder", key=KEY_2)
        intruder.start()
        try:
            result = run_cli("join", "-http-addr", intruder.address, self.seed_address)
            self.assertNotEqual(result.returncode, 0, result.stdout)
            self.assertIn("-encrypt", result.stderr, "the join error says why")
            # Both logs say why (the harness also writes the command line, with its -encrypt, to the
            # log, so look for the agents' own lines).
            self.assertTrue(log_line(intruder, "joining", "-encrypt"), "the intruder's log says why")
            wait_for(lambda: log_line(self.pool[0], "dropped a push-pull", "-encrypt"), 10,
                     "the seed's log to say why it refused the intruder")
            self.assertGreaterEqual(int(serf_stats(self.pool[0])["dropped_wrong_key"]), 1)
            self.assertEqual(set(members(intruder)), {"intruder"})
            for agent in self.live():
                self.assertNotIn("intruder", members(agent), agent.node)
        finally:
            intruder.stop()
        self.assert_no_false_failures()

    def test_07_bad_packets_are_dropped_and_counted(self):
        target = self.pool[1]
        address, port = target.gossip_address().rsplit(":", 1)
        before = serf_stats(target)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for payload in (b"garbage!", b"\x02\x00\x00\x10\x00abc", b"\x01\x00\x00\x00\x02hi", b"\x00" * 9000):
                sender.sendto(payload, (address, int(port)))
        counters = ("dropped_garbage", "dropped_truncated", "dropped_plain_refused")
        wait_for(lambda: all(int(serf_stats(target)[c]) > int(before[c]) for c in counters), 10,
                 "the drops to be counted")
        result = run_cli("info", "-http-addr", target.address)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("serf_lan:", result.stdout)
        self.assertIn("dropped_wrong_key", result.stdout)
        self.assertTrue(target.running())

    def test_08_restart_rejoins_from_last_known_peers(self):
        agent = self.pool[7]
        agent.stop()  # SIGTERM: no leave (leave_on_terminate=false), as in Consul
        self.gone.add(agent.node)
        self.wait_all_see(lambda view: view["node-7"]["Status"] == STATUS_FAILED, "node-7 failed",
                          timeout=FAILURE_BOUND + 5)
        # Restarted with neither -join nor -retry-join: it has only its data dir to go on.
        join_at = agent.extra_args.index("-join")
        del agent.extra_args[join_at:join_at + 2]
        agent.start()
        self.gone.discard(agent.node)
        self.assertIn("rejoining from", agent.log())
        names = {a.node for a in self.live()}
        wait_for(lambda: names <= {n for n, m in members(agent).items() if m["Status"] == STATUS_ALIVE}, 30,
                 "node-7 to see the pool again")
        self.wait_all_see(lambda view: view["node-7"]["Status"] == STATUS_ALIVE, "node-7 alive again")

    def test_09_address_change_keeps_name_and_id(self):
        agent = self.pool[6]
        node_id = agent.get_json("/v1/agent/self")["Config"]["NodeID"]
        old_port = int(agent.gossip_address().rsplit(":", 1)[1])
        agent.stop()
        new_port = free_gossip_port()
        self.assertNotEqual(new_port, old_port)
        agent.serf_lan_port = new_port
        agent.start()
        self.assertEqual(agent.get_json("/v1/agent/self")["Config"]["NodeID"], node_id)
        self.wait_all_see(lambda view: view["node-6"]["Status"] == STATUS_ALIVE and view["node-6"]["Port"] == new_port,
                          "node-6 alive at its new port %d" % new_port)

    def test_10_name_collision_stops_the_newcomer(self):
        # Same -node name, its own data dir (so its own node ID): a cloned image with a fixed name.
        clone = self.make_agent("node-1", ["-join", self.seed_address],
                                data_dir=os.path.join(self.workdir, "clone-of-node-1"))
        # Run directly: it should exit on its own, and the harness would retry a failed start.
        result = subprocess.run(clone.command(roster_process.free_port()), stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=60)
        self.assertNotEqual(result.returncode, 0)
        log = result.stdout + result.stderr
        self.assertIn("already", log)
        self.assertIn("give this node another -node name", log)
        self.assertIn("node-id", log)
        for agent in self.live():
            self.assertEqual(members(agent)["node-1"]["Status"], STATUS_ALIVE, agent.node)
        self.assert_no_false_failures()

    def test_11_key_rotation_keeps_the_pool(self):
        live = self.live()
        # One agent rotates the key for the whole pool.
        for step, key in (("-install", KEY_3), ("-use", KEY_3), ("-remove", KEY_1)):
            result = run_cli("keyring", step, key, "-http-addr", live[0].address)
            self.assertEqual(result.returncode, 0, "%s %s: %s" % (step, key, result.stderr))
        # Another agent's listing counts every live member holding only the new key.
        listed = run_cli("keyring", "-list", "-format=json", "-http-addr", live[-1].address)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        pool = json.loads(listed.stdout)[0]
        self.assertEqual(pool["NumNodes"], len(live), listed.stdout)
        self.assertEqual(pool["NumErr"], 0, listed.stdout)
        self.assertEqual(pool["Keys"], {KEY_3: len(live)}, listed.stdout)
        self.assertEqual(pool["PrimaryKeys"], {KEY_3: len(live)}, listed.stdout)
        # Removing the key in use is refused on every member, and the error says so.
        refused = run_cli("keyring", "-remove", KEY_3, "-http-addr", live[1].address)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("%d/%d nodes reported failure" % (len(live), len(live)), refused.stderr)
        # Still one pool: a tag change spreads, and nobody was declared failed.
        result = run_cli("tag", "set", "-http-addr", live[2].address, "rotated=yes")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.wait_all_see(lambda view: view[live[2].node]["Tags"].get("rotated") == "yes", "the tag after rotation")
        self.assert_no_false_failures()
        # A newcomer with only the new key gets in: the pool really uses it.
        newcomer = self.make_agent("newcomer", ["-join", self.seed_address], key=KEY_3)
        newcomer.start()
        self.pool.append(newcomer)
        self.wait_all_see(lambda view: "newcomer" in view and view["newcomer"]["Status"] == STATUS_ALIVE,
                          "the newcomer")

    def test_12_retry_join_backs_off_until_a_peer_answers(self):
        port = free_gossip_port()
        # The pool uses KEY_3 since the rotation.
        late = self.make_agent("late", ["-retry-join", "127.0.0.1:%d" % port, "-retry-interval", "2s"], key=KEY_3)
        late.start()
        wait_for(lambda: log_line(late, "join attempt 1 failed"), 10, "the first attempt to fail")
        # Something answers at that address only now.
        target = self.make_agent("target", ["-join", self.seed_address], key=KEY_3)
        target.serf_lan_port = port
        target.start()
        self.pool.extend([target, late])
        self.wait_all_see(lambda view: {"late", "target"} <= set(view) and view["late"]["Status"] == STATUS_ALIVE,
                          "the late joiner", timeout=30)
        self.assertTrue(log_line(late, "joined the pool through 1 of 1 -retry-join"))

        # With -retry-max, an agent that never gets in gives up and exits non-zero, saying why.
        hopeless = self.make_agent("hopeless", ["-retry-join", "127.0.0.1:%d" % free_gossip_port(),
                                                "-retry-max", "2", "-retry-interval", "1s"], key=KEY_3)
        result = subprocess.run(hopeless.command(roster_process.free_port()), stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=60)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("gave up after 2 attempt(s)", result.stdout + result.stderr)

    def test_13_no_false_failures_in_the_logs(self):
        live_names = {agent.node for agent in self.live()}
        for agent in self.live():
            for line in agent.log().splitlines():
                if "gossip: node " in line and " failed" in line:
                    name = line.split("gossip: node ", 1)[1].split(" ", 1)[0]
                    # node-6 and node-7 were stopped and restarted on purpose.
                    if name in live_names and name not in ("node-6", "node-7"):
                        self.fail("%s logged a false failure: %s" % (agent.node, line))


if __name__ == "__main__":
    BINARY = roster_process.find_binary()
    roster_process.run_unittest_main()
