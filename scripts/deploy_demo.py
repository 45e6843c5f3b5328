"""Roster's demo: a fleet configures itself from tags. Run through scripts/demo.sh.

On loopback it starts a dev agent that holds the catalog, five client agents whose exec roots are
folders under a temporary directory (their packages and services are the sandbox's), and
roster-deploy with the repository's playbooks/. Then it tags the nodes, shows what each applied,
retags one node and shows the re-apply, and stops everything.

    /usr/bin/python3 scripts/deploy_demo.py ROSTER_BIN ROSTER_DEPLOY_BIN
"""

import os
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from deploy_fleet import DeployFleet, make_workdir  # noqa: E402

BOLD, PLAIN = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")


def step(text):
    print("\n%s==> %s%s" % (BOLD, text, PLAIN), flush=True)


def main():
    roster_bin, deploy_bin = sys.argv[1], sys.argv[2]
    keep = bool(os.environ.get("ROSTER_DEMO_KEEP"))
    workdir = make_workdir("roster-demo-")
    fleet = DeployFleet(roster_bin, deploy_bin, workdir, os.path.join(REPO, "playbooks"), clients=5)

    def cli(*args):
        print("$ roster %s" % " ".join(args), flush=True)
        env = dict(os.environ, ROSTER_HTTP_ADDR=fleet.server.address)
        subprocess.run([roster_bin] + list(args), env=env, timeout=60, check=False)

    def show_files(node):
        files = fleet.files(node)
        shown = sorted(path for path in files if not path.startswith("/var/lib/roster-sandbox"))
        print("%s: %d files under its exec root %s" % (node, len(shown), fleet.exec_root(node)))
        for path in shown:
            first = files[path].splitlines()[0] if files[path] else ""
            print("    %-45s %s" % (path, first[:60]))

    def wait_applied(node, after, what, playbook=None):
        def done(result):
            if result.get("status") != "applied" or result.get("generation", 0) <= after:
                return False
            return playbook is None or any(task["name"] == playbook for task in result["tasks"])
        return fleet.wait_result(node, done, 60, what)

    try:
        step("Starting the fleet on loopback (work dir %s)" % workdir)
        fleet.keygen()
        print("roster-deploy keygen wrote %s; every agent trusts %s" % (fleet.key_path, fleet.public_key))
        fleet.start_server()
        print("catalog: dev agent server-1 on %s" % fleet.server.address)
        fleet.start_clients()
        print("clients: %s, exec enabled, each in its own sandbox" % ", ".join(fleet.client_names))
        fleet.start_deployer()
        print("roster-deploy watching the catalog with playbooks/ (base, web, db)")
        cli("members")

        step("Every node gets the base playbook at once; its last task tags the node stage=base-done")
        for node in fleet.client_names:
            wait_applied(node, 0, "base on " + node)
        cli("deploy", "status")

        step("An operator assigns roles: node-1 and node-2 web, node-3 db")
        started = time.monotonic()
        generations = {node: fleet.result(node)["generation"] for node in fleet.client_names}
        cli("tag", "set", "-node", "node-1", "role=web")
        cli("tag", "set", "-node", "node-2", "role=web")
        cli("tag", "set", "-node", "node-3", "role=db")
        wait_applied("node-1", generations["node-1"], "web on node-1", "index page")
        wait_applied("node-2", generations["node-2"], "web on node-2", "index page")
        wait_applied("node-3", generations["node-3"], "db on node-3", "server config")
        print("configured in %.0f ms" % ((time.monotonic() - started) * 1000))
        cli("catalog", "nodes")
        cli("deploy", "status")
        for node in ("node-1", "node-3"):
            show_files(node)
        print("node-1's nginx site, rendered on the deploy server from its tags and facts:")
        print(fleet.files("node-1")["/etc/nginx/sites-available/roster"])

        step("Retagging node-2 from web to db reconfigures it, and only it")
        before = fleet.result("node-2")["generation"]
        cli("tag", "set", "-node", "node-2", "role=db")
        result = wait_applied("node-2", before, "db on node-2", "server config")
        for task in result["tasks"]:
            print("    %-8s %s" % (task["status"], task["name"]))
        cli("deploy", "status", "-node", "node-2")

        step("Run history, from the catalog (GET /v1/roster/deploy/runs)")
        for run in fleet.server.get_json("/v1/roster/deploy/runs?limit=10"):
            print("    run %s: %d/%d done, %d failed  (%s)" % (run["id"], run["done"], run["total"], run["failed"],
                                                          run.get("trigger", "")))
    finally:
        step("Stopping everything")
        if keep:
            print("ROSTER_DEMO_KEEP is set: leaving the fleet running in %s" % workdir)
            return
        fleet.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        print("stopped; work dir removed")


if __name__ == "__main__":
    main()
