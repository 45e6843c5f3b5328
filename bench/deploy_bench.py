"""Deploy benchmark: how fast a tag change becomes an applied configuration, against Ansible.

Run it through bench/deploy_bench.sh, which builds the release binaries first. For each fleet
size it starts a dev agent, that many client agents with sandboxed exec roots, and roster-deploy
with bench/deploy/playbooks/ (four tasks: file, copy, template, lineinfile). Then:

  - event to applied: an operator retags one node (color blue <-> green) and the clock runs until
    the node's agent records the applied result (its finished_unix_ms), p50 and p99;
  - at the largest size, every node is retagged at once, until the last one has applied;
  - ansible-playbook runs the same four tasks (bench/deploy/ansible/) against as many hosts over a
    local connection, flipping every host's color the same way, in the same run;
  - roster-deploy's RSS at the largest size.

Every wait is bounded; every address is loopback.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from deploy_fleet import DeployFleet, make_workdir  # noqa: E402
from roster_process import wait_for  # noqa: E402

PLAYBOOKS = os.path.join(HERE, "deploy", "playbooks")
ANSIBLE_DIR = os.path.join(HERE, "deploy", "ansible")


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(fraction * (len(ordered) - 1)))))
    return ordered[index]


def flip(color):
    return "green" if color == "blue" else "blue"


def applied_after(generation):
    return lambda r: r.get("status") == "applied" and r.get("generation", 0) > generation


def rss_kib(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def run_roster(roster_bin, deploy_bin, agents, samples, retag_all, timeout, forks):
    workdir = make_workdir("roster-deploy-bench-")
    # The harness reads "HTTP API on ..." from the log, an info line.
    # The benchmark retags the same nodes on purpose, far more often than the loop guard allows.
    fleet = DeployFleet(roster_bin, deploy_bin, workdir, PLAYBOOKS, clients=agents, log_level="info",
                        deploy_args=["-loop-limit", "1000000", "-forks", str(forks)])
    figures = {"agents": agents}
    try:
        started = time.monotonic()
        fleet.keygen()
        fleet.start_server()
        fleet.start_clients()
        fleet.start_deployer()
        figures["fleet_start_s"] = time.monotonic() - started
        colors = {}
        for node in fleet.client_names:
            colors[node] = "blue"
            fleet.tag(node, color="blue")
        for node in fleet.client_names:
            fleet.wait_result(node, lambda r: r.get("status") == "applied", timeout, "first apply on " + node)

        latencies = []
        for sample in range(samples):
            node = fleet.client_names[sample % agents]
            generation = fleet.result(node)["generation"]
            colors[node] = flip(colors[node])
            start_ms = time.time() * 1000.0
            fleet.tag(node, color=colors[node])
            result = fleet.wait_result(node, applied_after(generation), timeout, "retag applied on " + node)
            changed = sum(1 for task in result["tasks"] if task["status"] == "changed")
            if changed == 0:
                raise AssertionError("a retag applied nothing on %s: %s" % (node, json.dumps(result)[:500]))
            latencies.append(result["finished_unix_ms"] - start_ms)
        figures["event_to_applied_ms"] = {"samples": len(latencies), "p50": percentile(latencies, 0.5),
                                          "p99": percentile(latencies, 0.99), "max": max(latencies)}

        if retag_all:
            generations = {node: fleet.result(node)["generation"] for node in fleet.client_names}
            start_ms = time.time() * 1000.0
            for node in fleet.client_names:
                colors[node] = flip(colors[node])
                fleet.tag(node, color=colors[node])
            tagged_ms = time.time() * 1000.0
            finished = []
            for node in fleet.client_names:
                result = fleet.wait_result(node, applied_after(generations[node]), timeout, "mass retag on " + node)
                finished.append(result["finished_unix_ms"])
            figures["retag_all"] = {"nodes": agents, "tagging_ms": tagged_ms - start_ms,
                                    "all_applied_ms": max(finished) - start_ms}
            rss, peak = rss_kib(fleet.deployers[0].process.pid)
            figures["roster_deploy_rss_kib"] = rss
            figures["roster_deploy_peak_rss_kib"] = peak
        return figures
    finally:
        fleet.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run_ansible(hosts, forks, timeout):
    workdir = make_workdir("roster-ansible-bench-")
    try:
        inventory = os.path.join(workdir, "inventory.ini")
        with open(inventory, "w") as out:
            out.write("[fleet]\n")
            for i in range(hosts):
                root = os.path.join(workdir, "h%d" % (i + 1))
                os.makedirs(root)
                out.write("h%d ansible_connection=local ansible_host=127.0.0.1 root=%s cpus=2 "
                          "ansible_python_interpreter=/usr/bin/python3\n" % (i + 1, root))
        env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_RETRY_FILES_ENABLED="False",
                   ANSIBLE_LOCAL_TEMP=os.path.join(workdir, "tmp"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_STDOUT_CALLBACK="default")

        def play(color):
            started = time.monotonic()
            done = subprocess.run(["/usr/bin/ansible-playbook", "-i", inventory, "-f", str(forks), "-e",
                                   "color=" + color, os.path.join(ANSIBLE_DIR, "color.yaml")],
                                  capture_output=True, text=True, timeout=timeout, env=env)
            elapsed = time.monotonic() - started
            if done.returncode != 0:
                raise AssertionError("ansible-playbook failed:\n%s\n%s" % (done.stdout[-3000:], done.stderr[-3000:]))
            recap = [line for line in done.stdout.splitlines() if "changed=" in line]
            return elapsed, recap

        first, _ = play("blue")
        elapsed, recap = play("green")
        changed = sum(int(line.split("changed=")[1].split()[0]) for line in recap)
        return {"hosts": hosts, "forks": forks, "first_run_s": first, "retag_run_s": elapsed,
                "tasks_changed": changed}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--roster-bin", default=os.environ.get("ROSTER_BIN", os.path.join(REPO, "build/rel/agent/roster")))
    parser.add_argument("--deploy-bin",
                        default=os.environ.get("ROSTER_DEPLOY_BIN", os.path.join(REPO, "build/rel/server/roster-deploy")))
    parser.add_argument("--sizes", default="1,50,200", help="fleet sizes, comma-separated (default 1,50,200)")
    parser.add_argument("--samples", type=int, default=100, help="retags measured per fleet size (default 100)")
    parser.add_argument("--forks", type=int, default=50,
                        help="bundles in flight at once: roster-deploy -forks and ansible-playbook -f (default 50)")
    parser.add_argument("--skip-ansible", action="store_true")
    parser.add_argument("--timeout", type=float, default=120, help="bound on every wait, seconds (default 120)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    sizes = [int(size) for size in args.sizes.split(",") if size]
    report = {"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "roster": []}
    for size in sizes:
        figures = run_roster(args.roster_bin, args.deploy_bin, size, args.samples, size == max(sizes), args.timeout,
                             args.forks)
        report["roster"].append(figures)
        e2a = figures["event_to_applied_ms"]
        print("roster   %4d agents: event to applied p50 %.1f ms, p99 %.1f ms (%d retags); fleet up in %.1f s"
              % (size, e2a["p50"], e2a["p99"], e2a["samples"], figures["fleet_start_s"]), flush=True)
        if "retag_all" in figures:
            print("roster   %4d agents retagged at once: all applied in %.0f ms (tagging took %.0f ms); "
                  "roster-deploy RSS %.1f MiB (peak %.1f MiB)"
                  % (size, figures["retag_all"]["all_applied_ms"], figures["retag_all"]["tagging_ms"],
                     figures["roster_deploy_rss_kib"] / 1024.0, figures["roster_deploy_peak_rss_kib"] / 1024.0),
                  flush=True)
    if not args.skip_ansible:
        hosts = max(sizes)
        ansible = run_ansible(hosts, args.forks, max(args.timeout, 1800))
        report["ansible"] = ansible
        print("ansible  %4d hosts (local connection, -f %d): retag run %.1f s (%d tasks changed); first run %.1f s"
              % (hosts, ansible["forks"], ansible["retag_run_s"], ansible["tasks_changed"], ansible["first_run_s"]))
        largest = report["roster"][-1]
        if "retag_all" in largest:
            ratio = ansible["retag_run_s"] * 1000.0 / largest["retag_all"]["all_applied_ms"]
            report["ratio_ansible_over_roster"] = ratio
            print("ratio: roster configures %d nodes %.0fx faster than ansible-playbook" % (hosts, ratio))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
    print("rerun: bash bench/deploy_bench.sh  (options: %s)" % " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
