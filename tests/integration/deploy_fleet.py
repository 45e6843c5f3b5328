"""A deploy fleet on loopback: a server agent, client agents with exec roots, and roster-deploy.

Used by the deploy integration test, the README demo (scripts/demo.sh) and the deploy benchmark
(bench/deploy_bench.py). Standard library only, so it runs under Debian's /usr/bin/python3.

    fleet = DeployFleet(roster_bin, deploy_bin, workdir, playbooks_dir, clients=5)
    fleet.start()                          # keygen, server, clients (joined), roster-deploy
    fleet.tag("node-1", role="web")        # an operator tag, as `roster tag set -node` writes it
    fleet.wait_result("node-1", lambda r: r["status"] == "applied", timeout=10)
    fleet.stop()

Every agent's exec root is workdir/<node>/root; its packages and services are the sandbox's
(exec.system: sandbox), so nothing outside the work dir changes.
"""

import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "clients"))
import roster_process  # noqa: E402
from roster_process import RosterAgent, free_port, wait_for  # noqa: E402

def exec_config(root, public_key):
    return textwrap.dedent("""\
        exec:
          enabled: true
          root: %s
          system: sandbox
          trusted_keys: ["%s"]
        """) % (root, public_key)


class DeployServer:
    """One roster-deploy process with its own log file."""

    def __init__(self, binary, playbooks, http_addr, key, workdir, name="deploy", extra_args=()):
        self.binary = binary
        self.args = [binary, "-playbooks", playbooks, "-http-addr", http_addr, "-key", key] + list(extra_args)
        self.log_path = os.path.join(workdir, name + ".log")
        self.process = None

    def start(self):
        self._log = open(self.log_path, "ab")
        self._log.write(("\n==== start: %s ====\n" % " ".join(self.args)).encode())
        self._log.flush()
        self.process = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self._log,
                                        stderr=subprocess.STDOUT)
        return self

    def running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout=15.0):
        if self.running():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return None if self.process is None else self.process.returncode

    def kill(self):
        if self.running():
            self.process.kill()
            self.process.wait()

    def log(self):
        with open(self.log_path, "rb") as log_file:
            return log_file.read().decode("utf-8", "replace")


class DeployFleet:
    def __init__(self, roster_bin, deploy_bin, workdir, playbooks, clients=5, client_prefix="node-",
                 deploy_args=(), log_level="info", server_exec=False):
        self.roster_bin = roster_bin
        self.deploy_bin = deploy_bin
        self.workdir = workdir
        self.playbooks = playbooks
        self.client_names = ["%s%d" % (client_prefix, i + 1) for i in range(clients)]
        self.deploy_args = list(deploy_args)
        self.log_level = log_level
        self.server_exec = server_exec
        self.server = None
        self.clients = {}
        self.deployers = []
        self.key_path = os.path.join(workdir, "deploy.key")
        self.public_key = None

    # ---- lifecycle ----

    def keygen(self):
        done = subprocess.run([self.deploy_bin, "keygen", "-out", self.key_path], capture_output=True, text=True,
                              timeout=30)
        if done.returncode != 0:
            raise AssertionError("roster-deploy keygen failed: %s%s" % (done.stdout, done.stderr))
        with open(self.key_path + ".pub") as pub:
            self.public_key = pub.read().strip()

    def _config(self, name, with_exec, server=False):
        path = os.path.join(self.workdir, name + ".yaml")
        text = roster_process.FAST_GOSSIP_CONFIG
        if server:
            # Every client agent holds a blocking query on the server, and on loopback they all
            # come from 127.0.0.1: lift the per-address connection cap meant for one real client.
            text += "limits:\n  http_max_conns_per_client: 0\n"
        if with_exec:
            root = self.exec_root(name)
            os.makedirs(root, exist_ok=True)
            text += exec_config(root, self.public_key)
        with open(path, "w") as config:
            config.write(text)
        return path

    def exec_root(self, name):
        return os.path.join(self.workdir, name, "root")

    def start_server(self):
        name = "server-1"
        self.server = RosterAgent(self.roster_bin, node=name, dev=True,
                                  data_dir=os.path.join(self.workdir, name, "data"),
                                  config_files=[self._config(name, self.server_exec, server=True)],
                                  log_level=self.log_level)
        self.server.start()
        return self.server

    def client_agent(self, name):
        return RosterAgent(self.roster_bin, node=name, dev=False, data_dir=os.path.join(self.workdir, name, "data"),
                           config_files=[self._config(name, True)],
                           extra_args=["-bind", "127.0.0.1", "-join", self.server.gossip_address()],
                           log_level=self.log_level)

    def start_clients(self, names=None):
        names = names or self.client_names
        for name in names:
            agent = self.client_agent(name)
            agent.start()
            self.clients[name] = agent
        wait_for(lambda: all(n in self.catalog_nodes() for n in names), 60, "every client in the catalog")

    def start_deployer(self, name="deploy"):
        deployer = DeployServer(self.deploy_bin, self.playbooks, self.server.address, self.key_path, self.workdir,
                                name=name, extra_args=self.deploy_args).start()
        self.deployers.append(deployer)
        return deployer

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        self.keygen()
        self.start_server()
        self.start_clients()
        self.start_deployer()
        return self

    def stop(self):
        for deployer in self.deployers:
            deployer.stop()
        for agent in self.clients.values():
            if agent.running():
                agent.stop()
        if self.server is not None and self.server.running():
            self.server.stop()

    def logs(self):
        out = []
        for deployer in self.deployers:
            out.append("======== %s (%s) ========\n%s" % (os.path.basename(deployer.log_path), deployer.log_path,
                                                         deployer.log()))
        return "\n".join(out)

    # ---- catalog ----

    def catalog_nodes(self):
        return {node["Node"]: node for node in self.server.get_json("/v1/catalog/nodes")}

    def tag(self, node, **tags):
        status, _, body = self.server.request("PUT", "/v1/roster/node/%s/tags" % urllib.parse.quote(node),
                                              {"Set": tags})
        if status != 200:
            raise AssertionError("tagging %s: HTTP %d: %s" % (node, status, body[:300]))

    def untag(self, node, *keys):
        status, _, body = self.server.request("PUT", "/v1/roster/node/%s/tags" % urllib.parse.quote(node),
                                              {"Remove": list(keys)})
        if status != 200:
            raise AssertionError("untagging %s: HTTP %d: %s" % (node, status, body[:300]))

    def kv(self, key, index=None, wait=None):
        """(value bytes or None, X-Consul-Index) of one key."""
        query = {}
        if index is not None:
            query["index"] = str(index)
            query["wait"] = wait or "5s"
        path = "/v1/kv/" + urllib.parse.quote(key) + ("?" + urllib.parse.urlencode(query) if query else "")
        status, headers, body = self.server.request("GET", path, timeout=70)
        index_header = int({k.lower(): v for k, v in headers.items()}.get("x-consul-index", "0"))
        if status == 404:
            return None, index_header
        if status != 200:
            raise AssertionError("GET %s: HTTP %d: %s" % (path, status, body[:300]))
        entries = json.loads(body)
        value = entries[0].get("Value")
        return (base64.b64decode(value) if value else b""), index_header

    def result(self, node):
        value, _ = self.kv("roster/deploy/results/" + node)
        return None if value is None else json.loads(value)

    def state(self, node):
        value, _ = self.kv("roster/deploy/state/" + node)
        return None if value is None else json.loads(value)

    def wait_result(self, node, predicate, timeout, what=None):
        """Waits (blocking queries on the result key) until predicate(result) holds; returns the result."""
        deadline = time.monotonic() + timeout
        index = 0
        last = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("timed out after %.1fs waiting for %s; last result of %s: %s"
                                     % (timeout, what or "a result", node, json.dumps(last)[:1500]))
            value, index = self.kv("roster/deploy/results/" + node, index=index,
                                   wait="%dms" % max(1, int(min(remaining, 5) * 1000)))
            if value is not None:
                last = json.loads(value)
                if predicate(last):
                    return last

    def files(self, node):
        """Every regular file under the node's exec root, relative, with its text."""
        root = self.exec_root(node)
        found = {}
        for folder, _, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                if os.path.isfile(path) and not os.path.islink(path):
                    with open(path, "rb") as handle:
                        found["/" + os.path.relpath(path, root)] = handle.read().decode("utf-8", "replace")
        return found


def make_workdir(prefix="roster-deploy-"):
    return tempfile.mkdtemp(prefix=prefix)
