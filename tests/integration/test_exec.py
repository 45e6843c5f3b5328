"""A real `roster agent -dev` with exec enabled in a temporary exec root: a sealed
bundle written to its KV is applied, and the result and the node's facts are
written back to the KV.

    ROSTER_BIN=build/agent/roster SEAL_TOOL=build/tests/integration/seal_bundle_tool \\
        /usr/bin/python3 tests/integration/test_exec.py
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "clients"))
import roster_process  # noqa: E402
from roster_process import RosterAgent, wait_for  # noqa: E402

BINARY = None
SEAL_TOOL = os.environ.get("SEAL_TOOL")


class ExecTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="roster-exec-integration-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.root = os.path.join(self.dir, "root")
        os.makedirs(os.path.join(self.root, "etc"))
        self.key_path = os.path.join(self.dir, "deploy.key")
        public_key = subprocess.check_output([SEAL_TOOL, "keygen", self.key_path]).decode().strip()
        self.config_path = os.path.join(self.dir, "agent.yaml")
        with open(self.config_path, "w") as out:
            out.write(textwrap.dedent("""\
                exec:
                  enabled: true
                  trusted_keys: ["{key}"]
                """).format(key=public_key))

    def result(self, agent, node):
        status, _, body = agent.request("GET", "/v1/kv/roster/deploy/results/%s?raw" % node)
        return json.loads(body) if status == 200 else None

    def test_a_sealed_bundle_is_applied_and_reported(self):
        node = "exec-1"
        agent = RosterAgent(BINARY, node=node, config_files=[self.config_path],
                            extra_args=["-exec-root", self.root])
        self.addCleanup(agent.stop)
        agent.start()
        node_id = agent.get_json("/v1/agent/self")["Config"]["NodeID"]

        facts = wait_for(lambda: agent.request("GET", "/v1/kv/roster/deploy/facts/%s?raw" % node)[0] == 200,
                         20, "the node's facts")
        self.assertTrue(facts)
        status, _, body = agent.request("GET", "/v1/kv/roster/deploy/facts/%s?raw" % node)
        self.assertGreater(json.loads(body)["cpus"], 0)

        bundle_path = os.path.join(self.dir, "bundle.bin")
        subprocess.check_call([SEAL_TOOL, "seal", self.key_path, node_id, node, "1", "/etc/motd",
                               "hello from roster\n", bundle_path])
        with open(bundle_path, "rb") as bundle:
            status, _, body = agent.request("PUT", "/v1/kv/roster/deploy/bundles/%s" % node, bundle.read())
        self.assertEqual(status, 200, body)

        wait_for(lambda: (self.result(agent, node) or {}).get("status") == "applied", 30,
                 "the bundle's result to be applied")
        result = self.result(agent, node)
        self.assertEqual(result["generation"], 1)
        self.assertEqual(result["changed"], 1)
        self.assertEqual(result["tasks"][0]["status"], "changed")
        with open(os.path.join(self.root, "etc", "motd")) as motd:
            self.assertEqual(motd.read(), "hello from roster\n")
        self.assertIn("applied bundle generation 1 (run integration-1): 1 changed, 0 failed", agent.log())

        # A bundle signed by nobody trusted is refused, and runs nothing.
        other_key = os.path.join(self.dir, "other.key")
        subprocess.check_output([SEAL_TOOL, "keygen", other_key])
        subprocess.check_call([SEAL_TOOL, "seal", other_key, node_id, node, "2", "/etc/evil",
                               "x", bundle_path])
        with open(bundle_path, "rb") as bundle:
            agent.request("PUT", "/v1/kv/roster/deploy/bundles/%s" % node, bundle.read())
        wait_for(lambda: (self.result(agent, node) or {}).get("status") == "refused", 30, "a refusal")
        self.assertFalse(os.path.exists(os.path.join(self.root, "etc", "evil")))
        self.assertEqual(agent.stop(), 0)

    def test_a_kill_mid_bundle_is_reported_interrupted_then_run_again(self):
        node = "exec-2"
        data_dir = os.path.join(self.dir, "data")
        agent = RosterAgent(BINARY, node=node, data_dir=data_dir, config_files=[self.config_path],
                            extra_args=["-exec-root", self.root])
        self.addCleanup(agent.stop)
        agent.start()
        node_id = agent.get_json("/v1/agent/self")["Config"]["NodeID"]
        bundle_path = os.path.join(self.dir, "slow.bin")
        subprocess.check_call([SEAL_TOOL, "seal", self.key_path, node_id, node, "1", "/etc/slow",
                               "done\n", bundle_path, "3"])
        with open(bundle_path, "rb") as bundle:
            bundle_bytes = bundle.read()
        self.assertEqual(agent.request("PUT", "/v1/kv/roster/deploy/bundles/%s" % node, bundle_bytes)[0], 200)
        wait_for(lambda: (self.result(agent, node) or {}).get("status") == "running", 30, "the bundle to run")
        agent.kill()
        self.assertFalse(os.path.exists(os.path.join(self.root, "etc", "slow")))

        # The same data dir: the agent finds the run it was in the middle of.
        # (A -dev catalog is in memory, so the bundle is written again, as
        # roster-deploy would for a node that has not answered.)
        agent.start()
        wait_for(lambda: (self.result(agent, node) or {}).get("status") == "interrupted", 30,
                 "the interrupted result")
        self.assertEqual(self.result(agent, node)["generation"], 1)
        self.assertEqual(agent.request("PUT", "/v1/kv/roster/deploy/bundles/%s" % node, bundle_bytes)[0], 200)
        wait_for(lambda: (self.result(agent, node) or {}).get("status") == "applied", 30, "the re-run")
        with open(os.path.join(self.root, "etc", "slow")) as slow:
            self.assertEqual(slow.read(), "done\n")


if __name__ == "__main__":
    BINARY = roster_process.find_binary(sys.argv)
    if not SEAL_TOOL:
        sys.exit("set SEAL_TOOL to the seal_bundle_tool binary")
    roster_process.run_unittest_main()
