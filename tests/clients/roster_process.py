"""Starts and stops a real `roster agent` process for the client and integration suites.

Standard library only, so it runs under Debian's /usr/bin/python3 next to python3-consul.

    agent = RosterAgent(binary, node="client-test", dev=True)
    agent.start()              # free loopback port, waits for /v1/status/leader
    status, headers, body = agent.request("GET", "/v1/agent/self")
    agent.stop()               # SIGTERM, then SIGKILL after a deadline

Every agent started here is remembered, so a suite can print all their logs when
something failed (`print_logs()`). tests/integration imports this file through
sys.path.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

# Gossip timing for agents on loopback in tests: memberlist's local profile, faster still, so
# joins, tag changes and failures are seen within a second or two.
FAST_GOSSIP_CONFIG = """\
gossip:
  profile: local
  probe_interval: 500ms
  probe_timeout: 200ms
  gossip_interval: 100ms
  suspicion_mult: 3
  push_pull_interval: 10s
"""

# Requests to the agent never go through a proxy, whatever the environment says.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_STARTED = []


class AgentError(Exception):
    """The agent did not start or stop as expected; the message carries its log."""


def find_binary(argv=None):
    """Returns the roster binary from $ROSTER_BIN, else from argv[1] (which is removed
    so unittest does not see it). Exits with a clear message when neither is usable."""
    argv = sys.argv if argv is None else argv
    binary = os.environ.get("ROSTER_BIN", "")
    if not binary and len(argv) > 1 and os.path.isfile(argv[1]):
        binary = argv.pop(1)
    if not binary or not os.access(binary, os.X_OK):
        sys.stderr.write("roster binary not found: set ROSTER_BIN or pass its path as the first "
                         "argument (got %r)\n" % binary)
        sys.exit(2)
    return binary


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, then close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, timeout, what, interval=0.05):
    """Calls predicate until it returns something truthy, and returns that value.
    Raises AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # the condition may raise until it holds
            last_error = error
        if time.monotonic() >= deadline:
            detail = " (last error: %r)" % last_error if last_error else ""
            raise AssertionError("timed out after %.1fs waiting for %s%s" % (timeout, what, detail))
        time.sleep(interval)


class RosterAgent:
    """One `roster agent` process on 127.0.0.1 with its own HTTP port and log file."""

    def __init__(self, binary, node="roster-test", dev=True, data_dir=None, config_files=(),
                 extra_args=(), log_level="debug", serf_lan_port=0, wait_for_leader=True):
        self.binary = binary
        self.node = node
        self.dev = dev
        self.data_dir = data_dir
        self.config_files = list(config_files)
        self.extra_args = list(extra_args)
        self.log_level = log_level
        # Every agent gossips; 0 lets each take a free gossip port, so agents run
        # side by side (None: the agent's default, 8301, or what extra_args say).
        self.serf_lan_port = serf_lan_port
        # A cluster's server or client has no leader until the cluster forms:
        # then an answer from /v1/agent/self is enough to call it started.
        self.wait_for_leader = wait_for_leader
        self.port = None
        self.process = None
        self._log_file = tempfile.NamedTemporaryFile(prefix="roster-%s-" % node, suffix=".log", delete=False)
        self.log_path = self._log_file.name
        _STARTED.append(self)

    # ---- lifecycle ----

    def command(self, port):
        args = [self.binary, "agent", "-node", self.node, "-http-port", str(port), "-log-level", self.log_level]
        if self.dev:
            # Each -dev agent takes a free server port, so several run side by side.
            args.append("-dev")
            if "-server-port" not in self.extra_args:
                args += ["-server-port", "0"]
        if self.data_dir:
            args += ["-data-dir", self.data_dir]
        for path in self.config_files:
            args += ["-config-file", path]
        if self.serf_lan_port is not None and "-serf-lan-port" not in self.extra_args:
            args += ["-serf-lan-port", str(self.serf_lan_port)]
        return args + self.extra_args

    def start(self, timeout=30.0, attempts=5):
        """Starts the agent on a free port and waits until its HTTP API answers.
        Retries on another port when the chosen one was taken in the meantime."""
        if self.process is not None and self.process.poll() is None:
            raise AgentError("agent %s is already running" % self.node)
        for _ in range(attempts):
            port = free_port()
            self._log_file.write(("\n==== start: %s ====\n" % " ".join(self.command(port))).encode())
            self._log_file.flush()
            self.process = subprocess.Popen(self.command(port), stdin=subprocess.DEVNULL,
                                            stdout=self._log_file, stderr=subprocess.STDOUT)
            self.port = port
            if self._wait_ready(timeout):
                return self
            if self.process.poll() is None:
                self.kill()
                raise AgentError("agent %s did not answer on port %d within %.0fs\n%s"
                                 % (self.node, port, timeout, self.log()))
            if "in use" not in self.log().lower():
                raise AgentError("agent %s exited with status %d while starting\n%s"
                                 % (self.node, self.process.returncode, self.log()))
        raise AgentError("agent %s found no free port in %d attempts\n%s" % (self.node, attempts, self.log()))

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            # The log line proves the port is ours (another process may have taken it);
            # the leader answer proves the API serves requests.
            if ("HTTP API on http://127.0.0.1:%d" % self.port) in self.log():
                try:
                    if not self.wait_for_leader:
                        status, _, _ = self.request("GET", "/v1/agent/self", timeout=2)
                        if status == 200:
                            return True
                        continue
                    status, _, body = self.request("GET", "/v1/status/leader", timeout=2)
                    if status == 200 and json.loads(body):
                        return True
                except (OSError, ValueError):
                    pass
            time.sleep(0.05)
        return False

    def running(self):
        return self.process is not None and self.process.poll() is None

    def send_signal(self, number):
        self.process.send_signal(number)

    def stop(self, timeout=15.0):
        """SIGTERM, then SIGKILL if the agent has not exited after `timeout` seconds.
        Returns the exit status (negative for a signal, as subprocess reports it)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._log_file.write(b"\n==== harness: no exit after SIGTERM; sending SIGKILL ====\n")
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def kill(self):
        """SIGKILL, as a crash would. Returns the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        return self.process.returncode

    def log(self):
        self._log_file.flush()
        with open(self.log_path, "rb") as log_file:
            return log_file.read().decode("utf-8", "replace")

    # ---- HTTP ----

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def url(self, path):
        return "http://%s%s" % (self.address, path)

    def request(self, method, path, body=None, timeout=10):
        """Returns (status, headers, body bytes); HTTP errors are returned, not raised."""
        data = body
        if body is not None and not isinstance(body, (bytes, bytearray)):
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        req = urllib.request.Request(self.url(path), data=data, method=method)
        try:
            with _OPENER.open(req, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def gossip_address(self):
        """The agent's advertised gossip address, "ip:port", from /v1/agent/self."""
        member = self.get_json("/v1/agent/self")["Member"]
        return "%s:%d" % (member["Addr"], member["Port"])

    def get_json(self, path, timeout=10):
        """GET path; returns the decoded JSON body. Raises AssertionError on a non-200."""
        status, _, body = self.request("GET", path, timeout=timeout)
        if status != 200:
            raise AssertionError("GET %s: HTTP %d: %s" % (path, status, body[:500]))
        return json.loads(body)


def print_logs(stream=None):
    """Writes the log of every agent this process started (for a failed run)."""
    stream = stream or sys.stderr
    for agent in _STARTED:
        stream.write("\n======== log of roster agent %s (%s) ========\n" % (agent.node, agent.log_path))
        stream.write(agent.log())
        stream.write("======== end of log ========\n")
    stream.flush()


def stop_all():
    """Stops every agent still running (used at interpreter exit by the suites)."""
    for agent in _STARTED:
        if agent.running():
            agent.stop()


def run_unittest_main():
    """Runs unittest.main for the calling module, stops the agents, prints their logs
    when something failed, and exits with unittest's status."""
    import unittest
    program = unittest.main(module="__main__", exit=False, verbosity=2)
    stop_all()
    ok = program.result.wasSuccessful()
    if not ok:
        print_logs()
    if ok:
        for agent in _STARTED:
            try:
                os.unlink(agent.log_path)
            except OSError:
                pass
    sys.exit(0 if ok else 1)
