"""Debian's `prometheus` scrapes a real `roster agent` through /v1/agent/metrics?format=prometheus.

A dev agent and a Prometheus server each take a free loopback port; Prometheus gets a
static scrape job with a 1 s interval and its data in a temporary directory. The test
asks Prometheus's own query API, polling with deadlines, whether the target is up and
whether Roster's series have values there.

    ROSTER_BIN=build/agent/roster /usr/bin/python3 tests/integration/test_prometheus.py

Installs nothing: scripts/install-deps.sh installs prometheus ($PROMETHEUS_BIN overrides
/usr/bin/prometheus). Standard library only.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.join(HERE, "..", "clients"))
import roster_process  # noqa: E402
from roster_process import RosterAgent, free_port, wait_for  # noqa: E402

BINARY = None
PROMETHEUS = os.environ.get("PROMETHEUS_BIN", "/usr/bin/prometheus")
# Requests to Prometheus never go through a proxy, whatever the environment says.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Prometheus:
    """One Prometheus server on 127.0.0.1 scraping `target` ("127.0.0.1:port") as job "roster"."""

    def __init__(self, target):
        self.dir = tempfile.mkdtemp(prefix="roster-prometheus-")
        self.config_path = os.path.join(self.dir, "prometheus.yml")
        with open(self.config_path, "w") as config:
            config.write(textwrap.dedent("""\
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                  evaluation_interval: 1s
                scrape_configs:
                  - job_name: roster
                    metrics_path: /v1/agent/metrics
                    params:
                      format: [prometheus]
                    static_configs:
                      - targets: ['%s']
                """ % target))
        self.log_path = os.path.join(self.dir, "prometheus.log")
        self.process = None
        self.port = None

    def start(self, timeout=60.0, attempts=5):
        """Starts on a free port and waits until /-/ready answers; retries on another
        port when the chosen one was taken in the meantime."""
        for _ in range(attempts):
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    [PROMETHEUS,
                     "--config.file=" + self.config_path,
                     "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                     "--web.listen-address=127.0.0.1:%d" % self.port,
                     "--log.level=warn"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_for(lambda: self.process.poll() is not None or self._ready(), timeout, "prometheus /-/ready")
            except AssertionError:
                self.stop()
                raise AssertionError("prometheus did not get ready\n" + self.log())
            if self.process.poll() is None:
                return self
            if "address already in use" not in self.log():
                raise AssertionError("prometheus exited with status %d\n%s" % (self.process.returncode, self.log()))
        raise AssertionError("prometheus found no free port in %d attempts\n%s" % (attempts, self.log()))

    def _ready(self):
        with _OPENER.open("http://127.0.0.1:%d/-/ready" % self.port, timeout=2) as response:
            return response.status == 200

    def get(self, path, **params):
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with _OPENER.open(url, timeout=5) as response:
            return json.loads(response.read())

    def query(self, expression):
        """The instant vector for `expression`: [(labels, float value), ...]."""
        answer = self.get("/api/v1/query", query=expression)
        if answer.get("status") != "success":
            raise AssertionError("query %s failed: %r" % (expression, answer))
        return [(sample["metric"], float(sample["value"][1])) for sample in answer["data"]["result"]]

    def targets(self):
        return self.get("/api/v1/targets")["data"]["activeTargets"]

    def stop(self, timeout=15.0):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self):
        try:
            with open(self.log_path, "rb") as log:
                return log.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class PrometheusScrapeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(PROMETHEUS, os.X_OK):
            raise AssertionError("%s not found: run scripts/install-deps.sh (it installs Debian's prometheus)"
                                 % PROMETHEUS)
        cls.agent = RosterAgent(BINARY, node="prometheus-test").start()
        cls.prometheus = Prometheus(cls.agent.address)
        try:
            cls.prometheus.start()
        except Exception:
            cls.agent.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.prometheus.stop()
        cls.agent.stop()
        cls.prometheus.remove()

    def wait_for_value(self, expression, predicate, what, timeout=60.0):
        """Polls the query until one sample's value satisfies `predicate`; returns that sample."""
        def check():
            return next(((labels, value) for labels, value in self.prometheus.query(expression)
                         if predicate(value)), None)
        return wait_for(check, timeout, what, interval=0.2)

    def describe_targets(self):
        return "; ".join("%s health=%s lastError=%r" % (target.get("scrapeUrl"), target.get("health"),
                                                        target.get("lastError"))
                         for target in self.prometheus.targets())

    def test_target_is_up_and_roster_series_have_values(self):
        try:
            labels, _ = self.wait_for_value('up{job="roster"}', lambda value: value == 1,
                                            "Prometheus to scrape the agent (up == 1)")
        except AssertionError as error:
            raise AssertionError("%s; targets: %s\nprometheus log:\n%s"
                                 % (error, self.describe_targets(), self.prometheus.log()))
        self.assertEqual(labels["instance"], self.agent.address)

        # The agent counts its own members through gossip: itself, alive.
        labels, value = self.wait_for_value('roster_gossip_members{job="roster",state="alive"}',
                                            lambda value: value >= 1, "roster_gossip_members to reach Prometheus")
        self.assertEqual(value, 1)
        # Each scrape is an HTTP request the agent counted and timed, so after two scrapes the
        # counter and the latency histogram of the metrics route have values.
        self.wait_for_value('roster_http_requests_total{job="roster",method="GET",code="200"}',
                            lambda value: value >= 1, "roster_http_requests_total to count a scrape")
        self.wait_for_value('roster_http_request_duration_seconds_count{job="roster",path="v1.agent.metrics"}',
                            lambda value: value >= 1, "the request latency histogram to count a scrape")
        # Buckets parse as a histogram: the quantile of the scrapes' latency is a number.
        self.wait_for_value('histogram_quantile(0.5, roster_http_request_duration_seconds_bucket'
                            '{job="roster",path="v1.agent.metrics"})',
                            lambda value: value == value and value >= 0, "a latency quantile")

    def test_catalog_series_follow_writes(self):
        status, _, _ = self.agent.request("PUT", "/v1/kv/prometheus/probe", body="hello")
        self.assertEqual(status, 200)
        self.wait_for_value('roster_catalog_kv_entries{job="roster"}', lambda value: value >= 1,
                            "the KV write to show in roster_catalog_kv_entries")
        index = int(self.agent.request("GET", "/v1/kv/prometheus/probe")[1]["X-Consul-Index"])
        self.wait_for_value('roster_catalog_index{job="roster"}', lambda value: value >= index,
                            "roster_catalog_index to reach the write's index")


if __name__ == "__main__":
    BINARY = roster_process.find_binary()
    roster_process.run_unittest_main()
