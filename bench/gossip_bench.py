#!/usr/bin/python3
"""gossip_bench: Roster's gossip pool against HashiCorp Serf, same N, same machine, same run.

For every cluster size N and repetition, runs Serf (Debian's `serf`) and then Roster
(`roster agent`), one after the other, with identical placement: agent i of either
system binds 127.0.1.(i+1) (gossip and API on that address), inside a private network
namespace this script creates (`unshare -n`, root) so the loopback counters hold only
the benchmark's traffic. Without root it stays in the host namespace (same addresses;
the loopback byte figure then includes other traffic and is marked so).

Each repetition measures, with the same driver for both systems:
  1. join convergence   all N started; agents 1..N-1 join agent 0 (all at once through
                        16 workers, or paced with --join-rate); time until every agent
                        lists all N alive
  2. idle footprint     after --settle s, over an idle window (default max(30 s, the
                        push/pull interval at N)): VmRSS per agent (median), CPU per agent
                        (utime+stime / window), loopback tx bytes / window / N
  3. tag propagation    `serf tags -set role=db` / `roster tag set role=db` on agent 1;
                        time until every other agent shows it
  4. failure detection  kill -9 of agent N-1; time until every other agent lists it failed
False `failed` reports while all agents were healthy are counted from the polls and
from the agents' logs (Serf "EventMemberFailed", Roster "gossip: node X failed").

--storm: N agents (default 200) started, then all joins at once; watched for --storm-window s
(default 150): false `failed` events, and whether/when every agent lists all N alive.

Membership is polled over persistent, pipelined connections: Serf's msgpack RPC (the
client from ../shared/anchors/serf/serfbench.py, imported, not copied) and Roster's
HTTP API (GET /v1/agent/members, HTTP/1.1 keep-alive). Every agent PID is written to
<work>/pids.txt and every agent is killed by PID when its repetition ends (also on error
or SIGTERM); every wait is bounded.

Standard library only; run with /usr/bin/python3 (python3-msgpack speeds up Serf's RPC).
"""
import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ANCHOR_DIR = os.path.normpath(os.path.join(REPO, "..", "shared", "anchors", "serf"))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def now():
    return time.monotonic()


def log(msg):
    sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def proc_cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    fields = data[data.rfind(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM", "Threads"):
                out[k] = int(v.split()[0])
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    out["Pss"] = int(line.split()[1])
    except OSError:
        pass
    return out


def lo_tx_bytes():
    with open("/proc/net/dev") as f:
        for line in f:
            if line.strip().startswith("lo:"):
                v = line.split(":", 1)[1].split()
                return int(v[8])
    return 0


def pushpull_interval(n, base=30.0):
    """memberlist's pushPullScale (Roster scales the same way): x(ceil(log2 N - 5)+1) above 32."""
    if n <= 32:
        return base
    return base * (math.ceil(math.log2(n) - 5) + 1)


def ip_for(i):
    return "127.0.1.%d" % (i + 1)


# --------------------------------------------------------------------------
# Roster's HTTP API over persistent sockets (pipelined: send to all, then read all)
# --------------------------------------------------------------------------
class HttpConn:
    def __init__(self, host, port, timeout=30.0):
        self.host, self.port = host, port
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, method, path):
        req = "%s %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Length: 0\r\n\r\n" % (method, path, self.host, self.port)
        self.sock.sendall(req.encode())

    def _fill(self):
        data = self.sock.recv(1 << 17)
        if not data:
            raise OSError("connection closed")
        self.buf += data

    def recv(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers[k.strip().lower()] = v.strip()
        self.buf = rest
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                size_line, _, self.buf = self.buf.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    self._fill()
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
                if size == 0:
                    break
        else:
            n = int(headers.get("content-length", "0"))
            while len(self.buf) < n:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n:]
        return status, body

    def call(self, method, path):
        self.send(method, path)
        return self.recv()


# --------------------------------------------------------------------------
# the two systems; a member view is {name: (status, tags)} with status in
# "alive" / "failed" / "left" / other
# --------------------------------------------------------------------------
ROSTER_STATUS = {1: "alive", 2: "leaving", 3: "left", 4: "failed"}


class RosterSystem:
    name = "roster"
    gossip_port = 8301
    http_port = 8500
    failed_log = re.compile(r"gossip: node (\S+) failed")

    def __init__(self, binary):
        self.binary = binary
        self.conns = {}

    def version(self):
        out = subprocess.run([self.binary, "version"], capture_output=True, text=True, timeout=10).stdout
        return out.strip().splitlines()[0] if out.strip() else "roster (version unknown)"

    def command(self, i, name, run_dir):
        data = os.path.join(run_dir, "data", name)
        os.makedirs(data, exist_ok=True)
        cmd = [self.binary, "agent", "-node", name, "-bind", ip_for(i), "-client", ip_for(i),
               "-serf-lan-port", str(self.gossip_port), "-http-port", str(self.http_port),
               "-data-dir", data, "-log-level", "info"]
        for k, v in agent_tags(i):
            cmd += ["-tag", "%s=%s" % (k, v)]
        return cmd, None

    def connect(self, i):
        c = HttpConn(ip_for(i), self.http_port)
        status, _ = c.call("GET", "/v1/agent/self")
        if status != 200:
            c.close()
            raise OSError("agent/self: HTTP %d" % status)
        self.conns[i] = c

    def close(self, i):
        c = self.conns.pop(i, None)
        if c:
            c.close()

    def join(self, i, seed):
        # its own connection, so polling can go on while the join call blocks
        c = HttpConn(ip_for(i), self.http_port, timeout=60.0)
        try:
            status, body = c.call("PUT", "/v1/agent/join/%s:%d" % (ip_for(seed), self.gossip_port))
        finally:
            c.close()
        if status != 200:
            raise RuntimeError("join: HTTP %d %s" % (status, body[:200]))
        return 1

    def send_members(self, i):
        self.conns[i].send("GET", "/v1/agent/members")

    def recv_members(self, i):
        status, body = self.conns[i].recv()
        if status != 200:
            raise RuntimeError("members: HTTP %d" % status)
        return {m["Name"]: (ROSTER_STATUS.get(m["Status"], str(m["Status"])), m.get("Tags") or {})
                for m in json.loads(body)}

    def tag_command(self, i, key, value):
        return [self.binary, "tag", "set", "-http-addr", "%s:%d" % (ip_for(i), self.http_port),
                "%s=%s" % (key, value)]


class SerfSystem:
    name = "serf"
    gossip_port = 7946
    rpc_port = 7373
    failed_log = re.compile(r"EventMemberFailed: (\S+)")

    def __init__(self, binary):
        self.binary = binary
        self.conns = {}
        if ANCHOR_DIR not in sys.path:
            sys.path.insert(0, ANCHOR_DIR)
        import serfbench  # the anchor's msgpack RPC client (../shared/anchors/serf)
        self.rpc_cls = serfbench.SerfRPC

    def version(self):
        out = subprocess.run([self.binary, "version"], capture_output=True, text=True, timeout=10).stdout
        pkg = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "serf"], capture_output=True, text=True).stdout
        return "serf %s (Debian package %s)" % (out.split()[0] if out else "?", pkg or "?")

    def command(self, i, name, run_dir):
        bind = "%s:%d" % (ip_for(i), self.gossip_port)
        cmd = [self.binary, "agent", "-node=" + name, "-bind=" + bind, "-advertise=" + bind,
               "-rpc-addr=%s:%d" % (ip_for(i), self.rpc_port), "-profile=lan", "-log-level=info"]
        for k, v in agent_tags(i):
            cmd += ["-tag", "%s=%s" % (k, v)]
        return cmd, None

    def connect(self, i):
        self.conns[i] = self.rpc_cls("%s:%d" % (ip_for(i), self.rpc_port))

    def close(self, i):
        c = self.conns.pop(i, None)
        if c:
            c.close()

    def join(self, i, seed):
        # its own connection, so polling can go on while the join call blocks
        c = self.rpc_cls("%s:%d" % (ip_for(i), self.rpc_port), timeout=60.0)
        try:
            r = c.call("join", {"Existing": ["%s:%d" % (ip_for(seed), self.gossip_port)], "Replay": False})
        finally:
            c.close()
        if not r or not r.get("Num"):
            raise RuntimeError("join: %r" % (r,))
        return r.get("Num")

    def send_members(self, i):
        self._seq = getattr(self, "_seq", {})
        self._seq[i] = self.conns[i].send("members", None)

    def recv_members(self, i):
        r = self.conns[i].recv("members", self._seq[i])
        return {m["Name"]: (m["Status"], m.get("Tags") or {}) for m in r["Members"]}

    def tag_command(self, i, key, value):
        return [self.binary, "tags", "-rpc-addr=%s:%d" % (ip_for(i), self.rpc_port), "-set", "%s=%s" % (key, value)]


def agent_tags(i):
    return [("az", "z%d" % (i % 3)), ("idx", str(i)), ("role", "web")]


# --------------------------------------------------------------------------
# a cluster of one system's agents
# --------------------------------------------------------------------------
class Cluster:
    def __init__(self, system, n, run_dir, pidfile):
        self.sys = system
        self.n = n
        self.run_dir = run_dir
        self.pidfile = pidfile
        self.names = ["gb%03d" % i for i in range(n)]
        self.procs = [None] * n
        self.logs = [os.path.join(run_dir, "%s.log" % nm) for nm in self.names]
        self.false_failed_polled = 0   # (observer, member) transitions to failed for a live member
        self._failed_seen = set()
        self.live = set(range(n))
        self.reconnects = 0

    def _write_pids(self):
        with open(self.pidfile, "w") as f:
            for i, p in enumerate(self.procs):
                if p is not None and p.poll() is None:
                    f.write("%d %s %s\n" % (p.pid, self.sys.name, self.names[i]))

    def start_all(self, timeout):
        t0 = now()
        for i in range(self.n):
            cmd, env = self.sys.command(i, self.names[i], self.run_dir)
            with open(self.logs[i], "ab") as logf:
                self.procs[i] = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL, start_new_session=True)
        self._write_pids()
        deadline = t0 + timeout
        for i in range(self.n):
            last = None
            while True:
                if self.procs[i].poll() is not None:
                    raise RuntimeError("%s agent %s exited rc=%s (log %s)" %
                                       (self.sys.name, self.names[i], self.procs[i].returncode, self.logs[i]))
                try:
                    self.sys.connect(i)
                    break
                except Exception as e:  # noqa: BLE001 - not ready yet
                    last = e
                if now() > deadline:
                    raise RuntimeError("%s agent %s not ready: %s" % (self.sys.name, self.names[i], last))
                time.sleep(0.05)
        return now() - t0

    def pids(self):
        return [p.pid for i, p in enumerate(self.procs) if i in self.live]

    def kill(self, i):
        p = self.procs[i]
        self.sys.close(i)
        if p is not None and p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
        self.live.discard(i)
        self._write_pids()

    def stop_all(self):
        for i in range(self.n):
            self.sys.close(i)
        for p in self.procs:
            if p is not None and p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            if p is not None:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    log("WARNING: pid %d did not exit" % p.pid)
        self.live.clear()
        self._write_pids()

    def poll(self, watch):
        """One pipelined round: {i: view} for every agent in watch. Also counts false failures."""
        broken = []
        for i in watch:
            try:
                self.sys.send_members(i)
            except OSError:
                broken.append(i)
        views = {}
        for i in watch:
            if i in broken:
                continue
            try:
                views[i] = self.sys.recv_members(i)
            except Exception:  # noqa: BLE001 - e.g. an idle keep-alive connection the agent closed
                broken.append(i)
        for i in broken:  # reconnect once, then ask again on the fresh connection
            self.sys.close(i)
            self.sys.connect(i)
            self.sys.send_members(i)
            views[i] = self.sys.recv_members(i)
        self.reconnects += len(broken)
        live_names = {self.names[j] for j in self.live}
        for i, v in views.items():
            for name, (st, _) in v.items():
                key = (i, name)
                if st == "failed" and name in live_names:
                    if key not in self._failed_seen:
                        self._failed_seen.add(key)
                        self.false_failed_polled += 1
                elif key in self._failed_seen and st != "failed":
                    self._failed_seen.discard(key)
        return views

    def poll_until(self, watch, pred, timeout, interval, label):
        """Polls until pred(view) holds for every agent in watch (each agent is dropped once it holds).
        Returns ({i: time satisfied (monotonic)}, [agents not satisfied])."""
        t_start = now()
        done = {}
        pending = list(watch)
        while pending and now() - t_start < timeout:
            views = self.poll(pending)
            t = now()
            still = []
            for i in pending:
                if pred(views[i]):
                    done[i] = t
                else:
                    still.append(i)
            pending = still
            if pending:
                time.sleep(interval)
        if pending:
            log("  %s: timeout after %.0f s, %d agents not satisfied" % (label, timeout, len(pending)))
        return done, pending

    def log_failed_events(self):
        """(count of failed events for a live member, total failed events) over all agents' logs."""
        live_names = {self.names[j] for j in self.live}
        false_ev = total = 0
        for path in self.logs:
            try:
                with open(path, "r", errors="replace") as f:
                    for line in f:
                        m = self.sys.failed_log.search(line)
                        if m:
                            total += 1
                            if m.group(1) in live_names:
                                false_ev += 1
            except OSError:
                pass
        return false_ev, total


# --------------------------------------------------------------------------
# one repetition for one system
# --------------------------------------------------------------------------
def make_run_dir(args, system, label):
    d = os.path.join(args.work_dir, "%s_%s_%d" % (system.name, label, int(time.time() * 1000)))
    os.makedirs(d, exist_ok=True)
    return d


def join_all(cl, rate, parallel):
    t0 = now()
    errors = []

    def do_join(i):
        try:
            cl.sys.join(i, 0)
        except Exception as e:  # noqa: BLE001
            errors.append("%s: %s" % (cl.names[i], e))

    if rate > 0:
        for k, i in enumerate(range(1, cl.n)):
            time.sleep(max(0.0, t0 + k / rate - now()))
            do_join(i)
    else:
        with ThreadPoolExecutor(max_workers=max(1, min(parallel, cl.n))) as ex:
            list(ex.map(do_join, range(1, cl.n)))
    return t0, now() - t0, errors


def run_rep(args, system, n, rep, join_rate):
    run_dir = make_run_dir(args, system, "n%d_r%d" % (n, rep))
    cl = Cluster(system, n, run_dir, os.path.join(args.work_dir, "pids.txt"))
    res = {"system": system.name, "nodes": n, "rep": rep, "join_rate_per_s": join_rate,
           "loadavg_start": loadavg(), "run_dir": run_dir}
    ival = args.poll_interval
    try:
        res["startup_s"] = cl.start_all(args.start_timeout)
        log("%s N=%d rep=%d: agents up in %.2f s (load %s)" % (system.name, n, rep, res["startup_s"], loadavg()))

        # (1) join convergence
        t0, res["join_calls_s"], errs = join_all(cl, join_rate, 16)
        res["join_errors"] = len(errs)
        if errs:
            log("  join errors: %s" % errs[:3])
        everyone = set(cl.names)

        def all_alive(v):
            return all(v.get(nm, ("", {}))[0] == "alive" for nm in everyone)
        done, pend = cl.poll_until(range(n), all_alive, args.join_timeout, ival, "join")
        per = [t - t0 for t in done.values()]
        res["join_converged_s"] = max(per) if not pend else None
        res["join_median_agent_s"] = median(per)
        res["join_unconverged"] = len(pend)
        log("  join: all %s s (median agent %.3f s, joins issued in %.2f s)" %
            (fmt(res["join_converged_s"]), res["join_median_agent_s"] or -1, res["join_calls_s"]))

        # (2) idle footprint
        time.sleep(args.settle)
        window = args.idle if args.idle > 0 else max(30.0, pushpull_interval(n))
        pids = cl.pids()
        res["loadavg_idle_start"] = loadavg()
        cpu0 = [proc_cpu_ticks(p) for p in pids]
        lo0 = lo_tx_bytes()
        w0 = now()
        time.sleep(window)
        lo1 = lo_tx_bytes()
        cpu1 = [proc_cpu_ticks(p) for p in pids]
        w = now() - w0
        st = [proc_status(p) for p in pids]
        res["idle_window_s"] = w
        res["loadavg_idle_end"] = loadavg()
        res["rss_kib_median"] = median([s["VmRSS"] for s in st])
        res["rss_kib_max"] = max(s["VmRSS"] for s in st)
        res["rss_anon_kib_median"] = median([s.get("RssAnon") for s in st])
        res["rss_file_kib_median"] = median([s.get("RssFile") for s in st])
        res["pss_kib_median"] = median([s.get("Pss") for s in st])
        res["threads_median"] = median([s.get("Threads") for s in st])
        cpu = [(c1 - c0) / CLK_TCK / w * 100.0 for c0, c1 in zip(cpu0, cpu1)]
        res["cpu_pct_median"] = median(cpu)
        res["cpu_pct_mean"] = statistics.mean(cpu)
        res["cpu_pct_total"] = sum(cpu)
        res["lo_tx_Bps_per_agent"] = (lo1 - lo0) / w / n
        log("  idle %.0f s: RSS med %.1f MiB (anon %.1f), CPU med %.2f%% (mean %.2f%%), lo %.0f B/s/agent" %
            (w, res["rss_kib_median"] / 1024, (res["rss_anon_kib_median"] or 0) / 1024,
             res["cpu_pct_median"], res["cpu_pct_mean"], res["lo_tx_Bps_per_agent"]))

        # Roster's HTTP server closes keep-alive connections idle for longer than its idle timeout:
        # open fresh connections to every agent (both systems) before the timed phases.
        for i in sorted(cl.live):
            system.close(i)
            system.connect(i)

        # (3) tag propagation on agent 1
        setter = 1 if n > 2 else 0
        others = [i for i in range(n) if i != setter]
        setter_name = cl.names[setter]
        tag_ret = {}

        def set_tag():
            try:
                r = subprocess.run(system.tag_command(setter, args.tag_key, args.tag_value),
                                   capture_output=True, text=True, timeout=60)
                if r.returncode != 0:
                    tag_ret["error"] = (r.stdout + r.stderr).strip()[:300]
            except Exception as e:  # noqa: BLE001
                tag_ret["error"] = str(e)
            tag_ret["t"] = now()

        th = threading.Thread(target=set_tag)
        t0 = now()
        th.start()

        def has_tag(v):
            return v.get(setter_name, ("", {}))[1].get(args.tag_key) == args.tag_value
        done, pend = cl.poll_until(others, has_tag, args.tag_timeout, ival, "tag")
        th.join(timeout=65)
        per = [t - t0 for t in done.values()]
        res["tag_propagated_s"] = max(per) if not pend else None
        res["tag_median_agent_s"] = median(per)
        res["tag_cmd_returned_s"] = tag_ret["t"] - t0 if "t" in tag_ret else None
        if "error" in tag_ret:
            res["tag_error"] = tag_ret["error"]
        log("  tag: all %s s (median agent %.3f s, command returned %s s)%s" %
            (fmt(res["tag_propagated_s"]), res["tag_median_agent_s"] or -1, fmt(res["tag_cmd_returned_s"]),
             " ERROR " + tag_ret["error"] if "error" in tag_ret else ""))

        # false failures while every agent was alive
        time.sleep(args.pre_kill_pause)
        cl.poll(range(n))
        res["false_failed_polled"] = cl.false_failed_polled
        res["false_failed_log_events"] = cl.log_failed_events()[0]

        # (4) failure detection: kill -9 agent N-1
        victim = n - 1
        vname = cl.names[victim]
        watchers = [i for i in range(n) if i != victim]
        t0 = now()
        cl.kill(victim)
        done, pend = cl.poll_until(watchers, lambda v: v.get(vname, ("", {}))[0] == "failed",
                                   args.fail_timeout, ival, "failure")
        per = [t - t0 for t in done.values()]
        res["fail_detected_all_s"] = max(per) if not pend else None
        res["fail_first_agent_s"] = min(per) if per else None
        res["fail_median_agent_s"] = median(per)
        res["fail_undetected"] = len(pend)
        log("  failure: all %s s (first %.2f, median %.2f)" %
            (fmt(res["fail_detected_all_s"]), res["fail_first_agent_s"] or -1, res["fail_median_agent_s"] or -1))
    except Exception as e:  # noqa: BLE001
        res["error"] = "%s: %s" % (type(e).__name__, e)
        log("ERROR %s N=%d rep=%d: %s" % (system.name, n, rep, res["error"]))
    finally:
        res["loadavg_end"] = loadavg()
        res["poll_reconnects"] = cl.reconnects
        cl.stop_all()
        if not args.keep_logs and "error" not in res:
            shutil.rmtree(run_dir, ignore_errors=True)
    with open(os.path.join(args.out, "%s_n%d_r%d.json" % (system.name, n, rep)), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    return res


def run_storm(args, system, n):
    """All n agents started, then all joins at once; watched for args.storm_window seconds."""
    run_dir = make_run_dir(args, system, "storm_n%d" % n)
    cl = Cluster(system, n, run_dir, os.path.join(args.work_dir, "pids.txt"))
    res = {"system": system.name, "nodes": n, "mode": "storm", "window_s": args.storm_window,
           "loadavg_start": loadavg(), "run_dir": run_dir}
    max_load = [0.0]
    try:
        res["startup_s"] = cl.start_all(args.start_timeout)
        log("%s storm N=%d: agents up in %.2f s (load %s)" % (system.name, n, res["startup_s"], loadavg()))
        joiner = {}

        def joins():
            joiner["r"] = join_all(cl, 0, args.storm_parallel)
        th = threading.Thread(target=joins)
        t0 = now()
        th.start()
        converged_at = {}      # agent -> first time it listed all n alive
        all_conv_at = None     # first time every agent listed all n alive in one round
        rounds = 0
        everyone = set(cl.names)
        stuck = list(range(n))
        while now() - t0 < args.storm_window:
            views = cl.poll(range(n))
            rounds += 1
            t = now() - t0
            stuck = []
            for i, v in views.items():
                if all(v.get(nm, ("", {}))[0] == "alive" for nm in everyone):
                    converged_at.setdefault(i, t)
                else:
                    stuck.append(i)
            if not stuck and all_conv_at is None:
                all_conv_at = t
                log("  storm: all %d agents list all %d alive at %.1f s" % (n, n, t))
            max_load[0] = max(max_load[0], float(loadavg().split()[0]))
            time.sleep(args.poll_interval if all_conv_at is None else 1.0)
        th.join(timeout=60)
        _, jcalls, errs = joiner.get("r", (0, None, ["joins did not return"]))
        res["join_calls_s"] = jcalls
        res["join_errors"] = len(errs)
        res["poll_rounds"] = rounds
        res["all_converged_s"] = all_conv_at
        res["converged_agents"] = len(converged_at)
        res["not_converged_at_end"] = len(stuck)
        res["agent_converged_median_s"] = median(list(converged_at.values()))
        res["false_failed_polled"] = cl.false_failed_polled
        res["false_failed_log_events"], _ = cl.log_failed_events()
        res["max_loadavg_1m"] = max_load[0]
        log("  storm: joins issued in %s s (%d errors); all converged at %s s; not converged at end %d/%d; "
            "false failed: %d observed in polls, %d log events; max load %.1f" %
            (fmt(jcalls), len(errs), fmt(all_conv_at), len(stuck), n, cl.false_failed_polled,
             res["false_failed_log_events"], max_load[0]))
    except Exception as e:  # noqa: BLE001
        res["error"] = "%s: %s" % (type(e).__name__, e)
        log("ERROR %s storm: %s" % (system.name, res["error"]))
    finally:
        res["loadavg_end"] = loadavg()
        res["poll_reconnects"] = cl.reconnects
        cl.stop_all()
        if not args.keep_logs and "error" not in res:
            shutil.rmtree(run_dir, ignore_errors=True)
    with open(os.path.join(args.out, "%s_storm_n%d.json" % (system.name, n)), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    return res


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------
def fmt(x, spec="%.2f"):
    return "n/a" if x is None else spec % x


ROWS = [  # key, label, unit/format, lower is better
    ("join_converged_s", "join convergence, all agents (s)", "s"),
    ("join_median_agent_s", "join convergence, median agent (s)", "s"),
    ("tag_propagated_s", "tag propagation to all (s)", "s"),
    ("tag_median_agent_s", "tag propagation, median agent (s)", "s"),
    ("fail_detected_all_s", "failure seen by all (s)", "s"),
    ("fail_first_agent_s", "failure seen by the first agent (s)", "s"),
    ("fail_median_agent_s", "failure seen, median agent (s)", "s"),
    ("rss_kib_median", "RSS per agent, median VmRSS (MiB)", "mib"),
    ("rss_anon_kib_median", "  of which anonymous (MiB)", "mib"),
    ("pss_kib_median", "PSS per agent (MiB)", "mib"),
    ("cpu_pct_median", "idle CPU per agent, median (% of a core)", "pct"),
    ("cpu_pct_mean", "idle CPU per agent, mean (% of a core)", "pct"),
    ("lo_tx_Bps_per_agent", "loopback bytes/s per agent (idle window)", "bps"),
    ("false_failed_log_events", "false 'failed' events while healthy (logs)", "int"),
]


def cell(key, vals, unit):
    md = median(vals)
    if md is None:
        return "n/a", None
    if unit == "mib":
        return "%.1f" % (md / 1024.0), md
    if unit == "pct":
        return "%.2f" % md, md
    if unit in ("bps", "int"):
        return "%.0f" % md, md
    if len([v for v in vals if v is not None]) > 1:
        return "%.2f [%s]" % (md, " ".join("%.2f" % v for v in vals if v is not None)), md
    return "%.2f" % md, md


def report(results, header):
    lines = header[:]
    sizes = sorted({r["nodes"] for r in results if r.get("mode") != "storm"})
    for n in sizes:
        rs = [r for r in results if r["nodes"] == n and r.get("mode") != "storm"]
        reps = {s: len([r for r in rs if r["system"] == s]) for s in ("serf", "roster")}
        jr = rs[0].get("join_rate_per_s") or 0
        lines.append("")
        lines.append("### N=%d (%s; medians of %d Serf / %d Roster repetitions)" %
                     (n, "joins paced %g/s" % jr if jr else "all joins at once", reps["serf"], reps["roster"]))
        lines.append("")
        lines.append("| metric | Serf | Roster | Roster/Serf |")
        lines.append("|---|---|---|---|")
        for key, label, unit in ROWS:
            sv = [r.get(key) for r in rs if r["system"] == "serf"]
            rv = [r.get(key) for r in rs if r["system"] == "roster"]
            sc, sm = cell(key, sv, unit)
            rc, rm = cell(key, rv, unit)
            ratio = "%.2f" % (rm / sm) if sm and rm is not None and unit != "int" else "–"
            lines.append("| %s | %s | %s | %s |" % (label, sc, rc, ratio))
        errs = ["%s r%s: %s" % (r["system"], r["rep"], r["error"]) for r in rs if r.get("error")]
        if errs:
            lines.append("")
            lines.append("errors: " + "; ".join(errs))
        loads = ["%s r%d %s" % (r["system"], r["rep"], r.get("loadavg_start")) for r in rs]
        lines.append("")
        lines.append("load average at start (1/5/15 min): " + "; ".join(loads))
    storms = [r for r in results if r.get("mode") == "storm"]
    if storms:
        lines.append("")
        lines.append("### Join storm: N started, all joins at once, watched %ds" % storms[0]["window_s"])
        lines.append("")
        lines.append("| system | N | joins issued (s) | all converged at (s) | not converged at end | "
                     "false failed (polls) | false failed (log events) | max load |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for r in storms:
            lines.append("| %s | %d | %s | %s | %s | %s | %s | %s |" % (
                r["system"], r["nodes"], fmt(r.get("join_calls_s")), fmt(r.get("all_converged_s")),
                r.get("not_converged_at_end", "n/a"), r.get("false_failed_polled", "n/a"),
                r.get("false_failed_log_events", "n/a"), fmt(r.get("max_loadavg_1m"), "%.0f")))
            if r.get("error"):
                lines.append("")
                lines.append("error (%s): %s" % (r["system"], r["error"]))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--nodes", type=int, nargs="+", default=[10, 50], help="cluster sizes")
    ap.add_argument("-r", "--reps", type=int, default=3, help="repetitions per size and system")
    ap.add_argument("--systems", default="serf,roster", help="comma list: serf, roster (run in that order)")
    ap.add_argument("--roster", default=os.path.join(REPO, "build-bench", "agent", "roster"))
    ap.add_argument("--serf", default=shutil.which("serf") or "/usr/bin/serf")
    ap.add_argument("--join-rate", type=float, default=0.0,
                    help="joins per second, one at a time (0 = all at once through 16 workers); "
                         "applies to N >= --pace-from")
    ap.add_argument("--pace-from", type=int, default=200, help="smallest N whose joins are paced")
    ap.add_argument("--poll-interval", type=float, default=0.01)
    ap.add_argument("--settle", type=float, default=35.0, help="pause after join before the idle window (s)")
    ap.add_argument("--idle", type=float, default=0.0,
                    help="idle window (s); 0 = max(30, push/pull interval at N)")
    ap.add_argument("--tag-key", default="role")
    ap.add_argument("--tag-value", default="db")
    ap.add_argument("--pre-kill-pause", type=float, default=1.0)
    ap.add_argument("--start-timeout", type=float, default=120.0)
    ap.add_argument("--join-timeout", type=float, default=200.0)
    ap.add_argument("--tag-timeout", type=float, default=60.0)
    ap.add_argument("--fail-timeout", type=float, default=90.0)
    ap.add_argument("--storm", action="store_true", help="join-storm mode instead of the matrix")
    ap.add_argument("--storm-window", type=float, default=150.0)
    ap.add_argument("--storm-parallel", type=int, default=16, help="concurrent join calls in the storm")
    ap.add_argument("--work-dir", default="/tmp/gossip_bench", help="agent logs, data dirs, pids.txt")
    ap.add_argument("--out", default="", help="result JSON + summary.md (default <work-dir>/results_<time>)")
    ap.add_argument("--keep-logs", action="store_true")
    ap.add_argument("--no-netns", action="store_true", help="stay in the host network namespace")
    ap.add_argument("--cleanup", metavar="PIDFILE", help="kill the agents listed in PIDFILE and exit")
    ap.add_argument("--summarize", metavar="DIR", nargs="+",
                    help="print one report from the result JSON files in DIR(s) and exit")
    args = ap.parse_args()

    if args.cleanup:
        print("killed %d" % cleanup(args.cleanup))
        return 0
    if args.summarize:
        results = []
        for d in args.summarize:
            for fn in sorted(os.listdir(d)):
                if fn.endswith(".json"):
                    with open(os.path.join(d, fn)) as f:
                        results.append(json.load(f))
        print(report(results, ["## gossip_bench results from %s" % ", ".join(args.summarize)]))
        return 0

    if not args.no_netns and not os.environ.get("GOSSIPBENCH_IN_NETNS"):
        if os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip"):
            env = dict(os.environ, GOSSIPBENCH_IN_NETNS="1", GOSSIPBENCH_ARGV=" ".join(sys.argv[1:]))
            cmd = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"',
                   sys.executable, os.path.abspath(__file__)] + sys.argv[1:]
            os.execvpe("unshare", cmd, env)
        log("not root (or no unshare/ip): staying in the host network namespace; "
            "loopback bytes include other traffic")
    netns = bool(os.environ.get("GOSSIPBENCH_IN_NETNS"))

    os.makedirs(args.work_dir, exist_ok=True)
    if not args.out:
        args.out = os.path.join(args.work_dir, "results_%s" % time.strftime("%Y%m%d_%H%M%S"))
    os.makedirs(args.out, exist_ok=True)

    systems = []
    for s in args.systems.split(","):
        if s == "serf":
            if not os.access(args.serf, os.X_OK):
                sys.exit("serf not found: apt-get install -y serf (or scripts/install-deps.sh --bench)")
            systems.append(SerfSystem(args.serf))
        elif s == "roster":
            if not os.access(args.roster, os.X_OK):
                sys.exit("roster binary not found at %s (build: bench/gossip_bench.sh builds it)" % args.roster)
            systems.append(RosterSystem(args.roster))
        else:
            sys.exit("unknown system %r" % s)

    clusters = []

    def on_term(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_term)

    rerun = "bench/gossip_bench.sh " + (os.environ.get("GOSSIPBENCH_ARGV") or " ".join(sys.argv[1:]))
    header = ["## gossip_bench %s" % time.strftime("%Y-%m-%d %H:%M:%S %Z"),
              "",
              "- command: `%s`" % rerun.strip(),
              "- machine: %d CPUs, %s; load average at start %s; uptime: %s" % (
                  os.cpu_count(), mem_total(), loadavg(),
                  subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()),
              "- systems: %s" % "; ".join(s.version() for s in systems),
              "- placement: agent i on 127.0.1.(i+1), %s; systems run one after the other" %
              ("private network namespace (loopback only)" if netns else "host network namespace"),
              "- bytes/s: loopback tx bytes (IP+UDP/TCP headers included) over the idle window / N",
              "- settle %.0f s, idle window %s, poll interval %.0f ms" % (
                  args.settle, "%.0f s" % args.idle if args.idle else "max(30 s, push/pull interval)",
                  args.poll_interval * 1000)]
    results = []
    try:
        if args.storm:
            for n in args.nodes:
                for s in systems:
                    results.append(run_storm(args, s, n))
        else:
            for n in args.nodes:
                rate = args.join_rate if n >= args.pace_from else 0.0
                for rep in range(1, args.reps + 1):
                    for s in systems:
                        results.append(run_rep(args, s, n, rep, rate))
    except KeyboardInterrupt:
        log("interrupted: agents of the running repetition were killed by PID")
    finally:
        pidfile = os.path.join(args.work_dir, "pids.txt")
        if os.path.exists(pidfile):
            cleanup(pidfile)
    text = report(results, header)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(text)
    print(text)
    print("results: %s" % args.out)
    return 0


def mem_total():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return "%.0f GiB RAM" % (int(line.split()[1]) / 1024.0 / 1024.0)
    return "?"


def cleanup(pidfile):
    """Kills the agents listed in pidfile, by PID, if the PID still runs a serf/roster agent."""
    killed = 0
    with open(pidfile) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            pid = int(parts[0])
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as c:
                    cmd = c.read().split(b"\0")
            except OSError:
                continue
            if len(cmd) > 1 and os.path.basename(cmd[0]) in (b"serf", b"roster") and cmd[1] == b"agent":
                os.kill(pid, signal.SIGKILL)
                killed += 1
    return killed


if __name__ == "__main__":
    sys.exit(main())
