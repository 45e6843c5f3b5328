"""roster-deploy against a real agent on loopback: bundles, answers, restart and standby.

The agent plays every node's part by hand here (its executor is not wired in yet): the test
writes facts and results to the KV as an agent would.

    ROSTER_AGENT_BIN=build/agent/roster-agent ROSTER_DEPLOY_BIN=build/server/roster-deploy \
        /usr/bin/python3 tests/integration/test_deploy_process.py
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "clients"))
from roster_process import RosterAgent, wait_for  # noqa: E402

AGENT_BIN = os.environ.get("ROSTER_AGENT_BIN", "")
DEPLOY_BIN = os.environ.get("ROSTER_DEPLOY_BIN", "")


class Agent(RosterAgent):
    """roster-agent itself, without the `roster agent` front end."""

    def command(self, port):
        return [self.binary] + RosterAgent.command(self, port)[2:]


class Deploy:
    """One roster-deploy process with its own log file."""

    def __init__(self, agent, key, playbooks, extra=()):
        self.log_file = tempfile.NamedTemporaryFile(prefix="roster-deploy-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [DEPLOY_BIN, "-playbooks", playbooks, "-key", key, "-http-addr", agent.address] + list(extra),
            stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.STDOUT)

    def log(self):
        self.log_file.flush()
        with open(self.log_file.name, "rb") as log:
            return log.read().decode("utf-8", "replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)
        return self.process.returncode


class DeployProcessTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="roster-deploy-test-")
        self.agent = Agent(AGENT_BIN, node="web-1").start()
        self.key = os.path.join(self.dir, "deploy.key")
        subprocess.run([DEPLOY_BIN, "keygen", "-out", self.key], check=True, stdout=subprocess.DEVNULL)
        self.playbooks = os.path.join(ROOT, "playbooks")
        self.deploys = []
        self.kv_put("facts/web-1", {"hostname": "web-1", "os_release": "Debian 12", "cpus": 2,
                                    "memory_bytes": 1 << 30})

    def tearDown(self):
        for deploy in self.deploys:
            deploy.stop()
            if self._outcome.result is not None and not self._outcome.result.wasSuccessful():
                sys.stderr.write("---- roster-deploy log ----\n" + deploy.log())
        self.agent.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start_deploy(self, *extra):
        deploy = Deploy(self.agent, self.key, self.playbooks, extra)
        self.deploys.append(deploy)
        return deploy

    def kv_put(self, key, value):
        status, _, _ = self.agent.request("PUT", "/v1/kv/roster/deploy/" + key, json.dumps(value))
        self.assertEqual(status, 200)

    def kv_get(self, key):
        status, _, body = self.agent.request("GET", "/v1/kv/roster/deploy/" + key)
        if status != 200:
            return None
        entry = json.loads(body)[0]
        return entry, base64.b64decode(entry["Value"] or "")

    def state(self):
        found = self.kv_get("state/web-1")
        return json.loads(found[1]) if found else None

    def answer(self, status="applied"):
        state = self.state()
        self.kv_put("results/web-1", {"node": "web-1", "generation": state["generation"], "hash": state["hash"],
                                      "run_id": state["run_id"], "status": status, "changed": 2})

    def test_dispatch_answer_restart_and_standby(self):
        first = self.start_deploy()
        wait_for(lambda: self.kv_get("bundles/web-1"), 20, "a bundle for web-1")
        wait_for(lambda: self.state()["status"] == "dispatched", 10, "web-1 dispatched")
        self.answer()
        wait_for(lambda: self.state()["status"] == "applied", 10, "web-1 applied")
        wait_for(lambda: "run 000001: web-1 applied (2 changed)" in first.log(), 10, "the applied log line")
        bundle_index = self.kv_get("bundles/web-1")[0]["ModifyIndex"]

        # A standby takes over within seconds of a clean stop, and pushes nothing applied.
        second = self.start_deploy()
        wait_for(lambda: "standing by" in second.log(), 10, "the second instance standing by")
        self.assertEqual(first.stop(), 0)
        wait_for(lambda: "this roster-deploy is the active one" in second.log(), 10, "the takeover")
        wait_for(lambda: "resumed from the catalog" in second.log(), 10, "the resume")
        self.assertEqual(self.kv_get("bundles/web-1")[0]["ModifyIndex"], bundle_index)

        # A retag starts the next run, with the web playbook.
        status, _, _ = self.agent.request("PUT", "/v1/roster/node/web-1/tags",
                                          {"Set": {"role": "web", "stage": "base-done"}})
        self.assertEqual(status, 200)
        wait_for(lambda: "run 000002: web-1 dispatched" in second.log(), 10, "run 000002")
        run = json.loads(self.kv_get("runs/000002")[1])
        self.assertEqual(run["total"], 1)
        self.assertEqual(second.stop(), 0)
        status, _, _ = self.agent.request("GET", "/v1/kv/roster/deploy/lock")
        self.assertEqual(status, 404, "the lock is released on SIGTERM")

    def test_refuses_invalid_playbooks(self):
        broken = os.path.join(ROOT, "tests", "server", "playbook", "broken")
        result = subprocess.run([DEPLOY_BIN, "-playbooks", broken, "-key", self.key, "-http-addr",
                                 self.agent.address], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 1)
        self.assertIn("not starting", result.stderr)


if __name__ == "__main__":
    for binary in (AGENT_BIN, DEPLOY_BIN):
        if not binary or not os.access(binary, os.X_OK):
            sys.stderr.write("set ROSTER_AGENT_BIN and ROSTER_DEPLOY_BIN\n")
            sys.exit(2)
    unittest.main(verbosity=2)
