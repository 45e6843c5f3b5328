"""The leader's gossip reconciliation and the deploy read side, with real `roster agent`
processes on loopback and the `roster` CLI.

A second agent joins the first (which, like every agent today, is a server and its own
leader): the first one's catalog gets it as a node with serfHealth and its gossiped tags
in the runtime layer; `roster tag set -node` puts an operator tag on top; a tag change on
the joined agent (SIGHUP) reaches the catalog promptly; `roster deploy watch` follows a
run whose records the test writes as roster-deploy and the agent would; killing the
joined agent turns serfHealth critical, and force-leave deregisters it.

    ROSTER_BIN=build/agent/roster /usr/bin/python3 tests/integration/test_deploy_status.py

Test methods run in name order on one shared pair of agents.
"""

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

SERVER = "dp-server"
CLIENT = "dp-client"


def run_cli(*args, timeout=60):
    return subprocess.run([BINARY] + list(args), capture_output=True, text=True, timeout=timeout)


def catalog_node(agent, name):
    answer = agent.get_json("/v1/catalog/node/" + name)
    return answer["Node"] if answer else None


def serf_health(agent, name):
    for check in agent.get_json("/v1/health/node/" + name):
        if check["CheckID"] == "serfHealth":
            return check["Status"]
    return None


def tag_layers(agent, name):
    return agent.get_json("/v1/roster/node/%s/tags" % name)


class DeployStatusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="roster-deploy-status-")
        cls.gossip_path = os.path.join(cls.workdir, "gossip.yaml")
        with open(cls.gossip_path, "w") as config:
            config.write(GOSSIP_CONFIG)
        cls.client_tags_path = os.path.join(cls.workdir, "client-tags.yaml")
        cls.write_client_tags({"role": "base"})
        cls.server = cls.make_agent(SERVER, [], ["-server", "-bootstrap", "-server-port", "0"])
        cls.server.start()
        cls.client = cls.make_agent(CLIENT, [cls.client_tags_path], ["-join", cls.server.gossip_address()])
        cls.client.start()

    @classmethod
    def tearDownClass(cls):
        for agent in (cls.server, cls.client):
            if agent.running():
                agent.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    @classmethod
    def make_agent(cls, name, configs, args):
        return RosterAgent(BINARY, node=name, dev=False, data_dir=os.path.join(cls.workdir, name),
                           config_files=[cls.gossip_path] + configs, extra_args=["-bind", "127.0.0.1"] + args)

    @classmethod
    def write_client_tags(cls, tags):
        with open(cls.client_tags_path, "w") as config:
            config.write("tags:\n" + "".join("  %s: %s\n" % (key, value) for key, value in tags.items()))

    def put(self, path, body):
        status, _, answer = self.server.request("PUT", path, body)
        self.assertEqual(status, 200, answer)

    def test_01_a_member_becomes_a_catalog_node(self):
        node = wait_for(lambda: catalog_node(self.server, CLIENT), 20, "the client in the server's catalog")
        self.assertEqual(node["Address"], "127.0.0.1")
        self.assertEqual(node["ID"], self.client.get_json("/v1/agent/self")["Config"]["NodeID"])
        self.assertEqual(serf_health(self.server, CLIENT), "passing")
        # The client's config tags are its image layer, which its agent syncs itself.
        layers = wait_for(lambda: tag_layers(self.server, CLIENT) if tag_layers(self.server, CLIENT)["Image"] else None,
                          10, "the client's image tags")
        self.assertEqual(layers["Image"], {"role": "base"})
        self.assertEqual(layers["Operator"], {})

    def test_02_operator_tags_on_a_gossiped_node(self):
        result = run_cli("tag", "set", "-node", CLIENT, "role=web", "-http-addr", self.server.address)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(catalog_node(self.server, CLIENT)["Meta"]["role"], "web")
        nodes = self.server.get_json("/v1/catalog/nodes?node-meta=role:web")
        self.assertEqual([node["Node"] for node in nodes], [CLIENT])

    def test_03_a_gossiped_tag_change_reaches_the_catalog_promptly(self):
        self.write_client_tags({"role": "base", "stage": "base-done"})
        started = time.monotonic()
        self.client.send_signal(signal.SIGHUP)
        layers = wait_for(lambda: tag_layers(self.server, CLIENT)
                          if tag_layers(self.server, CLIENT)["Image"].get("stage") == "base-done" else None,
                          10, "stage=base-done in the server's catalog")
        self.assertLess(time.monotonic() - started, 5.0)
        self.assertEqual(layers["Merged"], {"role": "web", "stage": "base-done"})
        self.assertEqual(layers["Operator"], {"role": "web"})

    def test_04_deploy_watch_follows_a_run(self):
        run = {"id": "000001", "trigger": "node %s retagged" % CLIENT, "started_unix_ms": 1700000000000,
               "finished_unix_ms": 0, "total": 1, "done": 0, "failed": 0,
               "nodes": {CLIENT: {"status": "dispatched", "hash": "ab" * 32, "generation": 1}}}
        self.put("/v1/kv/roster/deploy/runs/000001", run)
        watcher = subprocess.Popen([BINARY, "deploy", "watch", "-timeout", "60s", "-http-addr", self.server.address],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(watcher.stdout.readline, "")), daemon=True)
        reader.start()
        try:
            # Once it printed the run's header, the watcher has picked this run and
            # parks on its blocking queries; the records arrive after that.
            wait_for(lambda: any(line.startswith("run 000001 (") for line in lines), 20, "the watcher to pick the run")
            self.put("/v1/kv/roster/deploy/state/" + CLIENT,
                     {"node": CLIENT, "hash": "ab" * 32, "generation": 1, "run_id": "000001",
                      "status": "dispatched", "updated_unix_ms": 1700000000100})
            self.put("/v1/kv/roster/deploy/results/" + CLIENT,
                     {"node": CLIENT, "generation": 1, "hash": "ab" * 32, "run_id": "000001", "status": "applied",
                      "changed": 1, "started_unix_ms": 1700000000200, "finished_unix_ms": 1700000000900,
                      "tasks": [{"name": "motd", "module": "copy", "status": "changed"},
                                {"name": "stage tag", "module": "tag", "status": "ok"}]})
            wait_for(lambda: any(line.startswith("changed: [%s] => motd" % CLIENT) for line in lines), 20,
                     "the watcher to print the result as it arrives")
            self.put("/v1/kv/roster/deploy/state/" + CLIENT,
                     {"node": CLIENT, "hash": "ab" * 32, "applied_hash": "ab" * 32, "generation": 1,
                      "run_id": "000001", "status": "applied", "updated_unix_ms": 1700000001000})
            run.update({"finished_unix_ms": 1700000001000, "done": 1})
            run["nodes"][CLIENT]["status"] = "applied"
            self.put("/v1/kv/roster/deploy/runs/000001", run)
            watcher.wait(timeout=60)
        finally:
            if watcher.poll() is None:
                watcher.kill()
                watcher.wait()
            reader.join(10)
            watcher.stdout.close()
        out = "".join(lines)
        err = ""
        self.assertEqual(watcher.returncode, 0, out + err)
        self.assertIn("run 000001 (node %s retagged): 1 node(s)" % CLIENT, out)
        self.assertIn("changed: [%s] => motd" % CLIENT, out)
        self.assertIn("ok: [%s] => stage tag" % CLIENT, out)
        self.assertIn("run 000001: 1/1 done, 0 failed", out)
        self.assertIn("RECAP run 000001", out)

        status = run_cli("deploy", "status", "-http-addr", self.server.address)
        self.assertEqual(status.returncode, 0, status.stderr)
        line = [row for row in status.stdout.splitlines() if row.startswith(CLIENT)]
        self.assertEqual(len(line), 1, status.stdout)
        self.assertIn("applied", line[0])
        self.assertIn("abababababab", line[0])
        runs = self.server.get_json("/v1/roster/deploy/runs")
        self.assertEqual([entry["id"] for entry in runs], ["000001"])

    def test_05_a_failed_member_goes_critical_and_force_leave_deregisters_it(self):
        self.client.kill()
        wait_for(lambda: serf_health(self.server, CLIENT) == "critical", 30, "serfHealth critical")
        self.assertIsNotNone(catalog_node(self.server, CLIENT))
        status, _, body = self.server.request("PUT", "/v1/agent/force-leave/" + CLIENT)
        self.assertEqual(status, 200, body)
        wait_for(lambda: catalog_node(self.server, CLIENT) is None, 10, "the client deregistered")
        inventory = self.server.get_json("/v1/roster/inventory")
        self.assertEqual(inventory["all"]["hosts"], [SERVER])


if __name__ == "__main__":
    BINARY = roster_process.find_binary()
    roster_process.run_unittest_main()
