"""User events and force-leave with real `roster agent` processes on loopback.

Three agents gossip with fast timing; events are fired on one and read on the others through
the HTTP API, `roster event` and `roster watch -type event`. Force-leave of a live member
makes it leaving until it refutes; of a failed one, left.

    ROSTER_BIN=build/agent/roster /usr/bin/python3 tests/integration/test_events.py

Test methods run in name order on one shared pool.
"""

import base64
import json
import os
import shutil
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
from roster_process import RosterAgent, wait_for  # noqa: E402

BINARY = None

GOSSIP_CONFIG = roster_process.FAST_GOSSIP_CONFIG

STATUS_ALIVE, STATUS_LEAVING, STATUS_LEFT, STATUS_FAILED = 1, 2, 3, 4


def members(agent):
    return {member["Name"]: member for member in agent.get_json("/v1/agent/members")}


def events(agent, name=None):
    path = "/v1/event/list" + ("?name=" + name if name else "")
    return agent.get_json(path)


def event_ids(agent, name=None):
    return [event["ID"] for event in events(agent, name)]


def run_cli(*args, timeout=30):
    return subprocess.run([BINARY] + list(args), capture_output=True, text=True, timeout=timeout)


class EventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="roster-events-")
        cls.config_path = os.path.join(cls.workdir, "gossip.yaml")
        with open(cls.config_path, "w") as config:
            config.write(GOSSIP_CONFIG)
        # ev-a is the pool's single server (-bootstrap); ev-b and ev-c are client agents.
        cls.a = cls.make_agent("ev-a", ["-server", "-bootstrap", "-server-port", "0"])
        cls.a.start()
        seed = cls.a.gossip_address()
        cls.b = cls.make_agent("ev-b", ["-join", seed])
        cls.b.start()
        cls.c = cls.make_agent("ev-c", ["-join", seed])
        cls.c.start()
        for agent in (cls.a, cls.b, cls.c):
            wait_for(lambda agent=agent: len([m for m in members(agent).values() if m["Status"] == STATUS_ALIVE]) == 3,
                     20, "%s to see three live members" % agent.node)

    @classmethod
    def tearDownClass(cls):
        for agent in (cls.a, cls.b, cls.c):
            if agent.running():
                agent.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    @classmethod
    def make_agent(cls, name, args):
        return RosterAgent(BINARY, node=name, dev=False, data_dir=os.path.join(cls.workdir, name),
                           config_files=[cls.config_path], extra_args=["-bind", "127.0.0.1"] + args)

    def fire(self, agent, name, payload=b"", query=""):
        status, _, body = agent.request("PUT", "/v1/event/fire/" + name + query, body=payload)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def test_01_fired_on_one_listed_on_the_others(self):
        event = self.fire(self.a, "deploy", b"v2")
        self.assertEqual(event["Name"], "deploy")
        self.assertEqual(base64.b64decode(event["Payload"]), b"v2")
        self.assertEqual((event["Version"], event["LTime"]), (1, 0))
        for agent in (self.a, self.b, self.c):
            wait_for(lambda agent=agent: event["ID"] in event_ids(agent, "deploy"), 10,
                     "the event on %s" % agent.node)
        listed = events(self.b, "deploy")[-1]
        self.assertEqual(base64.b64decode(listed["Payload"]), b"v2")
        self.assertEqual(listed["NodeFilter"], "")
        # The index is Consul's, from the last event's ID.
        _, headers, _ = self.b.request("GET", "/v1/event/list?name=deploy")
        halves = listed["ID"].replace("-", "")
        self.assertEqual(int(headers["X-Consul-Index"]), int(halves[:16], 16) ^ int(halves[16:], 16))

    def test_02_filters_pick_the_nodes(self):
        only_b = self.fire(self.a, "filtered", b"", "?node=%5Eev-b%24")
        later = self.fire(self.a, "marker", b"")
        for agent in (self.a, self.b, self.c):
            wait_for(lambda agent=agent: later["ID"] in event_ids(agent), 10, "the marker on %s" % agent.node)
        # Gossip keeps no order between events: the marker may arrive first.
        wait_for(lambda: only_b["ID"] in event_ids(self.b), 10, "the filtered event on ev-b")
        self.assertNotIn(only_b["ID"], event_ids(self.a))
        self.assertNotIn(only_b["ID"], event_ids(self.c))

    def test_03_a_blocking_list_returns_on_a_new_event(self):
        _, headers, _ = self.c.request("GET", "/v1/event/list?name=blocking")
        index = headers["X-Consul-Index"]
        result = {}

        def block():
            started = time.monotonic()
            result["answer"] = self.c.request("GET", "/v1/event/list?name=blocking&index=%s&wait=20s" % index,
                                              timeout=30)
            result["seconds"] = time.monotonic() - started

        waiter = threading.Thread(target=block)
        waiter.start()
        time.sleep(1.0)
        self.assertNotIn("answer", result, "the query must block until an event arrives")
        fired = self.fire(self.a, "blocking", b"now")
        waiter.join(30)
        status, answer_headers, body = result["answer"]
        self.assertEqual(status, 200)
        self.assertEqual([event["ID"] for event in json.loads(body)][-1], fired["ID"])
        self.assertNotEqual(answer_headers["X-Consul-Index"], index)
        self.assertLess(result["seconds"], 10)

    def test_04_an_oversized_event_is_refused(self):
        status, _, body = self.a.request("PUT", "/v1/event/fire/big", body=b"x" * 600)
        self.assertEqual(status, 413, body)
        self.assertIn(b"512 bytes", body)
        status, _, body = self.a.request("PUT", "/v1/event/fire/bad?tag=v1")
        self.assertEqual(status, 400, body)

    def test_05_cli_event_and_watch(self):
        watch = subprocess.Popen([BINARY, "watch", "-type", "event", "-name", "cli-event", "-http-addr",
                                  self.b.address], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(1.0)
            fired = run_cli("event", "-name", "cli-event", "-http-addr", self.a.address, "hello")
            self.assertEqual(fired.returncode, 0, fired.stderr)
            self.assertTrue(fired.stdout.startswith("Event ID: "), fired.stdout)
            event_id = fired.stdout.split()[-1]
            line = {}

            def seen():
                text = watch.stdout.readline()
                if event_id in text:
                    line["text"] = text
                return "text" in line

            wait_for(seen, 15, "roster watch to print the event")
            self.assertIn("cli-event", line["text"])
            self.assertIn("hello", line["text"])
            watch.send_signal(signal.SIGINT)
            self.assertEqual(watch.wait(10), 0, watch.stderr.read())
        finally:
            if watch.poll() is None:
                watch.kill()
                watch.wait()
            watch.stdout.close()
            watch.stderr.close()
        too_big = run_cli("event", "-name", "cli-event", "-http-addr", self.a.address, "x" * 600)
        self.assertEqual(too_big.returncode, 1)
        self.assertIn("512", too_big.stderr)

    def test_06_force_leave_of_a_live_member_is_refuted(self):
        incarnation = int(self.b.get_json("/v1/agent/self")["Stats"]["serf_lan"]["incarnation"])
        # Frozen for a moment, ev-b cannot refute at once, so its leaving state can be seen.
        self.b.send_signal(signal.SIGSTOP)
        try:
            status, _, body = self.a.request("PUT", "/v1/agent/force-leave/ev-b")
            self.assertEqual(status, 200, body)
            self.assertEqual(members(self.a)["ev-b"]["Status"], STATUS_LEAVING)
            wait_for(lambda: members(self.c)["ev-b"]["Status"] == STATUS_LEAVING, 2, "ev-c to see ev-b leaving")
        finally:
            self.b.send_signal(signal.SIGCONT)
        self.assertIn("node ev-b is leaving", self.a.log())
        wait_for(lambda: int(self.b.get_json("/v1/agent/self")["Stats"]["serf_lan"]["incarnation"]) > incarnation,
                 10, "ev-b to refute with a new incarnation")
        for agent in (self.a, self.c):
            wait_for(lambda agent=agent: members(agent)["ev-b"]["Status"] == STATUS_ALIVE, 10,
                     "%s to see ev-b alive again" % agent.node)
        time.sleep(2)
        self.assertEqual(members(self.a)["ev-b"]["Status"], STATUS_ALIVE)
        self.assertTrue(self.b.running())

    def test_07_force_leave_of_a_failed_member_makes_it_left(self):
        self.c.kill()
        wait_for(lambda: members(self.a)["ev-c"]["Status"] == STATUS_FAILED, 30, "ev-c failed")
        status, _, body = self.a.request("PUT", "/v1/agent/force-leave/ev-c")
        self.assertEqual(status, 200, body)
        for agent in (self.a, self.b):
            wait_for(lambda agent=agent: members(agent)["ev-c"]["Status"] == STATUS_LEFT, 10,
                     "%s to see ev-c left" % agent.node)


if __name__ == "__main__":
    BINARY = roster_process.find_binary()
    roster_process.run_unittest_main()
