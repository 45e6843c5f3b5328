"""Debian's ansible-inventory, unmodified, reads a real `roster agent -dev` through the
executable inventory script tests/clients/ansible/roster_inventory.py, which serves
GET /v1/roster/inventory.

    ROSTER_BIN=build/agent/roster /usr/bin/python3 tests/clients/test_ansible_inventory.py

Nodes are registered through /v1/catalog/register (NodeMeta is the operator tag layer),
facts are written as the agents write them (roster/deploy/facts/<node>), and Ansible's
view must show the groups built from merged tags, the hosts and their hostvars.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roster_process  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "ansible", "roster_inventory.py")
ANSIBLE_INVENTORY = "/usr/bin/ansible-inventory"
NODE = "ansible-server"
AGENT = None
# ROSTER_TARGET=cluster: the client agent of a three-server cluster instead of -dev.
CLUSTER = None


def setUpModule():
    global AGENT, CLUSTER
    if not os.access(ANSIBLE_INVENTORY, os.X_OK):
        raise AssertionError("FAIL: %s not found; install Debian's ansible-core (scripts/install-deps.sh)"
                             % ANSIBLE_INVENTORY)
    if os.environ.get("ROSTER_TARGET") == "cluster":
        from roster_cluster import RosterCluster
        CLUSTER = RosterCluster(BINARY, servers=3, clients=1, prefix="ansible", client_names=[NODE]).start()
        AGENT = CLUSTER.clients[0]
        return
    AGENT = roster_process.RosterAgent(BINARY, node=NODE, dev=True)
    AGENT.start()


def tearDownModule():
    if CLUSTER is not None:
        CLUSTER.stop()
    elif AGENT is not None:
        AGENT.stop()


def put(path, body):
    status, _, answer = AGENT.request("PUT", path, body)
    if status != 200:
        raise AssertionError("PUT %s: HTTP %d: %s" % (path, status, answer[:500]))


def register(node, address, meta, node_id):
    put("/v1/catalog/register", {"Node": node, "ID": node_id, "Address": address, "NodeMeta": meta})


class AnsibleInventoryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        register("web-1", "10.1.0.7", {"role": "web", "env": "prod"}, "7a1f0e52-0000-4000-8000-000000000001")
        register("web-2", "10.1.0.8", {"role": "web", "env": "qa"}, "7a1f0e52-0000-4000-8000-000000000002")
        register("db-1", "10.1.0.9", {"role": "db", "tier": "back-end.v2"}, "7a1f0e52-0000-4000-8000-000000000003")
        put("/v1/kv/roster/deploy/facts/web-1",
            json.dumps({"hostname": "web-1.example", "os_release": "Debian GNU/Linux 12 (bookworm)",
                        "cpus": 4, "memory_bytes": 8589934592}))
        put("/v1/kv/roster/deploy/facts/db-1", "{this is not json")
        # An operator tag on top of what the catalog registration set: the merged view wins.
        put("/v1/roster/node/web-2/tags", {"Set": {"role": "canary"}})

    def run_ansible(self, *args):
        environment = dict(os.environ)
        environment["ROSTER_HTTP_ADDR"] = AGENT.address
        environment["ANSIBLE_LOCAL_TEMP"] = self.temp
        environment["ANSIBLE_HOME"] = self.temp
        environment["ANSIBLE_INVENTORY_ENABLED"] = "script"
        environment["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "true"
        completed = subprocess.run([ANSIBLE_INVENTORY, "-i", SCRIPT] + list(args), env=environment,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(completed.returncode, 0, "ansible-inventory failed:\n%s\n%s"
                         % (completed.stdout.decode(errors="replace"), completed.stderr.decode(errors="replace")))
        return json.loads(completed.stdout)

    def setUp(self):
        self.temp = tempfile.mkdtemp(prefix="roster-ansible-")
        self.addCleanup(shutil.rmtree, self.temp, True)

    def test_list_has_groups_from_merged_tags(self):
        inventory = self.run_ansible("--list")
        self.assertEqual(sorted(inventory["role_web"]["hosts"]), ["web-1"])
        self.assertEqual(sorted(inventory["role_canary"]["hosts"]), ["web-2"])
        self.assertEqual(sorted(inventory["role_db"]["hosts"]), ["db-1"])
        self.assertEqual(sorted(inventory["env_prod"]["hosts"]), ["web-1"])
        self.assertEqual(sorted(inventory["env_qa"]["hosts"]), ["web-2"])
        self.assertEqual(sorted(inventory["tier_back_end_v2"]["hosts"]), ["db-1"])
        children = inventory["all"]["children"]
        for group in ("role_web", "role_canary", "role_db", "env_prod", "env_qa", "tier_back_end_v2"):
            self.assertIn(group, children)
        # The agent itself is a node too; with no tags it lands in Ansible's `ungrouped`.
        self.assertIn(NODE, inventory["ungrouped"]["hosts"])

    def test_hostvars(self):
        hostvars = self.run_ansible("--list")["_meta"]["hostvars"]
        for host in ("web-1", "web-2", "db-1", NODE):
            self.assertIn(host, hostvars)
        web = hostvars["web-1"]
        self.assertEqual(web["ansible_host"], "10.1.0.7")
        self.assertEqual(web["roster_node_id"], "7a1f0e52-0000-4000-8000-000000000001")
        self.assertEqual(web["roster_tags"], {"role": "web", "env": "prod"})
        self.assertEqual(web["roster_facts"]["hostname"], "web-1.example")
        self.assertEqual(web["roster_facts"]["cpus"], 4)
        self.assertEqual(web["roster_facts"]["memory_bytes"], 8589934592)
        self.assertEqual(hostvars["web-2"]["roster_tags"]["role"], "canary")
        db = hostvars["db-1"]
        self.assertEqual(db["roster_facts"], {})
        self.assertIn("malformed", db["roster_facts_error"])

    def test_host_lookup(self):
        web = self.run_ansible("--host", "web-2")
        self.assertEqual(web["ansible_host"], "10.1.0.8")
        self.assertEqual(web["roster_tags"], {"role": "canary", "env": "qa"})

    def test_script_alone(self):
        environment = dict(os.environ, ROSTER_HTTP_ADDR=AGENT.address)
        completed = subprocess.run([SCRIPT, "--host", "no-such-host"], env=environment, stdout=subprocess.PIPE,
                                   timeout=60, check=True)
        self.assertEqual(json.loads(completed.stdout), {})
        bad = subprocess.run([SCRIPT, "--bogus"], env=environment, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(bad.returncode, 1)


if __name__ == "__main__":
    BINARY = roster_process.find_binary()
    roster_process.run_unittest_main()
