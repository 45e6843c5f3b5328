"""roster-deploy and the agents' executors, with real processes on loopback.

A dev agent holds the catalog; client agents with exec roots join it; roster-deploy watches the
catalog and writes signed bundles that the agents apply and answer in the KV.

    ROSTER_BIN=build/agent/roster ROSTER_DEPLOY_BIN=build/server/roster-deploy \
        /usr/bin/python3 tests/integration/test_deploy.py

Test methods run in name order on one fleet per class.
"""

import os
import shutil
import subprocess
import sys
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
from deploy_fleet import DeployFleet, make_workdir  # noqa: E402
from roster_process import wait_for  # noqa: E402
import roster_process  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
ROSTER = os.environ.get("ROSTER_BIN", "")
DEPLOY = os.environ.get("ROSTER_DEPLOY_BIN", "")
DEPLOY_ARGS = ["-dispatch-timeout", "4s"]


def applied(result):
    return result is not None and result.get("status") == "applied"


def playbooks_of(result):
    return result.get("playbooks", [])


def task_statuses(result):
    return {task["name"]: task["status"] for task in result.get("tasks", [])}


class FleetTestCase(unittest.TestCase):
    """One fleet per class (setUpClass makes cls.workdir and cls.fleet); its work dir is kept, and
    roster-deploy's logs printed, when a test fails."""

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()
        if not getattr(cls, "failed", False):
            shutil.rmtree(cls.workdir, ignore_errors=True)

    def run(self, result=None):
        outcome = super().run(result)
        if result is not None and not result.wasSuccessful():
            type(self).failed = True
            sys.stderr.write(self.fleet.logs())
        return outcome


class ExamplePlaybooks(FleetTestCase):
    """The repository's playbooks/: base on every node, then web or db by role."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = make_workdir()
        cls.fleet = DeployFleet(ROSTER, DEPLOY, cls.workdir, os.path.join(REPO, "playbooks"), clients=3,
                                deploy_args=DEPLOY_ARGS)
        cls.fleet.start()

    def test_1_every_node_gets_base_and_is_tagged_base_done(self):
        for node in self.fleet.client_names:
            result = self.fleet.wait_result(node, applied, 30, "base applied on " + node)
            self.assertEqual(result["node"], node)
            files = self.fleet.files(node)
            self.assertIn("/etc/motd", files)
            self.assertIn(node, files["/etc/motd"])
            self.assertIn("Storage=persistent", files["/etc/systemd/journald.conf"])
        # The base playbook's last task tags the node; the catalog sees it through gossip.
        wait_for(lambda: all(self.fleet.catalog_nodes()[n]["Meta"].get("stage") == "base-done"
                             for n in self.fleet.client_names), 15, "stage=base-done on every node")

    def test_2_tagging_a_node_web_configures_it(self):
        before = self.fleet.result("node-1")["generation"]
        self.fleet.tag("node-1", role="web")
        result = self.fleet.wait_result(
            "node-1", lambda r: applied(r) and r["generation"] > before and
            any(t["name"] == "index page" for t in r["tasks"]), 30, "web applied on node-1")
        statuses = task_statuses(result)
        self.assertEqual(statuses["index page"], "changed")
        self.assertEqual(statuses["message of the day"], "ok")  # base again: nothing to do
        files = self.fleet.files("node-1")
        self.assertEqual(files["/srv/www/index.html"], "<h1>node-1</h1>\n")
        site = files["/etc/nginx/sites-available/roster"]
        self.assertIn("node-1: role web", site)
        self.assertIn("listen 8080;", site)

    def test_3_retagging_reconfigures_and_leaves_other_nodes_alone(self):
        others = {n: self.fleet.result(n)["generation"] for n in ("node-2", "node-3")}
        before = self.fleet.result("node-1")["generation"]
        self.fleet.tag("node-1", role="db")
        result = self.fleet.wait_result(
            "node-1", lambda r: applied(r) and r["generation"] > before and
            any(t["name"] == "server config" for t in r["tasks"]), 30, "db applied on node-1")
        self.assertEqual(task_statuses(result)["server config"], "changed")
        conf = self.fleet.files("node-1")["/etc/postgresql/15/main/conf.d/roster.conf"]
        self.assertIn("effective_cache_size = ", conf)
        # Level-triggered: nodes whose bundle did not change got nothing new.
        for node, generation in others.items():
            self.assertEqual(self.fleet.result(node)["generation"], generation, node)

    def test_4_a_tampered_bundle_is_refused_and_nothing_runs(self):
        value, _ = self.fleet.kv("roster/deploy/bundles/node-2")
        tampered = bytearray(value)
        tampered[len(tampered) // 2] ^= 0x01
        before = self.fleet.files("node-2")
        status, _, body = self.fleet.server.request("PUT", "/v1/kv/roster/deploy/bundles/node-2", bytes(tampered))
        self.assertEqual(status, 200, body)
        result = self.fleet.wait_result("node-2", lambda r: r["status"] == "refused", 15, "node-2 refusing")
        self.assertTrue(result["error"], result)
        self.assertEqual(self.fleet.files("node-2"), before)

    def test_5_an_agent_that_was_down_gets_its_bundle_when_it_returns(self):
        agent = self.fleet.clients["node-3"]
        agent.kill()
        before = self.fleet.result("node-3")["generation"]
        self.fleet.tag("node-3", role="web")
        # No answer within the dispatch timeout: a per-node error, nothing recorded as applied.
        state = wait_for(lambda: (lambda s: s if s and s["status"] == "failed" else None)(self.fleet.state("node-3")),
                         30, "node-3 failed while its agent is down")
        self.assertTrue(state["error"])
        self.assertNotEqual(state["applied_hash"], state["hash"])
        agent.start()
        self.fleet.wait_result(
            "node-3", lambda r: applied(r) and r["generation"] > before and
            any(t["name"] == "index page" for t in r["tasks"]), 60, "web applied on node-3 after its restart")
        wait_for(lambda: self.fleet.state("node-3")["status"] == "applied", 30, "roster-deploy seeing node-3 applied")

    def test_6_a_deploy_server_killed_during_a_run_resumes_without_repushing(self):
        deployer = self.fleet.deployers[0]
        generation_1 = self.fleet.result("node-1")["generation"]
        before = self.fleet.state("node-2")
        self.fleet.tag("node-2", role="web")
        # Kill it as soon as the new bundle is written, before or while the agent applies it.
        dispatched = wait_for(lambda: (lambda s: s if s and s["generation"] > before["generation"] else None)(
            self.fleet.state("node-2")), 30, "node-2's new bundle written")
        deployer.kill()
        # The dead instance's session holds the lock until it expires (TTL 10s; the agent
        # allows up to twice that), then the restarted one takes over.
        self.fleet.start_deployer("deploy-restarted")
        result = self.fleet.wait_result(
            "node-2", lambda r: applied(r) and r["generation"] >= dispatched["generation"] and
            any(t["name"] == "index page" for t in r["tasks"]), 60, "web applied on node-2 after the restart")
        # The restarted server took the bundle in flight as it was: no second push.
        self.assertEqual(result["generation"], dispatched["generation"])
        wait_for(lambda: self.fleet.state("node-2")["status"] == "applied", 30, "the restarted server seeing it applied")
        self.assertEqual(self.fleet.state("node-2")["generation"], dispatched["generation"])
        self.assertEqual(self.fleet.result("node-1")["generation"], generation_1)

    def test_7_a_standby_takes_over_when_the_active_instance_dies(self):
        standby = self.fleet.start_deployer("deploy-standby")
        active = self.fleet.deployers[-2]
        self.assertTrue(active.running())
        active.kill()
        before = self.fleet.result("node-2")["generation"]
        self.fleet.tag("node-2", role="db")
        self.fleet.wait_result(
            "node-2", lambda r: applied(r) and r["generation"] > before and
            any(t["name"] == "server config" for t in r["tasks"]), 60, "db applied on node-2 by the standby")
        self.assertTrue(standby.running())

    def test_8_runs_are_recorded(self):
        runs = self.fleet.server.get_json("/v1/roster/deploy/runs")
        self.assertTrue(runs)
        nodes = self.fleet.server.get_json("/v1/roster/deploy/nodes/node-1")
        self.assertIn("result", {k.lower() for k in nodes})


FAULT_PLAYBOOKS = {
    "fail.yaml": """\
        - name: fails
          hosts: role=fail
          tasks:
            - name: a file first
              copy:
                dest: /before-failure
                content: "written\\n"
            - name: this command fails
              command:
                argv: [/bin/false]
            - name: never reached
              copy:
                dest: /after-failure
                content: "never\\n"
        """,
    "slow.yaml": """\
        - name: slow
          hosts: role=slow
          tasks:
            - name: outlives its timeout
              command:
                argv: [/bin/sleep, "30"]
                timeout: 1s
        """,
    "long.yaml": """\
        - name: long
          hosts: role=long
          tasks:
            - name: takes a while
              command:
                argv: [/bin/sleep, "3"]
            - name: done marker
              copy:
                dest: /long-done
                content: "done\\n"
        """,
    "flip.yaml": """\
        - name: flip-to-b
          hosts: flip=a
          tasks:
            - name: flip to b
              tag:
                flip: b
        - name: flip-to-a
          hosts: flip=b
          tasks:
            - name: flip to a
              tag:
                flip: a
        """,
}


class Faults(FleetTestCase):
    """Failing and slow tasks, a kill during a bundle, a tag loop, and bad playbooks."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = make_workdir()
        playbooks = os.path.join(cls.workdir, "playbooks")
        os.makedirs(playbooks)
        for name, text in FAULT_PLAYBOOKS.items():
            with open(os.path.join(playbooks, name), "w") as handle:
                handle.write(textwrap.dedent(text))
        cls.fleet = DeployFleet(ROSTER, DEPLOY, cls.workdir, playbooks, clients=3,
                                deploy_args=DEPLOY_ARGS + ["-loop-limit", "4", "-loop-window", "1m"])
        cls.fleet.start()

    def test_1_a_failing_task_fails_the_node_and_stops_the_run(self):
        self.fleet.tag("node-1", role="fail")
        result = self.fleet.wait_result("node-1", lambda r: r["status"] == "failed", 30, "node-1 failing")
        statuses = task_statuses(result)
        self.assertEqual(statuses["a file first"], "changed")
        self.assertEqual(statuses["this command fails"], "failed")
        self.assertEqual(statuses["never reached"], "skipped")
        files = self.fleet.files("node-1")
        self.assertIn("/before-failure", files)
        self.assertNotIn("/after-failure", files)
        state = wait_for(lambda: (lambda s: s if s and s["status"] == "failed" else None)(self.fleet.state("node-1")),
                         15, "roster-deploy recording node-1 failed")
        self.assertIn("this command fails", state["error"])
        self.assertNotEqual(state["applied_hash"], state["hash"])

    def test_2_a_command_that_outlives_its_timeout_fails(self):
        started = time.monotonic()
        self.fleet.tag("node-2", role="slow")
        result = self.fleet.wait_result("node-2", lambda r: r["status"] == "failed", 30, "node-2 timing out")
        self.assertLess(time.monotonic() - started, 25)
        task = result["tasks"][0]
        self.assertEqual(task["status"], "failed")
        self.assertIn("timed out", task["message"])

    def test_3_an_agent_killed_during_a_bundle_reports_it_interrupted_and_runs_it_again(self):
        agent = self.fleet.clients["node-3"]
        self.fleet.tag("node-3", role="long")
        running = self.fleet.wait_result("node-3", lambda r: r["status"] == "running", 30, "node-3 running")
        agent.kill()
        self.assertNotIn("/long-done", self.fleet.files("node-3"))
        agent.start()
        result = self.fleet.wait_result("node-3", lambda r: applied(r) and r["generation"] >= running["generation"],
                                        60, "node-3 applying the interrupted bundle")
        self.assertEqual(result["generation"], running["generation"])
        self.assertIn("/long-done", self.fleet.files("node-3"))
        self.assertIn("interrupted", agent.log())

    def test_4_a_tag_loop_is_held_back(self):
        # flip=a comes from the image layer; each playbook's tag task flips the runtime layer.
        agent = self.fleet.client_agent("node-flip")
        agent.extra_args += ["-tag", "flip=a"]
        agent.start()
        self.fleet.clients["node-flip"] = agent
        state = wait_for(lambda: (lambda s: s if s and s["status"] == "held" else None)(self.fleet.state("node-flip")),
                         60, "node-flip held by the loop guard")
        self.assertTrue(state["error"])
        self.assertLessEqual(len(state["recent_runs_unix_ms"]), 5)

    def test_5_an_invalid_playbook_stops_roster_deploy_with_file_and_line(self):
        broken = os.path.join(self.workdir, "broken")
        os.makedirs(broken)
        with open(os.path.join(broken, "bad.yaml"), "w") as handle:
            handle.write("- name: bad\n  hosts: role=web\n  tasks:\n    - name: x\n      nosuchmodule: {}\n")
        done = subprocess.run([DEPLOY, "-playbooks", broken, "-http-addr", self.fleet.server.address,
                               "-key", self.fleet.key_path], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("bad.yaml:5", done.stderr + done.stdout)


if __name__ == "__main__":
    if not (ROSTER and DEPLOY):
        sys.stderr.write("set ROSTER_BIN and ROSTER_DEPLOY_BIN\n")
        sys.exit(2)
    roster_process.run_unittest_main()
