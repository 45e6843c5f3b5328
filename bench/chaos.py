#!/usr/bin/python3
"""Chaos bench: replays each probe of the hardening issue against real `roster agent`
processes on loopback and says, per probe, whether the agent held, degraded or crashed.

    bench/chaos.sh                       (builds, then runs this; about 2.5 minutes)
    bench/chaos.py --roster build-chaos/agent/roster --forge build-chaos/bench/chaos_forge
    bench/chaos.py ... --only parked_twice,lock_delay
    bench/chaos.py --list

Every probe starts its own agent(s) (`-dev`, free loopback ports, data and config in a
temporary directory), is bounded in time (a probe past its bound is reported degraded),
and stops its agents when it ends. Verdicts:

    held      the pass criterion printed in the probe's detail was met
    degraded  the agent stayed up but the criterion was not met (or the probe ran out of time)
    crashed   an agent the probe attacked exited on its own

For each probe the attacked agent's RSS (MiB) and CPU (% of one core over 0.5 s) are
sampled before the attack and after it. Exit status: 0 when every probe reached a verdict
(whatever it was), 1 when the bench itself failed (an agent would not start, a helper
was missing), 2 on bad arguments.

Standard library only (Debian's /usr/bin/python3). Gossip forgery uses bench/chaos_forge,
which seals messages with the agent's own wire library.
"""

import argparse
import base64
import http.client
import json
import os
import random
import re
import resource
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "clients"))
from roster_process import AgentError, RosterAgent, free_port  # noqa: E402

MAX_INCARNATION = 2 ** 64 - 1
TICKS = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024
# Extra source addresses for clients, so per-address limits see several clients.
SOURCES = ["127.0.0.%d" % n for n in range(2, 14)]
# Serf's member status numbers, as /v1/agent/members reports them.
STATUS_NAMES = {0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed"}


class BenchError(Exception):
    """The bench could not run a probe (not a verdict on the agent)."""


# ---------------------------------------------------------------- process figures

def rss_mib(pid):
    try:
        with open("/proc/%d/status" % pid) as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def cpu_ticks(pid):
    """User + system CPU ticks of a process and all its threads."""
    try:
        with open("/proc/%d/stat" % pid) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def cpu_percent(pid, seconds=0.5):
    before = cpu_ticks(pid)
    time.sleep(seconds)
    return (cpu_ticks(pid) - before) * 100.0 / TICKS / seconds


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---------------------------------------------------------------- HTTP helpers

class Http:
    """One keep-alive HTTP/1.1 connection to an agent, optionally from another source address."""

    def __init__(self, agent, source=None, timeout=10):
        self.port = agent.port
        self.source = source
        self.timeout = timeout
        self.conn = None

    def _connect(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout,
                                               source_address=(self.source, 0) if self.source else None)

    def call(self, method, path, body=None, timeout=None):
        """Returns (status, headers dict with lower-case names, body bytes)."""
        if self.conn is None:
            self._connect()
        if timeout is not None:
            self.conn.timeout = timeout
            if self.conn.sock:
                self.conn.sock.settimeout(timeout)
        if body is not None and not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
        try:
            self.conn.request(method, path, body=body)
            response = self.conn.getresponse()
            data = response.read()
        except Exception:
            self.close()
            raise
        headers = {k.lower(): v for k, v in response.getheaders()}
        if response.will_close:
            self.close()
        return response.status, headers, data

    def json(self, method, path, body=None, timeout=None):
        status, _, data = self.call(method, path, body, timeout)
        if status != 200:
            raise BenchError("%s %s: HTTP %d: %s" % (method, path, status, data[:200]))
        return json.loads(data) if data else None

    def timed(self, method, path, body=None, timeout=None):
        start = time.monotonic()
        status, headers, data = self.call(method, path, body, timeout)
        return status, headers, data, time.monotonic() - start

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def connect_from(port, source=None, rcvbuf=None, timeout=5):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if source:
        sock.bind((source, 0))
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    return sock


def reset(sock):
    """Closes with SO_LINGER 0: the peer gets a RST, as from a crashed client."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


def request_bytes(path, method="GET", host=True):
    return ("%s %s HTTP/1.1\r\n%s\r\n" % (method, path, "Host: chaos\r\n" if host else "")).encode()


def status_of(first_bytes):
    """The status code of a raw HTTP response's first line, or None."""
    try:
        line = first_bytes.split(b"\r\n", 1)[0].split()
        return int(line[1]) if line and line[0].startswith(b"HTTP/") else None
    except (IndexError, ValueError):
        return None


def run_threads(target, count, *args):
    threads = [threading.Thread(target=target, args=(i,) + args, daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    return threads


def put_keys(agent, prefix, count, value, deadline, workers=4):
    """PUTs prefix+NNNNN for NNNNN in 0..count-1 over `workers` keep-alive connections."""
    failures = []

    def worker(i):
        conn = Http(agent)
        for n in range(i, count, workers):
            if time.monotonic() > deadline:
                failures.append("out of time")
                return
            status, _, _ = conn.call("PUT", "/v1/kv/%s%05d" % (prefix, n), value)
            if status != 200:
                failures.append(status)
                return
        conn.close()

    for thread in run_threads(worker, workers):
        thread.join(max(0.0, deadline - time.monotonic()) + 1)
    if failures:
        raise BenchError("seeding %s: %r" % (prefix, failures[:3]))


def sleep_until(t):
    delay = t - time.monotonic()
    if delay > 0:
        time.sleep(delay)


# ---------------------------------------------------------------- probe context

class Probe:
    """What a probe function gets: agents it starts, the bound, and the before/after figures."""

    def __init__(self, bench, name, bound):
        self.bench = bench
        self.name = name
        self.bound = bound
        self.deadline = time.monotonic() + bound
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=bench.work)
        self.agents = []
        self.target = None
        self.before = None
        self.after = None
        self.ended = False

    def left(self):
        return self.deadline - time.monotonic()

    def out_of_time(self):
        return self.ended or time.monotonic() > self.deadline

    def config(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as config:
            config.write(text)
        return path

    def agent(self, node, config="", data_dir=False, extra_args=(), serf_lan_port=0, start=True,
              wrapper=None, target=False):
        """Starts `roster agent -dev` on free loopback ports with `config` as its YAML file."""
        files = [self.config(node + ".yaml", config)] if config else []
        data = None
        if data_dir:
            data = os.path.join(self.dir, node + "-data")
            os.makedirs(data, exist_ok=True)
        agent = Agent(self.bench.roster, node=node, dev=True, data_dir=data, config_files=files,
                      extra_args=list(extra_args), log_level="info", serf_lan_port=serf_lan_port)
        agent.wrapper = wrapper or []
        self.agents.append(agent)
        if target or self.target is None:
            self.target = agent
        if start:
            agent.start(timeout=min(20.0, max(3.0, self.left())))
        return agent

    def sample(self):
        agent = self.target
        if agent is None or not agent.running():
            return (float("nan"), float("nan"))
        pid = agent.process.pid
        return (rss_mib(pid), cpu_percent(pid))

    def mark_before(self):
        self.before = self.sample()

    def mark_after(self):
        self.after = self.sample()

    def crashed(self):
        """Agents that exited without being asked to."""
        return [a for a in self.agents if a.process is not None and not a.asked_to_stop and not a.running()]

    def stop_all(self):
        for agent in self.agents:
            agent.asked_to_stop = True
            if agent.running():
                agent.stop(timeout=3)


class Agent(RosterAgent):
    """RosterAgent that may run under a wrapper (prlimit) and remembers a requested stop."""

    wrapper = ()
    asked_to_stop = False

    def command(self, port):
        return list(self.wrapper) + super().command(port)

    def start(self, timeout=30.0, attempts=5):
        self.asked_to_stop = False
        return super().start(timeout=timeout, attempts=attempts)

    def stop(self, timeout=15.0):
        self.asked_to_stop = True
        return super().stop(timeout)

    def kill(self):
        self.asked_to_stop = True
        return super().kill()

    def members(self):
        """{name: member} from /v1/agent/members."""
        return {m["Name"]: m for m in self.get_json("/v1/agent/members", timeout=5)}

    def serf_stats(self):
        return self.get_json("/v1/agent/self", timeout=5)["Stats"].get("serf_lan", {})

    def gossip_endpoint(self):
        return self.gossip_address()


LOCAL_GOSSIP = "gossip:\n  profile: local\n  probe_interval: 500ms\n  suspicion_mult: 3\n"


def tags_yaml(tags):
    return "tags:\n" + "".join("  %s: %s\n" % (k, v) for k, v in tags.items())


def wait_until(probe, predicate, seconds, interval=0.1):
    """Polls predicate until truthy or `seconds` pass (never past the probe's bound)."""
    end = min(time.monotonic() + seconds, probe.deadline)
    last = None
    while True:
        try:
            last = predicate()
            if last:
                return last
        except (OSError, ValueError, KeyError, BenchError, AssertionError, http.client.HTTPException):
            last = None
        if time.monotonic() >= end:
            return last
        time.sleep(interval)


# ---------------------------------------------------------------- the probes
# Each returns (held: bool, detail: str); raising BenchError means the bench failed.

def probe_parked_twice(p):
    """1. A parked request must be answered once: after each blocking GET, a different request on
    the same keep-alive connection must get its own answer. Writes come every 5-30 ms, so about as
    many waits (10-50 ms) end by their deadline as by a write, and two clients keep the agent busy
    with ~1.3 MB reads: a long loop turn is where a wake and an expired deadline meet."""
    agent = p.agent("chaos-parked")
    writer_conn = Http(agent)
    writer_conn.json("PUT", "/v1/kv/chaos/hot", b"0")
    put_keys(agent, "chaos/ballast/v", 2, os.urandom(500 * 1024), p.deadline, workers=2)
    p.mark_before()
    end = time.monotonic() + 10
    stats = {"blocking": 0, "mismatched": 0, "errors": 0, "writes": 0}
    examples = []
    lock = threading.Lock()

    def writer(_):
        rng = random.Random(-1)
        n = 0
        while time.monotonic() < end and not p.ended:
            n += 1
            try:
                writer_conn.call("PUT", "/v1/kv/chaos/hot", str(n).encode(), timeout=5)
            except (OSError, http.client.HTTPException):
                with lock:
                    stats["errors"] += 1
            time.sleep(rng.uniform(0.005, 0.030))
        with lock:
            stats["writes"] = n

    def ballast(_):
        conn = Http(agent, timeout=10)
        while time.monotonic() < end and not p.ended:
            try:
                conn.call("GET", "/v1/kv/chaos/ballast/?recurse")
            except (OSError, http.client.HTTPException):
                time.sleep(0.05)
        conn.close()

    def client(i):
        rng = random.Random(i)
        conn = Http(agent, timeout=5)
        index = 1
        while time.monotonic() < end and not p.ended:
            wait_ms = rng.randint(10, 50)
            try:
                status, headers, body = conn.call("GET", "/v1/kv/chaos/hot?index=%d&wait=%dms" % (index, wait_ms))
                kv_ok = status == 200 and "x-consul-index" in headers and body.startswith(b"[")
                status2, _, body2 = conn.call("GET", "/v1/status/leader")
                leader_ok = status2 == 200 and body2.startswith(b'"')
            except (OSError, http.client.HTTPException):
                with lock:
                    stats["errors"] += 1
                conn.close()
                continue
            with lock:
                stats["blocking"] += 1
                if not (kv_ok and leader_ok):
                    stats["mismatched"] += 1
                    if len(examples) < 2:
                        examples.append("blocking GET got %d %r, then leader GET got %d %r"
                                        % (status, body[:30], status2, body2[:30]))
            if not (kv_ok and leader_ok):
                conn.close()  # start clean: the stray answer would shift every later one
                index = 1
            else:
                index = int(headers["x-consul-index"])
        conn.close()

    threads = run_threads(writer, 1) + run_threads(ballast, 2) + run_threads(client, 24)
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()) + 6)
    p.mark_after()
    held = stats["mismatched"] == 0 and stats["blocking"] > 0
    detail = ("%d blocking answers on 24 keep-alive connections in 10 s (%d writes), %d followed by a "
              "wrong answer, %d I/O errors" % (stats["blocking"], stats["writes"], stats["mismatched"],
                                                stats["errors"]))
    if examples:
        detail += "; e.g. " + examples[0]
    return held, detail


def probe_session_renewal(p):
    """2. A renewal answered 200 must keep the session (TTL 10s, expiry at 2xTTL = 20s): 40 sessions,
    each holding a lock, renewed twice 19.95-20.00 s after creation or the last renewal, while
    other clients keep the agent busy with ~3 MB reads around those deadlines (a busy loop turn
    is where a renewal and the old expiry meet). No session renewed with a 200 may disappear."""
    agent = p.agent("chaos-sessions")
    put_keys(agent, "chaos/ballast/v", 4, os.urandom(500 * 1024), p.deadline, workers=2)
    count = 40
    results = []
    errors = []
    lock = threading.Lock()
    p.mark_before()
    t0 = time.monotonic()
    # Deadlines fall near t0+20 s and t0+40 s; the ballast reads run around them.
    busy_windows = [(t0 + 19.5, t0 + 20.7), (t0 + 39.4, t0 + 41.0)]
    done = threading.Event()

    def ballast(_):
        conn = Http(agent, timeout=10)
        for start, end in busy_windows:
            sleep_until(start)
            while time.monotonic() < end and not done.is_set() and not p.out_of_time():
                try:
                    conn.call("GET", "/v1/kv/chaos/ballast/?recurse")
                except (OSError, http.client.HTTPException):
                    time.sleep(0.05)
        conn.close()

    def session(i):
        conn = Http(agent, timeout=10)
        offset = 19.95 + 0.05 * i / count
        key = "chaos/lock/%02d" % i
        sent = time.monotonic()
        sid = conn.json("PUT", "/v1/session/create", {"TTL": "10s", "Name": "chaos-%d" % i})["ID"]
        last = sent
        if conn.json("PUT", "/v1/kv/%s?acquire=%s" % (key, sid), b"x") is not True:
            raise BenchError("could not take %s" % key)
        outcome = {"renewed": 0, "late": 0, "lost": []}
        for _ in range(2):
            sleep_until(last + offset)
            if p.out_of_time():
                break
            sent = time.monotonic()
            status, _, _ = conn.call("PUT", "/v1/session/renew/%s" % sid)
            if status != 200:
                outcome["late"] += 1  # reached the agent after the deadline: not the defect
                break
            outcome["renewed"] += 1
            last = sent
            time.sleep(1.0)
            info = conn.json("GET", "/v1/session/info/%s" % sid)
            entry = conn.call("GET", "/v1/kv/%s" % key)
            holder = json.loads(entry[2])[0].get("Session") if entry[0] == 200 else None
            if not info or holder != sid:
                outcome["lost"].append("session %d lost %s after a renewal answered 200, sent %.3f s after the "
                                       "previous one" % (i, "its lock" if info else "itself", offset))
                break
        conn.close()
        with lock:
            results.append(outcome)

    def guarded(i):
        try:
            session(i)
        except Exception as error:  # reported below; a dead agent shows as crashed
            errors.append(repr(error))

    threads = run_threads(guarded, count)
    helpers = run_threads(ballast, 2)
    for thread in threads:
        thread.join(max(0.0, p.left()))
    done.set()
    for thread in helpers:
        thread.join(max(0.0, p.left()))
    p.mark_after()
    renewed = sum(r["renewed"] for r in results)
    late = sum(r["late"] for r in results)
    lost = [x for r in results for x in r["lost"]]
    detail = ("%d sessions with locks, busy agent: %d renewals sent 19.95-20.00 s apart answered 200, %d answered "
              "404 (late), %d sessions lost after a 200" % (count, renewed, late, len(lost)))
    if lost:
        detail += "; e.g. " + lost[0]
    if errors:
        detail += "; errors: " + errors[0]
    return not lost and not errors and renewed > 0, detail


def probe_abandoned_waits(p):
    """3. 2,000 parked blocking queries whose clients reset: the watchers must be gone within 1 s."""
    limit = raise_fd_limit()
    if limit < 2200:
        raise BenchError("need 2,200 open files for the clients, the hard limit is %d" % limit)
    agent = p.agent("chaos-abandon")
    conn = Http(agent)
    conn.json("PUT", "/v1/kv/chaos/park", b"x")
    index = int(conn.call("GET", "/v1/kv/chaos/park")[1]["x-consul-index"])
    p.mark_before()

    def watchers():
        return int(conn.json("GET", "/v1/agent/self", timeout=5)["Stats"]["agent"]["blocking_watchers"])

    sockets = []
    start = time.monotonic()
    try:
        for n in range(2000):
            sock = connect_from(agent.port, SOURCES[n % 11])
            sock.sendall(request_bytes("/v1/kv/chaos/park?index=%d&wait=10m" % index))
            sockets.append(sock)
        peak = wait_until(p, lambda: watchers() >= 2000 and watchers(), 10) or watchers()
    finally:
        start = time.monotonic()
        for sock in sockets:
            reset(sock)
    freed_at = wait_until(p, lambda: watchers() == 0 and time.monotonic(), 5, interval=0.02)
    p.mark_after()
    if not peak:
        return False, "no blocking query parked (0 watchers)"
    if not freed_at:
        return False, ("%d parked watchers, %d still parked %.1f s after every client reset (want 0 within 1 s)"
                       % (peak, watchers(), time.monotonic() - start))
    took = freed_at - start
    return took <= 1.0, ("%d parked watchers from 11 addresses; 0 left %.2f s after every client reset "
                         "(want <= 1 s)" % (peak, took))


def probe_accept_spin(p):
    """4. Out of descriptors: 400 connections to an agent limited to 256 files. The agent must not
    spin on accept (CPU < 20% of a core, < 20 log lines in 3 s) and must serve again afterwards."""
    raise_fd_limit()
    agent = p.agent("chaos-fds", wrapper=["prlimit", "--nofile=256:256", "--"])
    p.mark_before()
    sockets = []
    try:
        for n in range(400):
            sockets.append(connect_from(agent.port, SOURCES[n % 3], timeout=3))
        time.sleep(0.3)
        descriptors = len(os.listdir("/proc/%d/fd" % agent.process.pid))
        lines_before = agent.log().count("\n")
        ticks_before = cpu_ticks(agent.process.pid)
        time.sleep(3.0)
        cpu = (cpu_ticks(agent.process.pid) - ticks_before) * 100.0 / TICKS / 3.0
        lines = agent.log().count("\n") - lines_before
        p.mark_after()
    finally:
        for sock in sockets:
            reset(sock)
    served = wait_until(p, lambda: Http(agent, timeout=1).call("GET", "/v1/status/leader")[0] == 200, 5)
    held = cpu < 20 and lines < 20 and bool(served)
    return held, ("400 connections held 3 s against 256 descriptors (the agent had %d open): agent CPU %.0f%% of a core, %d log lines "
                  "(want < 20%%, < 20); %s after they closed"
                  % (descriptors, cpu, lines, "serves again" if served else "does NOT serve within 5 s"))


def probe_conn_bound(p):
    """5a. 1,000 connections from one address: at most 200 answered, the rest 429, and another
    address still served promptly."""
    raise_fd_limit()
    agent = p.agent("chaos-perclient")
    p.mark_before()
    sockets = []
    counts = {}
    try:
        for _ in range(1000):
            try:
                sockets.append(connect_from(agent.port, SOURCES[0], timeout=3))
            except OSError:
                counts["connect failed"] = counts.get("connect failed", 0) + 1
        selector = selectors.DefaultSelector()
        pending = {}
        for sock in sockets:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
            pending[sock] = b""

        def drain(seconds):
            """Classifies each connection by the first status line it receives (or its close)."""
            end = time.monotonic() + seconds
            while pending and time.monotonic() < end:
                for key, _ in selector.select(0.2):
                    sock = key.fileobj
                    try:
                        data = sock.recv(4096)
                    except OSError:
                        data = b""
                    if data and b"\r\n" not in pending[sock] + data:
                        pending[sock] += data
                        continue
                    status = status_of(pending.pop(sock) + data) if data else None
                    label = str(status) if status else "closed without answer"
                    counts[label] = counts.get(label, 0) + 1
                    selector.unregister(sock)

        drain(1.0)  # a refusal may come at accept, before any request: read it before writing
        for sock in list(pending):
            try:
                sock.sendall(request_bytes("/v1/status/leader"))
            except OSError:
                pass
        drain(5.0)
        counts["no answer in 5 s"] = len(pending)
        other_status, _, _, other_time = Http(agent, source=SOURCES[5], timeout=5).timed("GET", "/v1/status/leader")
        p.mark_after()
    finally:
        for sock in sockets:
            reset(sock)
    ok = counts.get("200", 0)
    refused = counts.get("429", 0)
    held = ok <= 200 and ok + refused >= 990 and other_status == 200 and other_time < 0.5
    summary = ", ".join("%s: %d" % (k, v) for k, v in sorted(counts.items()) if v)
    return held, ("1,000 connections from %s -> %s (want <= 200 answered, the rest 429); another address "
                  "answered %d in %.0f ms (want < 500 ms)" % (SOURCES[0], summary, other_status, other_time * 1000))


def probe_unread_answers(p):
    """5b. 300 clients ask for an ~8 MB answer and never read it: agent RSS must grow < 100 MiB and a
    fresh client must be answered promptly."""
    raise_fd_limit()
    agent = p.agent("chaos-unread")
    value = os.urandom(500 * 1024)
    put_keys(agent, "chaos/big/v", 12, value, p.deadline, workers=2)
    probe_conn = Http(agent, timeout=30)
    status, _, body, build_time = probe_conn.timed("GET", "/v1/kv/chaos/big/?recurse")
    answer_mib = len(body) / MIB
    p.mark_before()
    pid = agent.process.pid
    base = rss_mib(pid)
    peak = base
    sockets = []
    aborted = False
    try:
        for n in range(300):
            sock = connect_from(agent.port, SOURCES[n % 2], rcvbuf=4096)
            sock.sendall(request_bytes("/v1/kv/chaos/big/?recurse"))
            sockets.append(sock)
        end = time.monotonic() + 6
        while time.monotonic() < end:
            peak = max(peak, rss_mib(pid))
            if peak - base > 400:  # the machine is shared: stop before it hurts
                aborted = True
                break
            time.sleep(0.1)
        try:
            fresh_status, _, _, fresh_time = Http(agent, source=SOURCES[7], timeout=10).timed("GET",
                                                                                            "/v1/status/leader")
        except (OSError, http.client.HTTPException):
            fresh_status, fresh_time = 0, 10.0  # no answer within 10 s
        peak = max(peak, rss_mib(pid))
        p.mark_after()
    finally:
        for sock in sockets:
            reset(sock)
    growth = peak - base
    held = growth < 100 and fresh_status == 200 and fresh_time < 1.0
    return held, ("300 unread GETs of a %.1f MiB answer (one alone takes %.0f ms): agent RSS +%.0f MiB at peak%s "
                  "(want < 100); a fresh client got %s in %.0f ms (want < 1 s)"
                  % (answer_mib, build_time * 1000, growth, " (stopped early)" if aborted else "",
                     fresh_status or "no answer", fresh_time * 1000))


def gossip_pair(p, suffix, b_tags):
    """A and B (B with a tags file it can reload on SIGHUP), B joined to A; waits until A sees B's tags."""
    a = p.agent("chaos-a" + suffix, LOCAL_GOSSIP, target=True)
    b = p.agent("chaos-b" + suffix, LOCAL_GOSSIP + tags_yaml(b_tags), extra_args=["-join", a.gossip_endpoint()])
    p.target = a
    seen = wait_until(p, lambda: a.members().get(b.node, {}).get("Tags", {}).get("role") == b_tags["role"], 10)
    if not seen:
        raise BenchError("%s never saw %s's tags" % (a.node, b.node))
    return a, b


def retag(p, agent, tags):
    p.config(agent.node + ".yaml", LOCAL_GOSSIP + tags_yaml(tags))
    agent.send_signal(signal.SIGHUP)


def forge(p, *args):
    result = subprocess.run([p.bench.forge] + list(args), capture_output=True, text=True,
                            timeout=max(5.0, p.left()))
    if result.returncode != 0:
        raise BenchError("chaos_forge %s failed: %s" % (args[0], result.stderr.strip()))
    return result.stdout.strip()


def probe_incarnation_overflow(p):
    """6. One forged datagram claims incarnation 2^64-1 for a live node, once as alive with forged
    tags and once as a leave. The node must stay (or come back) alive with its own tags, and a
    later real tag change must still reach the other agent."""
    parts = []
    held = True
    for variant in ("alive", "left"):
        a, b = gossip_pair(p, "-" + variant, {"role": "real"})
        if variant == "alive":
            p.mark_before()
        self_info = b.get_json("/v1/agent/self")
        if variant == "alive":
            forge(p, "alive", "--to", a.gossip_endpoint(), "--name", b.node, "--id", self_info["Config"]["NodeID"],
                  "--address", b.gossip_endpoint(), "--incarnation", str(MAX_INCARNATION), "--tag", "role=forged")
        else:
            forge(p, "dead", "--to", a.gossip_endpoint(), "--name", b.node, "--incarnation", str(MAX_INCARNATION))

        def b_on_a():
            m = a.members().get(b.node, {})
            return m.get("Status"), m.get("Tags", {}).get("role")

        time.sleep(0.5)
        hit = b_on_a()
        restored = wait_until(p, lambda: b_on_a() == (1, "real"), 5)
        after = b_on_a()
        retag(p, b, {"role": "changed"})
        spread = wait_until(p, lambda: b_on_a() == (1, "changed"), 6)
        ok = bool(restored) and bool(spread)
        held = held and ok
        parts.append("as %s: %s saw %s/%s, %s, a real tag change %s" % (
            variant, a.node, STATUS_NAMES.get(hit[0], hit[0]), hit[1],
            "refuted within 5 s" if restored else "still %s/%s after 5 s" % (STATUS_NAMES.get(after[0], after[0]),
                                                                             after[1]),
            "spread" if spread else "did NOT spread in 6 s"))
        if variant == "alive":
            p.mark_after()
        if variant == "alive" and not p.crashed():
            a.stop(timeout=3)
            b.stop(timeout=3)
    return held, "; ".join(parts)


def join_through(p, newcomer, existing, seconds=10):
    """Starts `newcomer` (its args carry -join) and waits until each of the two sees the other alive.
    Returns (monotonic time it was seen, None) or (None, why not). A newcomer that exits because its
    join failed is the finding, not a crash."""
    def last_error():
        errors = [line for line in newcomer.log().splitlines() if "[error]" in line or "[warning]" in line]
        if not errors:
            return "no error logged"
        # "gossip: could not join ... through any of -join A: A: why" -> "why"
        return re.sub(r"^.*\d+\.\d+\.\d+\.\d+:\d+: ", "", errors[-1].split("] ", 2)[-1])[:120]

    try:
        newcomer.start(timeout=min(15.0, max(3.0, p.left())))
    except AgentError:
        newcomer.asked_to_stop = True
        return None, "it exited: " + last_error()

    def both_see():
        if not newcomer.running():
            return "exited"
        ok = (existing.members().get(newcomer.node, {}).get("Status") == 1
              and newcomer.members().get(existing.node, {}).get("Status") == 1)
        return ok and time.monotonic()

    seen = wait_until(p, both_see, seconds)
    time.sleep(0.5)
    if seen == "exited" or not newcomer.running():
        newcomer.asked_to_stop = True
        return None, "it exited: " + last_error()
    if not seen:
        return None, "not seen alive on both sides within %d s" % seconds
    return seen, None


def probe_member_flood(p):
    """7. ~110,000 forged members in ~220 datagrams: the table stops at its cap (max_members, 20,000 by
    default), so RSS stays under 100 MiB (unbounded, it reached 310 MB); /v1/agent/members < 200 ms;
    and a fresh agent can still join through the attacked one."""
    a = p.agent("chaos-flooded", LOCAL_GOSSIP)
    p.mark_before()
    sent = forge(p, "flood", "--to", a.gossip_endpoint(), "--members", "110000", "--per-packet", "512",
                 "--pace-us", "15000")
    time.sleep(3)
    members = int(a.serf_stats().get("members", 0))
    conn = Http(a, timeout=10)
    timings = []
    for _ in range(3):
        status, _, _, took = conn.timed("GET", "/v1/agent/members")
        timings.append(took)
    members_ms = sorted(timings)[1] * 1000
    rss = rss_mib(a.process.pid)
    c = p.agent("chaos-newcomer", LOCAL_GOSSIP, extra_args=["-join", a.gossip_endpoint()], start=False)
    joined, join_error = join_through(p, c, a)
    p.mark_after()
    held = members <= 20000 and rss < 100 and members_ms < 200 and joined
    return held, ("%s; agent then knew %d members (want <= 20000, the cap), RSS %.0f MiB (want < 100), "
                  "/v1/agent/members %.0f ms (want "
                  "< 200), a fresh agent %s" % (sent, members, rss, members_ms,
                                                "joined through it" if joined else
                                                "could NOT join through it: " + join_error))


IDLE_GOSSIP_CONNECTIONS = 140


def probe_gossip_tcp_slots(p):
    """8. 140 idle TCP connections to an encrypted agent's gossip port; a real agent with the key
    must still join through it within a few seconds."""
    raise_fd_limit()
    key = base64.b64encode(os.urandom(32)).decode()
    a = p.agent("chaos-keyed", LOCAL_GOSSIP, data_dir=True, extra_args=["-encrypt", key])
    host, port = a.gossip_endpoint().rsplit(":", 1)
    p.mark_before()
    sockets = []
    try:
        for n in range(IDLE_GOSSIP_CONNECTIONS):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((SOURCES[n % 7], 0))
            sock.settimeout(3)
            sock.connect((host, int(port)))
            sockets.append(sock)
        start = time.monotonic()
        b = p.agent("chaos-joiner", LOCAL_GOSSIP, data_dir=True,
                    extra_args=["-encrypt", key, "-join", a.gossip_endpoint()], start=False)
        joined_at, error = join_through(p, b, a)
        p.mark_after()
    finally:
        for sock in sockets:
            reset(sock)
    if not joined_at:
        return False, "%d idle connections on the gossip port; a keyed agent could NOT join: %s" % (
            IDLE_GOSSIP_CONNECTIONS, error)
    took = joined_at - start
    return took < 5, ("%d idle connections on the gossip port; a keyed agent joined in %.1f s (want < 5 s)"
                         % (IDLE_GOSSIP_CONNECTIONS, took))


def probe_restart_incarnation(p):
    """9. Restart with the data dir and changed tags (after SIGTERM, then after SIGKILL): the
    incarnation the node restarts with must exceed any it advertised before, and the new tags must
    win on the other agent. The peer is paused (SIGSTOP) while the node starts, so the node's
    first incarnation is its own, not a refutation of what the peer tells it."""
    a = p.agent("chaos-peer", LOCAL_GOSSIP, target=True)
    port = free_port()
    b = p.agent("chaos-restarted", LOCAL_GOSSIP + tags_yaml({"role": "v0"}), data_dir=True, serf_lan_port=port,
                extra_args=["-retry-join", a.gossip_endpoint()])
    p.target = a
    if not wait_until(p, lambda: a.members().get(b.node, {}).get("Status") == 1, 10):
        raise BenchError("%s never joined %s" % (b.node, a.node))
    p.mark_before()

    def role_on_a():
        m = a.members().get(b.node, {})
        return m.get("Status"), m.get("Tags", {}).get("role")

    parts = []
    held = True
    version = 0
    for how in ("SIGTERM", "SIGKILL"):
        highest = 0
        for _ in range(3):  # each tag change is a refutation: the incarnation climbs
            version += 1
            retag(p, b, {"role": "v%d" % version})
            if not wait_until(p, lambda: role_on_a() == (1, "v%d" % version), 6):
                raise BenchError("tag change v%d never reached %s" % (version, a.node))
            highest = max(highest, int(b.serf_stats().get("incarnation", 0)))
        if how == "SIGTERM":
            b.stop(timeout=5)
        else:
            b.kill()
        version += 1
        p.config(b.node + ".yaml", LOCAL_GOSSIP + tags_yaml({"role": "v%d" % version}))
        a.send_signal(signal.SIGSTOP)
        try:
            b.start(timeout=min(15.0, max(3.0, p.left())))
            first = int(b.serf_stats().get("incarnation", 0))
        finally:
            a.send_signal(signal.SIGCONT)
        won = wait_until(p, lambda: role_on_a() == (1, "v%d" % version), 8)
        ok = first > highest and bool(won)
        held = held and ok
        parts.append("after %s: restarted at incarnation %d (highest advertised before: %d), new tags %s" % (
            how, first, highest, "won on the peer" if won else "did NOT win on the peer in 8 s (it shows %s/%s)"
            % role_on_a()))
    p.mark_after()
    return held, "; ".join(parts)


def probe_lock_delay(p):
    """10. LockDelay as a Go duration in ns (500000000 = 500 ms): another session must re-acquire a
    released lock within ~1 s; "1000000h" must be capped (60 s) and break nothing."""
    agent = p.agent("chaos-lockdelay")
    conn = Http(agent)
    p.mark_before()
    first = conn.json("PUT", "/v1/session/create", {"LockDelay": 500000000, "Name": "chaos-first"})["ID"]
    if conn.json("PUT", "/v1/kv/chaos/locked?acquire=%s" % first, b"x") is not True:
        raise BenchError("first session could not lock the key")
    conn.json("PUT", "/v1/session/destroy/%s" % first)
    destroyed = time.monotonic()
    second = conn.json("PUT", "/v1/session/create", {"Name": "chaos-second"})["ID"]
    got = wait_until(p, lambda: conn.json("PUT", "/v1/kv/chaos/locked?acquire=%s" % second, b"y") is True
                     and time.monotonic(), 3, interval=0.05)
    took = (got - destroyed) if got else None
    status, _, body = conn.call("PUT", "/v1/session/create", {"LockDelay": "1000000h", "Name": "chaos-huge"})
    huge = "create answered %d" % status
    capped = status == 400
    if status == 200:
        info = conn.json("GET", "/v1/session/info/%s" % json.loads(body)["ID"])
        delay = info[0].get("LockDelay", 0) if info else 0
        delay_s = delay / 1e9 if isinstance(delay, (int, float)) else float("nan")
        capped = delay_s <= 60
        huge += ", LockDelay %s" % ("%.0f s" % delay_s if delay_s < 1e6 else "%.2g years" % (delay_s / 3.15e7))
    still = conn.call("GET", "/v1/session/list")[0] == 200
    p.mark_after()
    held = took is not None and took <= 1.0 and capped and still
    return held, ("LockDelay 500000000: re-acquired %s (want <= 1 s); \"1000000h\": %s (want <= 60 s); "
                  "agent %s" % ("after %.2f s" % took if took is not None else "NOT within 3 s", huge,
                                "still serves" if still else "stopped serving"))


TOMBSTONE_CONFIG = "tombstone_ttl: %ds\n"


def probe_tombstones(p):
    """11. KV tombstones are reaped after tombstone_ttl: 20,000 keys written and deleted; after the
    TTL the deleted keys' tombstones are gone and listings stay fast."""
    refusals = []
    for ttl in (2, 10):  # the shortest the agent accepts
        path = p.config("validate.yaml", TOMBSTONE_CONFIG % ttl)
        check = subprocess.run([p.bench.roster, "validate", path], capture_output=True, text=True, timeout=20)
        if check.returncode == 0:
            break
        lines = (check.stdout + check.stderr).strip().splitlines()
        refusals.append(lines[0].split(": ", 1)[-1][:100] if lines else "roster validate failed")
    else:
        return False, "the agent accepts neither tombstone_ttl 2s nor 10s (%s): tombstones are never reaped" % (
            refusals[-1])
    agent = p.agent("chaos-tombstones", TOMBSTONE_CONFIG % ttl)
    conn = Http(agent, timeout=20)
    p.mark_before()

    def index_of_first():
        return int(conn.call("GET", "/v1/kv/chaos/tomb/first")[1].get("x-consul-index", "0"))

    conn.json("PUT", "/v1/kv/chaos/tomb/first", b"x")
    conn.json("DELETE", "/v1/kv/chaos/tomb/first")
    deleted_index = index_of_first()
    put_keys(agent, "chaos/tomb/k", 20000, b"v" * 64, p.deadline)
    conn.json("DELETE", "/v1/kv/chaos/tomb/?recurse")
    rss_full = rss_mib(agent.process.pid)
    wait = 2 * ttl + 5
    reaped = wait_until(p, lambda: index_of_first() != deleted_index, wait, interval=0.25)
    keys_status, _, _, keys_time = conn.timed("GET", "/v1/kv/?keys")
    _, _, _, recurse_time = conn.timed("GET", "/v1/kv/chaos/?recurse")
    rss_after = rss_mib(agent.process.pid)
    p.mark_after()
    held = bool(reaped) and keys_time < 0.1 and recurse_time < 0.1
    return held, ("tombstone_ttl %ds, 20,000 keys written and deleted: a deleted key's tombstone %s; then GET "
                  "?keys %.0f ms, recurse %.0f ms (want < 100); RSS %.0f MiB with the tombstones, %.0f after" % (
                      ttl, "was reaped" if reaped else "is still there after %d s" % wait,
                      keys_time * 1000, recurse_time * 1000, rss_full, rss_after))


def probe_small_answers(p):
    """12. A 1ns check interval must not burn a core; ?wait=5 (no unit) and a request without Host
    are 400; a recursive delete of 5,000 2 KB keys with a parked prefix watcher must not stall."""
    agent = p.agent("chaos-small")
    conn = Http(agent)
    p.mark_before()
    results = []
    # a) the check interval
    status, _, _ = conn.call("PUT", "/v1/agent/check/register",
                             {"Name": "chaos-spin", "TCP": "127.0.0.1:%d" % free_port(), "Interval": "1ns",
                              "Timeout": "1s"})
    cpu = cpu_percent(agent.process.pid, 3.0)
    results.append((cpu < 20, "check with Interval 1ns (register %d): agent CPU %.0f%% over 3 s (want < 20%%)"
                    % (status, cpu)))
    conn.call("PUT", "/v1/agent/check/deregister/chaos-spin")
    # b) a wait without a unit
    status, _, _ = conn.call("GET", "/v1/kv/chaos/nothing?index=1&wait=5")
    results.append((status == 400, "?wait=5 -> %d (want 400)" % status))
    # c) HTTP/1.1 without Host
    sock = connect_from(agent.port)
    try:
        sock.sendall(request_bytes("/v1/status/leader", host=False))
        status = status_of(sock.recv(4096))
    except OSError:
        status = None
    finally:
        sock.close()
    results.append((status == 400, "HTTP/1.1 without Host -> %s (want 400)" % status))
    # d) a big recursive delete while a prefix watcher is parked
    put_keys(agent, "chaos/bulk/k", 5000, b"b" * 2048, p.deadline)
    index = int(conn.call("GET", "/v1/kv/chaos/bulk/?keys")[1]["x-consul-index"])
    watcher_result = {}

    def watch(_):
        watcher_result["status"] = Http(agent, timeout=30).call(
            "GET", "/v1/kv/chaos/bulk/?recurse&index=%d&wait=30s" % index)[0]

    def delete(_):
        watcher_result["delete"] = Http(agent, timeout=30).call("DELETE", "/v1/kv/chaos/bulk/?recurse")[0]

    watcher = run_threads(watch, 1)
    time.sleep(0.3)
    deleter = run_threads(delete, 1)
    leader = Http(agent, timeout=10)
    worst = 0.0
    end = time.monotonic() + 3
    while time.monotonic() < end:
        worst = max(worst, leader.timed("GET", "/v1/status/leader")[3])
        time.sleep(0.01)
    for thread in watcher + deleter:
        thread.join(max(0.0, p.left()))
    results.append((worst < 0.2, "recursive delete of 5,000 x 2 KB keys with a parked watcher: slowest "
                    "GET /v1/status/leader %.0f ms (want < 200)" % (worst * 1000)))
    p.mark_after()
    return all(ok for ok, _ in results), "; ".join(text for _, text in results)


# name, issue number, bound in seconds, function
PROBES = [
    ("parked_twice", 1, 30, probe_parked_twice),
    ("session_renewal", 2, 55, probe_session_renewal),
    ("abandoned_waits", 3, 30, probe_abandoned_waits),
    ("accept_spin", 4, 25, probe_accept_spin),
    ("conn_bound", "5a", 25, probe_conn_bound),
    ("unread_answers", "5b", 30, probe_unread_answers),
    ("incarnation_overflow", 6, 50, probe_incarnation_overflow),
    ("member_flood", 7, 50, probe_member_flood),
    ("gossip_tcp_slots", 8, 30, probe_gossip_tcp_slots),
    ("restart_incarnation", 9, 70, probe_restart_incarnation),
    ("lock_delay", 10, 20, probe_lock_delay),
    ("tombstones", 11, 60, probe_tombstones),
    ("small_answers", 12, 40, probe_small_answers),
]


# ---------------------------------------------------------------- runner

class Bench:
    def __init__(self, roster, forge, keep):
        self.roster = roster
        self.forge = forge
        self.keep = keep
        self.work = tempfile.mkdtemp(prefix="roster-chaos.")
        self.current = None

    def run(self, name, number, bound, function):
        probe = Probe(self, name, bound)
        self.current = probe
        outcome = {}

        def body():
            try:
                outcome["result"] = function(probe)
            except BenchError as error:
                outcome["bench_error"] = str(error)
            except AgentError as error:
                outcome["bench_error"] = "agent did not start: " + str(error).splitlines()[0]
            except Exception as error:  # a dead agent shows up here as a refused connection
                outcome["error"] = "%s: %s" % (type(error).__name__, error)
                outcome["trace"] = traceback.format_exc()

        started = time.monotonic()
        thread = threading.Thread(target=body, daemon=True)
        thread.start()
        thread.join(bound)
        timed_out = thread.is_alive()
        if timed_out:
            probe.ended = True
        crashed = probe.crashed()
        target_pid = probe.target.process.pid if probe.target and probe.target.process else None
        if probe.after is None and probe.target is not None and probe.target.running():
            probe.after = probe.sample()
        probe.stop_all()
        thread.join(5)
        elapsed = time.monotonic() - started
        bench_error = None
        if crashed:
            verdict = "crashed"
            detail = "; ".join("%s exited with status %s" % (a.node, a.process.returncode) for a in crashed)
            if "result" in outcome:
                detail += "; " + outcome["result"][1]
            for agent in crashed:
                sys.stderr.write("---- last lines of %s's log (%s) ----\n%s\n" % (
                    agent.node, agent.log_path, "\n".join(agent.log().splitlines()[-15:])))
        elif timed_out:
            verdict, detail = "degraded", "did not finish within its %d s bound" % bound
        elif "bench_error" in outcome:
            verdict, detail = "error", outcome["bench_error"]
            bench_error = detail
        elif "error" in outcome:
            verdict, detail = "degraded", outcome["error"]
            sys.stderr.write(outcome["trace"])
        else:
            held, detail = outcome["result"]
            verdict = "held" if held else "degraded"
        for agent in probe.agents:
            if verdict == "held" and not self.keep:
                try:
                    os.unlink(agent.log_path)
                except OSError:
                    pass
        row = {"name": name, "number": number, "verdict": verdict, "detail": detail,
               "before": probe.before or (float("nan"),) * 2, "after": probe.after or (float("nan"),) * 2,
               "seconds": elapsed, "pid": target_pid,
               "logs": [a.log_path for a in probe.agents] if verdict != "held" else []}
        self.current = None
        return row, bench_error

    def cleanup(self):
        if self.current is not None:
            self.current.stop_all()
        if not self.keep:
            shutil.rmtree(self.work, ignore_errors=True)


def fmt(value, pattern):
    return "-" if value != value else pattern % value  # NaN -> "-"


def print_row(row, out=sys.stdout):
    out.write("%-3s %-21s %-9s RSS %6s -> %-6s MiB  CPU %4s -> %-4s %%  (%.0f s)\n    %s\n" % (
        row["number"], row["name"], row["verdict"], fmt(row["before"][0], "%.1f"), fmt(row["after"][0], "%.1f"),
        fmt(row["before"][1], "%.0f"), fmt(row["after"][1], "%.0f"), row["seconds"], row["detail"]))
    out.flush()


def print_table(rows, out=sys.stdout):
    out.write("\n| # | probe | verdict | RSS MiB before -> after | CPU % before -> after | detail |\n")
    out.write("|---|---|---|---|---|---|\n")
    for row in rows:
        out.write("| %s | %s | **%s** | %s -> %s | %s -> %s | %s |\n" % (
            row["number"], row["name"], row["verdict"], fmt(row["before"][0], "%.1f"), fmt(row["after"][0], "%.1f"),
            fmt(row["before"][1], "%.0f"), fmt(row["after"][1], "%.0f"), row["detail"].replace("|", "/")))
    counts = {}
    for row in rows:
        counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
    out.write("\n%s\n" % ", ".join("%d %s" % (n, v) for v, n in sorted(counts.items())))
    out.flush()


def main():
    parser = argparse.ArgumentParser(
        description="Replays the hardening issue's probes against roster agents on loopback "
                    "and reports held / degraded / crashed per probe.",
        epilog="Probes: " + ", ".join(name for name, _, _, _ in PROBES))
    parser.add_argument("--roster", default=os.path.join(REPO, "build-chaos", "agent", "roster"))
    parser.add_argument("--forge", default=os.path.join(REPO, "build-chaos", "bench", "chaos_forge"))
    parser.add_argument("--only", default="", help="comma-separated probe names")
    parser.add_argument("--list", action="store_true", help="list the probes and exit")
    parser.add_argument("--keep", action="store_true", help="keep agent logs and data directories")
    args = parser.parse_args()

    if args.list:
        for name, number, bound, function in PROBES:
            print("%-3s %-21s bound %3d s\n    %s" % (number, name, bound, " ".join(function.__doc__.split())))
        return 0
    wanted = [n for n in args.only.split(",") if n]
    unknown = [n for n in wanted if n not in {name for name, _, _, _ in PROBES}]
    if unknown:
        parser.error("unknown probe(s): %s" % ", ".join(unknown))
    for path in (args.roster, args.forge):
        if not os.access(path, os.X_OK):
            sys.stderr.write("chaos: %s is not an executable (build it, or pass --roster / --forge)\n" % path)
            return 1
    if shutil.which("prlimit") is None:
        sys.stderr.write("chaos: prlimit (util-linux) is missing: scripts/install-deps.sh --bench\n")
        return 1

    def on_signal(number, _frame):
        raise KeyboardInterrupt("signal %d" % number)

    signal.signal(signal.SIGTERM, on_signal)
    bench = Bench(os.path.abspath(args.roster), os.path.abspath(args.forge), args.keep)
    rows = []
    errors = []
    started = time.monotonic()
    print("chaos: %s UTC, %d cores, load average %s, roster %s" % (
        time.strftime("%Y-%m-%d %H:%M", time.gmtime()), os.cpu_count(), " ".join(open("/proc/loadavg").read()
                                                                                 .split()[:3]), args.roster))
    try:
        for name, number, bound, function in PROBES:
            if wanted and name not in wanted:
                continue
            row, error = bench.run(name, number, bound, function)
            rows.append(row)
            print_row(row)
            if error:
                errors.append("%s: %s" % (name, error))
    except KeyboardInterrupt:
        sys.stderr.write("chaos: interrupted\n")
        bench.cleanup()
        return 130
    finally:
        bench.cleanup()
    print_table(rows)
    print("total %.0f s; rerun: bench/chaos.sh [--only NAME,...]" % (time.monotonic() - started))
    kept = [path for row in rows for path in row["logs"]]
    if kept:
        print("agent logs of the probes that did not hold: " + " ".join(kept))
    if errors:
        sys.stderr.write("chaos: the bench itself failed in: %s\n" % "; ".join(errors))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
