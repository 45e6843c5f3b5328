"""Process-level tests of `roster agent`: a real binary, a real YAML config file, signals
and restarts, observed only through the HTTP API and the CLI's exit status.

    ROSTER_BIN=build/agent/roster /usr/bin/python3 tests/integration/test_agent_process.py

Standard library only (urllib); the process harness is shared with tests/clients.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.join(HERE, "..", "clients"))
import roster_process  # noqa: E402
from roster_process import RosterAgent, wait_for  # noqa: E402

BINARY = None


class Listener:
    """A TCP listener on 127.0.0.1 for the agent's TCP check; accepts and closes."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


def config_text(service_port, image_tags):
    tag_lines = "\n".join("  %s: %s" % (key, value) for key, value in sorted(image_tags.items()))
    return textwrap.dedent("""\
        # written by tests/integration/test_agent_process.py
        bind_addr: 127.0.0.1
        log_level: debug
        tags:
        {tags}
        services:
          - name: echo
            id: echo-1
            port: {port}
            tags: [v1]
            check:
              tcp: 127.0.0.1:{port}
              interval: 1s
              timeout: 1s
        """).format(tags=tag_lines, port=service_port)


class AgentProcessTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="roster-integration-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.data_dir = os.path.join(self.dir, "data")
        self.config_path = os.path.join(self.dir, "agent.yaml")
        self.listener = Listener()
        self.addCleanup(self.listener.close)
        self.write_config({"image": "base-1", "env": "qa"})

    def write_config(self, image_tags):
        # Write then rename, so a reload never reads a half-written file.
        scratch = self.config_path + ".tmp"
        with open(scratch, "w") as out:
            out.write(config_text(self.listener.port, image_tags))
        os.replace(scratch, self.config_path)

    def start_agent(self, node="integ-1"):
        # A single-server cluster (-bootstrap) with its Raft state in the data dir.
        agent = RosterAgent(BINARY, node=node, dev=False, data_dir=self.data_dir,
                            config_files=[self.config_path],
                            extra_args=["-server", "-bootstrap", "-server-port", "0", "-bind", "127.0.0.1"])
        self.addCleanup(agent.stop)
        agent.start()
        # The config file's services are the agent's once the catalog has them, which
        # follows the node's own registration, once the cluster has elected its leader.
        wait_for(lambda: "echo-1" in agent.get_json("/v1/agent/services"), 15,
                 "the config file's service to be registered")
        return agent

    # ---- helpers reading the API ----

    @staticmethod
    def echo_status(agent):
        """The echo-1 TCP check's status in the catalog, or None before it is there."""
        for check in agent.get_json("/v1/health/checks/echo"):
            if check["ServiceID"] == "echo-1":
                return check["Status"]
        return None

    @staticmethod
    def passing_echo(agent):
        return [entry["Service"]["ID"] for entry in agent.get_json("/v1/health/service/echo?passing=1")]

    @staticmethod
    def nodes_with(agent, meta):
        return [node["Node"] for node in agent.get_json("/v1/catalog/nodes?node-meta=" + meta)]

    @staticmethod
    def node_id(agent):
        return agent.get_json("/v1/agent/self")["Config"]["NodeID"]

    # ---- tests ----

    def test_service_from_config_goes_passing_then_critical(self):
        agent = self.start_agent()
        services = agent.get_json("/v1/agent/services")
        self.assertEqual(services["echo-1"]["Service"], "echo")
        self.assertEqual(services["echo-1"]["Port"], self.listener.port)
        wait_for(lambda: self.passing_echo(agent) == ["echo-1"], 15, "echo-1 to pass its TCP check")
        checks = agent.get_json("/v1/agent/checks")
        echo_checks = [check for check in checks.values() if check["ServiceID"] == "echo-1"]
        self.assertEqual(len(echo_checks), 1)
        self.assertEqual(echo_checks[0]["Type"], "tcp")

        self.listener.close()
        wait_for(lambda: self.echo_status(agent) == "critical", 15, "echo-1 to go critical once its port closed")
        self.assertEqual(self.passing_echo(agent), [])

    def test_critical_service_is_deregistered_after_its_deadline(self):
        agent = self.start_agent()
        closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
        closed.close()  # nothing listens here now: the check fails
        status, _, body = agent.request("PUT", "/v1/agent/service/register", {
            "Name": "doomed", "Port": dead_port,
            "Check": {"TCP": "127.0.0.1:%d" % dead_port, "Interval": "200ms", "Timeout": "200ms",
                      "DeregisterCriticalServiceAfter": "1s"}})
        self.assertEqual(status, 200, body)
        self.assertIn("doomed", agent.get_json("/v1/agent/services"))
        wait_for(lambda: "doomed" not in agent.get_json("/v1/agent/services"), 15,
                 "the critical service to be deregistered")
        self.assertEqual(agent.get_json("/v1/catalog/service/doomed"), [])
        # The healthy service from the config file is untouched.
        self.assertIn("echo-1", agent.get_json("/v1/agent/services"))

    def test_operator_tags_and_sighup_reload(self):
        agent = self.start_agent()
        node = agent.node
        wait_for(lambda: self.nodes_with(agent, "env:qa") == [node], 5, "image tag env=qa as node meta")

        status, _, body = agent.request("PUT", "/v1/roster/node/%s/tags" % node, {"Set": {"role": "web"}})
        self.assertEqual(status, 200, body)
        wait_for(lambda: self.nodes_with(agent, "role:web") == [node], 5, "operator tag role=web as node meta")
        self.assertEqual(self.nodes_with(agent, "role:db"), [])

        self.write_config({"image": "base-2", "stage": "two"})
        agent.send_signal(signal.SIGHUP)

        def reloaded():
            layers = agent.get_json("/v1/roster/node/%s/tags" % node)
            return layers if layers["Image"] == {"image": "base-2", "stage": "two"} else None

        layers = wait_for(reloaded, 10, "the image tags from the edited config after SIGHUP")
        self.assertEqual(layers["Operator"], {"role": "web"})
        self.assertEqual(layers["Merged"]["role"], "web")
        self.assertNotIn("env", layers["Merged"])
        self.assertEqual(self.nodes_with(agent, "role:web"), [node])
        self.assertEqual(self.nodes_with(agent, "image:base-2"), [node])
        self.assertEqual(self.nodes_with(agent, "image:base-1"), [])
        self.assertEqual(self.nodes_with(agent, "env:qa"), [])
        # The reload kept the service and its check running.
        wait_for(lambda: self.passing_echo(agent) == ["echo-1"], 15, "echo-1 passing after the reload")

        # A broken edit is refused and the running configuration stays.
        with open(self.config_path, "a") as out:
            out.write("no_such_key: 1\n")
        agent.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in agent.log(), 10, "the agent to refuse the broken config")
        layers = agent.get_json("/v1/roster/node/%s/tags" % node)
        self.assertEqual(layers["Image"], {"image": "base-2", "stage": "two"})
        self.assertTrue(agent.running())

    def test_node_id_survives_restart_and_kill9(self):
        agent = self.start_agent()
        first_id = self.node_id(agent)
        self.assertRegex(first_id, r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        with open(os.path.join(self.data_dir, "node-id")) as node_id_file:
            self.assertEqual(node_id_file.read().strip(), first_id)
        wait_for(lambda: self.passing_echo(agent) == ["echo-1"], 15, "echo-1 passing")

        self.assertEqual(agent.stop(), 0, "SIGTERM should end the agent cleanly")
        agent.start()
        self.assertEqual(self.node_id(agent), first_id)
        catalog_node = agent.get_json("/v1/catalog/node/%s" % agent.node)
        self.assertEqual(catalog_node["Node"]["ID"], first_id)

        self.assertEqual(agent.kill(), -signal.SIGKILL)
        agent.start()
        self.assertEqual(self.node_id(agent), first_id)
        wait_for(lambda: self.passing_echo(agent) == ["echo-1"], 15, "echo-1 passing after kill -9 and restart")
        self.assertEqual(self.nodes_with(agent, "image:base-1"), [agent.node])

        # Another data dir is another node identity.
        other = RosterAgent(BINARY, node="integ-2", dev=False, data_dir=os.path.join(self.dir, "other"),
                            config_files=[self.config_path],
                            extra_args=["-server", "-bootstrap", "-server-port", "0", "-bind", "127.0.0.1"])
        self.addCleanup(other.stop)
        other.start()
        self.assertNotEqual(self.node_id(other), first_id)


class ValidateTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="roster-validate-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def validate(self, *paths):
        return subprocess.run([BINARY, "validate", *paths], capture_output=True, text=True, timeout=60)

    def test_broken_config_reports_file_and_line(self):
        path = os.path.join(self.dir, "broken.yaml")
        with open(path, "w") as out:
            out.write(textwrap.dedent("""\
                node_name: web-1
                services:
                  - name: web
                    prot: 8080
                    check:
                      ttl: 10s
                      tcp: 127.0.0.1:80
                """))
        result = self.validate(path)
        output = result.stdout + result.stderr
        self.assertNotEqual(result.returncode, 0, output)
        self.assertIn("%s:4:" % path, output)  # the misspelt key
        self.assertIn("prot", output)
        self.assertRegex(output, r"%s:(5|6|7):" % path)  # the check with two kinds
        self.assertNotIn("Configuration is valid", output)

    def test_valid_config_passes(self):
        path = os.path.join(self.dir, "good.yaml")
        with open(path, "w") as out:
            out.write(config_text(8080, {"image": "base-1"}))
        result = self.validate(path)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("Configuration is valid", result.stdout)


class AgentProgramTest(unittest.TestCase):
    """`roster agent` runs the roster-agent program in place of the CLI."""

    def test_agent_keeps_the_pid_and_the_command_line(self):
        agent = RosterAgent(BINARY, node="exec-test")
        self.addCleanup(agent.stop)
        agent.start()
        pid = agent.process.pid
        with open("/proc/%d/comm" % pid) as comm:
            self.assertEqual(comm.read().strip(), "roster-agent")
        with open("/proc/%d/cmdline" % pid, "rb") as cmdline:
            argv = cmdline.read().split(b"\0")
        self.assertEqual(os.path.basename(argv[0]), b"roster")
        self.assertEqual(argv[1], b"agent")
        # Signals reach the agent itself: SIGTERM stops it cleanly.
        self.assertEqual(agent.stop(), 0, agent.log())

    def test_info_states_the_connection_limits(self):
        scratch = tempfile.mkdtemp(prefix="roster-limits-")
        self.addCleanup(shutil.rmtree, scratch, True)
        limits_path = os.path.join(scratch, "limits.yaml")
        with open(limits_path, "w") as out:
            out.write("limits:\n  http_max_conns_per_client: 7\n")
        agent = RosterAgent(BINARY, node="limits-test", config_files=[limits_path])
        self.addCleanup(agent.stop)
        agent.start()
        result = subprocess.run([BINARY, "info", "-http-addr", agent.address], capture_output=True, text=True,
                                timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = dict(line.strip().split(" = ", 1) for line in result.stdout.splitlines() if " = " in line)
        self.assertIn("limits:", result.stdout)
        self.assertEqual(lines["http_max_conns_per_client"], "7")
        self.assertEqual(lines["http_max_unsent_response_bytes"], str(64 * 1024 * 1024))
        self.assertEqual(lines["gossip_max_tcp_connections"], "128")
        self.assertEqual(lines["gossip_max_tcp_connections_per_ip"], "16")
        # The agent raised its soft open-files limit to the hard one.
        self.assertEqual(lines["open_files_soft"], lines["open_files_hard"])
        with open("/proc/%d/limits" % agent.process.pid) as limits:
            row = next(line for line in limits if line.startswith("Max open files")).split()
        hard = "18446744073709551615" if row[4] == "unlimited" else row[4]
        self.assertEqual(lines["open_files_soft"], hard)

        # One client over the limit is answered 429, as Consul does. The count is per client address,
        # so the agent's own count is read from 127.0.0.2.
        host, port = agent.address.rsplit(":", 1)

        def open_connections():
            other = http.client.HTTPConnection(host, int(port), timeout=10, source_address=("127.0.0.2", 0))
            try:
                other.request("GET", "/v1/agent/self")
                return int(json.loads(other.getresponse().read())["Stats"]["limits"]["http_open_connections"])
            finally:
                other.close()

        wait_for(lambda: open_connections() == 1, 10, "earlier connections closed")
        held = []
        self.addCleanup(lambda: [sock.close() for sock in held])
        for _ in range(7):
            sock = socket.create_connection((host, int(port)), timeout=10)
            held.append(sock)
            sock.sendall(b"GET /v1/status/leader HTTP/1.1\r\nHost: test\r\n\r\n")
            self.assertTrue(sock.recv(4096).startswith(b"HTTP/1.1 200"))
        over = socket.create_connection((host, int(port)), timeout=10)
        held.append(over)
        self.assertTrue(over.recv(4096).startswith(b"HTTP/1.1 429"))

    def test_join_that_reaches_nobody_exits_and_points_to_retry_join(self):
        # An image booted with -join that reaches nobody must not run on alone in a pool of one.
        nobody = "127.0.0.1:%d" % roster_process.free_port()
        agent = RosterAgent(BINARY, node="lonely-join")
        command = agent.command(roster_process.free_port()) + ["-join", nobody]
        result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        log = result.stdout + result.stderr
        self.assertIn("could not join the gossip pool", log)
        self.assertIn(nobody, log)
        self.assertIn("-retry-join", log)

    def test_agent_help_and_version_come_through(self):
        result = subprocess.run([BINARY, "agent", "-help"], capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("-retry-join", result.stdout)
        result = subprocess.run([BINARY, "agent", "-bogus-flag"], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("roster agent -help", result.stderr)

    def test_missing_agent_program_is_a_clear_error(self):
        lonely = tempfile.mkdtemp(prefix="roster-lonely-")
        self.addCleanup(shutil.rmtree, lonely, True)
        cli = os.path.join(lonely, "roster")
        shutil.copy2(BINARY, cli)
        result = subprocess.run([cli, "agent", "-dev"], capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 1)
        self.assertIn(os.path.join(lonely, "roster-agent"), result.stderr)
        self.assertIn("No such file", result.stderr)
        # The CLI's own commands still work without it.
        result = subprocess.run([cli, "version"], capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("Roster v", result.stdout)


if __name__ == "__main__":
    BINARY = roster_process.find_binary()
    roster_process.run_unittest_main()
