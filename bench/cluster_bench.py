#!/usr/bin/env python3
"""The cluster catalog against etcd 3.4: a 3-server Roster cluster and a 3-member etcd
cluster, one after the other in the same run, data on the same disk. Run it through
bench/cluster_bench.sh, which builds the Release binary first.

  python3 bench/cluster_bench.py --roster-bin build/release-bench/agent/roster [--quick]

Roster is driven by bench/roster_loadgen.py (HTTP/1.1 keep-alive, PUT /v1/kv/<k>); etcd by
the anchor's loadgen.py (its v3 JSON gateway, the same asyncio design) and by goload (gRPC).
Both Python drivers use the same number of worker processes (min(clients, 2)). Keys are 8 B,
values 256 B, every load goes to the leader. Measured, in this order, on each side:
  idle RSS -> FILL distinct keys with 64 clients (write_bytes from /proc/<pid>/io and the data
  directories' growth, per put; RSS after) -> 2000 sequential puts -> put throughput at 1, 16,
  64, 256 clients -> ?consistent / linearizable and ?stale / serializable reads at 64 clients
  -> 3 leader kills (kill -9; ms until the survivors agree on a new leader, and until a put
  through a survivor succeeds; the killed one restarted in between). Roster's side also runs
  one client agent joined to the cluster, for its idle RSS.
Every process is started here and killed by its PID on exit (try/finally, SIGTERM too).
Writes bench/results/cluster-<ts>.md and .json.
"""
import argparse
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ANCHOR = os.environ.get("ETCD_ANCHOR", os.path.join(ROOT, "..", "shared", "anchors", "etcd"))
if not os.path.isdir(ANCHOR):
    ANCHOR = "/work/shared/anchors/etcd"
sys.path.insert(0, ANCHOR)
sys.path.insert(0, os.path.join(ROOT, "tests", "clients"))
sys.dont_write_bytecode = True
from cluster import Cluster  # noqa: E402  (the etcd anchor)
from run_all import failover_once as etcd_failover_once  # noqa: E402
from run_all import fsync_probe  # noqa: E402
from roster_cluster import RosterCluster  # noqa: E402
import roster_process  # noqa: E402
from bench_common import CPUS, commit_label, log, loadavg, rss_kib, run_json, write_results  # noqa: E402

GOLOAD = os.environ.get("GOLOAD", "/tmp/etcd-anchor-goload/goload")
PY = sys.executable


def free_tcp_port(taken):
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port not in taken:
            taken.add(port)
            return port


def procs_for(clients):
    return max(1, min(clients, CPUS))


def roster_load(ep, op, clients, duration=None, total=None, prefix="p", max_duration=120):
    cmd = [PY, os.path.join(HERE, "roster_loadgen.py"), "--endpoint", ep, "--op", op,
           "--clients", str(clients), "--procs", str(procs_for(clients)), "--prefix", prefix]
    cmd += ["--total", str(total), "--max-duration", str(max_duration)] if total else ["--duration", str(duration)]
    return run_json(cmd, timeout=(max_duration if total else duration) + 60)


def etcd_pyload(ep, op, clients, duration=None, total=None, prefix="p", max_duration=120):
    # The anchor's loadgen has no time bound on --total runs: the subprocess timeout is it.
    cmd = [PY, os.path.join(ANCHOR, "loadgen.py"), "--endpoint", ep, "--op", op,
           "--clients", str(clients), "--procs", str(procs_for(clients)), "--prefix", prefix]
    cmd += ["--total", str(total)] if total else ["--duration", str(duration)]
    return run_json(cmd, timeout=(max_duration if total else duration) + 30)


def etcd_goload(ep, op, clients, duration=None, total=None, prefix="g", max_duration=120):
    cmd = [GOLOAD, "--endpoints", ep, "--op", op, "--clients", str(clients),
           "--conns", str(min(clients, 8)), "--prefix", prefix]
    cmd += ["--total", str(total)] if total else ["--duration", f"{duration}s"]
    return run_json(cmd, timeout=(max_duration if total else duration) + 30)


def io_write_bytes(pid):
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def dir_bytes(path):
    """(apparent size, allocated bytes) of every file under path."""
    size = alloc = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            size += st.st_size
            alloc += st.st_blocks * 512
    return size, alloc


def fill_and_measure(pids, dirs, load, total, max_duration):
    """Writes `total` distinct keys with 64 clients; returns the load result and the disk bytes
    written per put (write_bytes of every server, and the data directories' growth)."""
    wb0 = {name: io_write_bytes(pid) for name, pid in pids.items()}
    d0 = [dir_bytes(d) for d in dirs]
    res = load(total=total, max_duration=max_duration)
    time.sleep(1.0)  # let followers apply the tail
    wb1 = {name: io_write_bytes(pid) for name, pid in pids.items()}
    d1 = [dir_bytes(d) for d in dirs]
    n = res.get("ops") or 0
    out = {"load": res, "puts": n}
    if n:
        per = {name: (wb1[name] - wb0[name]) / n for name in pids if wb0[name] is not None and wb1[name] is not None}
        out["write_bytes_per_put"] = per
        out["write_bytes_per_put_cluster"] = sum(per.values())
        out["dir_apparent_growth_per_put"] = sum(b[0] - a[0] for a, b in zip(d0, d1)) / n
        out["dir_alloc_growth_per_put"] = sum(b[1] - a[1] for a, b in zip(d0, d1)) / n
    out["dir_apparent_bytes_after"] = sum(b[0] for b in d1)
    return out


# ---------------------------------------------------------------- Roster


def roster_leader_addr(agent):
    return agent.get_json("/v1/status/leader", timeout=0.3)


def roster_failover_once(cluster):
    old = cluster.wait_for_leader(timeout=30)
    old_addr = cluster.server_address(old)
    survivors = [s for s in cluster.servers if s is not old and s.running()]
    res = {}

    def writer():
        k = 0
        while "write_ms" not in res and time.perf_counter() - t0 < 20:
            server = survivors[k % len(survivors)]
            k += 1
            try:
                status, _, body = server.request("PUT", f"/v1/kv/fo{k:06d}", "x", timeout=0.5)
                if status == 200 and body == b"true":
                    res["write_ms"] = (time.perf_counter() - t0) * 1e3
                    return
                time.sleep(0.005)
            except Exception:  # noqa: BLE001
                time.sleep(0.005)

    t0 = time.perf_counter()
    old.kill()
    th = threading.Thread(target=writer)
    th.start()
    while time.perf_counter() - t0 < 20:
        answers = set()
        for s in survivors:
            try:
                answers.add(roster_leader_addr(s))
            except Exception:  # noqa: BLE001
                answers.add("?")
        if len(answers) == 1:
            addr = answers.pop()
            if addr not in ("", "?", old_addr):
                res["leader_ms"] = (time.perf_counter() - t0) * 1e3
                break
        time.sleep(0.005)
    th.join()
    cluster.start_agent(old)  # same data dir, ports
    roster_process.wait_for(lambda: cluster.leader() is not None and old.get_json("/v1/status/leader") ==
                            cluster.server_address(cluster.leader()), 60, f"{old.node} to rejoin")
    time.sleep(1.0)
    return res


def bench_roster(binary, a, scratch, results):
    tempfile.tempdir = scratch  # RosterCluster's data dirs and the agents' logs go there
    # 256 load connections come from one address (127.0.0.1): lift the per-client-IP connection
    # limit (limits.http_max_conns_per_client, 200 by default) as etcd has none.
    cluster = RosterCluster(binary, servers=3, clients=1, prefix="cb", log_level="info",
                            extra_config="limits:\n  http_max_conns_per_client: 0\n")
    r = results["roster"] = {"data_root": cluster.root}
    try:
        cluster.start(timeout=90)
        leader = cluster.wait_for_leader(timeout=30)
        time.sleep(3.0)
        r["rss_idle_kib"] = {s.node: rss_kib(s.process.pid) for s in cluster.servers}
        r["client_rss_idle_kib"] = rss_kib(cluster.clients[0].process.pid)
        log(f"  idle RSS: servers {r['rss_idle_kib']}, client {r['client_rss_idle_kib']} KiB")
        leader = cluster.wait_for_leader(timeout=30)
        ep = leader.address
        r["leader"] = leader.node
        pids = {s.node: s.process.pid for s in cluster.servers}
        dirs = [s.data_dir for s in cluster.servers]
        r["fill"] = fill_and_measure(pids, dirs, lambda total, max_duration: roster_load(
            ep, "put", 64, total=total, prefix="f", max_duration=max_duration), a.fill, a.fill_max)
        r["rss_after_fill_kib"] = {s.node: rss_kib(s.process.pid) for s in cluster.servers}
        log(f"  fill: {summ(r['fill']['load'])}; {r['fill'].get('write_bytes_per_put_cluster', 0):.0f} "
            f"write_bytes/put (3 servers); RSS after {r['rss_after_fill_kib']}")
        loads = r["loads"] = {}
        loads["seq-put"] = roster_load(ep, "put", 1, total=a.seq_n, prefix="s", max_duration=120)
        log(f"  seq-put: {summ(loads['seq-put'])}")
        for n in a.clients:
            loads[f"put-c{n}"] = roster_load(ep, "put", n, duration=a.duration, prefix=f"w{n}")
            log(f"  put-c{n}: {summ(loads[f'put-c{n}'])}")
        loads["get-c-c64"] = roster_load(ep, "get-c", 64, duration=a.duration)
        log(f"  get ?consistent c64: {summ(loads['get-c-c64'])}")
        loads["get-s-c64"] = roster_load(ep, "get-s", 64, duration=a.duration)
        log(f"  get ?stale c64: {summ(loads['get-s-c64'])}")
        r["rss_after_load_kib"] = {s.node: rss_kib(s.process.pid) for s in cluster.servers}
        r["client_rss_end_kib"] = rss_kib(cluster.clients[0].process.pid)
        r["failover"] = []
        for _ in range(a.kills):
            r["failover"].append(roster_failover_once(cluster))
            log(f"  failover: {r['failover'][-1]}")
    finally:
        for agent in cluster.agents:
            agent.kill()  # SIGKILL by PID; nothing to flush
        shutil.rmtree(cluster.root, ignore_errors=True)


# ---------------------------------------------------------------- etcd


class FreePortCluster(Cluster):
    """The anchor's Cluster on ports found free by binding port 0 (it uses fixed ones)."""

    def __init__(self, members, root):
        super().__init__(members, 0, root, name_prefix="b")
        taken = set()
        self.ports = [(free_tcp_port(taken), free_tcp_port(taken), free_tcp_port(taken)) for _ in range(members)]

    def client_port(self, i):
        return self.ports[i][0]

    def peer_port(self, i):
        return self.ports[i][1]

    def check_ports(self):
        pass

    def start_member(self, i, initial_cluster=None):
        ic = initial_cluster or ",".join(
            f"{self.names[j]}=http://127.0.0.1:{self.peer_port(j)}" for j in range(self.n))
        cu = f"http://127.0.0.1:{self.client_port(i)}"
        pu = f"http://127.0.0.1:{self.peer_port(i)}"
        args = ["/usr/bin/etcd", "--name", self.names[i], "--data-dir", self.data_dir(i),
                "--listen-client-urls", cu, "--advertise-client-urls", cu,
                "--listen-peer-urls", pu, "--initial-advertise-peer-urls", pu,
                "--initial-cluster", ic, "--initial-cluster-token", "cb-" + os.path.basename(self.root),
                "--initial-cluster-state", "new",
                "--listen-metrics-urls", f"http://127.0.0.1:{self.ports[i][2]}",
                "--log-level", "warn", "--logger", "zap"] + self.extra
        with open(os.path.join(self.root, f"m{i}.log"), "ab") as out:
            self.procs[i] = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._write_pids()


def bench_etcd(a, scratch, results):
    c = FreePortCluster(3, os.path.join(scratch, "etcd"))
    r = results["etcd"] = {"data_root": c.root}
    try:
        c.start()
        c.wait_healthy()
        time.sleep(3.0)
        r["rss_idle_kib"] = c.rss()
        li = c.leader_index()
        ep = f"127.0.0.1:{c.client_port(li)}"
        r["leader"] = c.names[li]
        log(f"  idle RSS: {r['rss_idle_kib']} KiB")
        pids = {c.names[i]: c.procs[i].pid for i in range(c.n)}
        dirs = [c.data_dir(i) for i in range(c.n)]
        r["fill"] = fill_and_measure(pids, dirs, lambda total, max_duration: etcd_pyload(
            ep, "put", 64, total=total, prefix="f", max_duration=max_duration), a.fill, a.fill_max)
        r["rss_after_fill_kib"] = c.rss()
        log(f"  fill (JSON gateway): {summ(r['fill']['load'])}; "
            f"{r['fill'].get('write_bytes_per_put_cluster', 0):.0f} write_bytes/put (3 members); RSS after {r['rss_after_fill_kib']}")
        loads = r["loads"] = {}
        loads["seq-put-py"] = etcd_pyload(ep, "put", 1, total=a.seq_n, prefix="q", max_duration=120)
        loads["seq-put"] = etcd_goload(ep, "put", 1, total=a.seq_n, prefix="s", max_duration=120)
        log(f"  seq-put: JSON {summ(loads['seq-put-py'])}; gRPC {summ(loads['seq-put'])}")
        for n in a.clients:
            loads[f"put-c{n}-py"] = etcd_pyload(ep, "put", n, duration=a.duration, prefix=f"x{n}")
            loads[f"put-c{n}"] = etcd_goload(ep, "put", n, duration=a.duration, prefix=f"w{n}")
            log(f"  put-c{n}: JSON {summ(loads[f'put-c{n}-py'])}; gRPC {summ(loads[f'put-c{n}'])}")
        for op in ("get-l", "get-s"):
            loads[f"{op}-c64-py"] = etcd_pyload(ep, op, 64, duration=a.duration)
            loads[f"{op}-c64"] = etcd_goload(ep, op, 64, duration=a.duration)
            log(f"  {op} c64: JSON {summ(loads[f'{op}-c64-py'])}; gRPC {summ(loads[f'{op}-c64'])}")
        r["rss_after_load_kib"] = c.rss()
        r["failover"] = []
        for _ in range(a.kills):
            r["failover"].append(etcd_failover_once(c))
            log(f"  failover: {r['failover'][-1]}")
    finally:
        c.stop(wipe=True)  # SIGKILL to exactly the PIDs it started


# ---------------------------------------------------------------- report


def summ(v):
    if not v or "error" in v:
        return f"ERROR {v.get('error') if v else 'missing'}"
    s = f"{v['ops_per_s']:.0f} op/s p50 {v['p50_ms']:.2f} p99 {v['p99_ms']:.2f} ms ({v['ops']} ops"
    return s + (f", {v['errors']} errors: {v.get('first_err', '')[:80]!r})" if v.get("errors") else ")")


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_load(v):
    if not v or "error" in v:
        return "error"
    return f"{v['ops_per_s']:.0f}/s (p50 {v['p50_ms']:.2f}, p99 {v['p99_ms']:.1f} ms)"


def ratio(a, b):
    return f"{a / b:.2f}×" if a is not None and b else "–"


def report(results, a):
    env = results["env"]
    ro, et = results.get("roster", {}), results.get("etcd", {})
    rl, el = ro.get("loads", {}), et.get("loads", {})
    rows = []

    def ops(v):
        return v.get("ops_per_s") if v and "error" not in v else None

    def lat(v, k):
        return v.get(k) if v and "error" not in v else None

    # sequential puts: latency, lower is better
    for k, name in (("p50_ms", "p50"), ("p99_ms", "p99")):
        rv, ej, eg = lat(rl.get("seq-put"), k), lat(el.get("seq-put-py"), k), lat(el.get("seq-put"), k)
        rows.append((f"{a.seq_n} sequential puts, {name} ms (lower is better)",
                     f"{rv:.2f}" if rv is not None else "error", f"{ej:.2f}" if ej is not None else "error",
                     f"{eg:.2f}" if eg is not None else "error", ratio(rv, ej), ratio(rv, eg)))
    for n in a.clients:
        rv, ej, eg = rl.get(f"put-c{n}"), el.get(f"put-c{n}-py"), el.get(f"put-c{n}")
        rows.append((f"put, {n} clients, {a.duration:g} s", fmt_load(rv), fmt_load(ej), fmt_load(eg),
                     ratio(ops(rv), ops(ej)), ratio(ops(rv), ops(eg))))
    for rk, ek, name in (("get-c-c64", "get-l-c64", "?consistent vs linearizable read, 64 clients"),
                         ("get-s-c64", "get-s-c64", "?stale vs serializable read, 64 clients")):
        rv, ej, eg = rl.get(rk), el.get(ek + "-py"), el.get(ek)
        rows.append((name, fmt_load(rv), fmt_load(ej), fmt_load(eg), ratio(ops(rv), ops(ej)), ratio(ops(rv), ops(eg))))

    def fo(side, key):
        xs = [x.get(key) for x in side.get("failover", [])]
        vals = [x for x in xs if x is not None]
        if not vals:
            return None, "error"
        miss = len(xs) - len(vals)
        return med(vals), f"{med(vals):.0f} ({min(vals):.0f}–{max(vals):.0f})" + (f", {miss} timed out" if miss else "")
    for key, name in (("leader_ms", "failover: new leader agreed, ms, median (min–max)"),
                      ("write_ms", "failover: first put through a survivor, ms")):
        rv, rs = fo(ro, key)
        ev, es = fo(et, key)
        rows.append((name + f", {a.kills} kills (lower is better)", rs, es, "(same)", ratio(rv, ev), ""))

    def mib_max(d):
        vals = [v for v in (d or {}).values() if v]
        return (max(vals) / 1024) if vals else None

    def mib_range(d):
        vals = [v / 1024 for v in (d or {}).values() if v]
        return f"{min(vals):.1f}–{max(vals):.1f}" if vals else "error"
    fill_n = a.fill
    for key, name in (("rss_idle_kib", "server RSS idle, MiB (max of 3)"),
                      ("rss_after_fill_kib", f"server RSS after {fill_n:,} keys written, MiB"),
                      ("rss_after_load_kib", "server RSS after all the loads, MiB")):
        rows.append((name + " (lower is better)", mib_range(ro.get(key)), mib_range(et.get(key)), "(same)",
                     ratio(mib_max(ro.get(key)), mib_max(et.get(key))), ""))
    rf, ef = ro.get("fill", {}), et.get("fill", {})
    for key, name in (("write_bytes_per_put_cluster", "disk write_bytes per put, 3 servers summed (/proc/<pid>/io)"),
                      ("dir_apparent_growth_per_put", "data-dir growth per put, apparent bytes, 3 servers")):
        rv, ev = rf.get(key), ef.get(key)
        rows.append((name + " (lower is better)", f"{rv:.0f}" if rv is not None else "error",
                     f"{ev:.0f}" if ev is not None else "error", "(same)", ratio(rv, ev), ""))
    rows.append((f"fill: {fill_n:,} puts, 64 clients (Roster HTTP / etcd JSON)", fmt_load(rf.get("load")),
                 fmt_load(ef.get("load")), "", ratio(ops(rf.get("load")), ops(ef.get("load"))), ""))
    crss = ro.get("client_rss_idle_kib")
    rows.append(("client agent RSS idle, MiB", f"{crss / 1024:.1f}" if crss else "error", "–", "–", "", ""))

    # targets
    t = []

    def verdict(name, ok, detail):
        t.append((name, "met" if ok else ("MISSED" if ok is not None else "not measured"), detail))
    r64, j64, g64 = rl.get("put-c64"), el.get("put-c64-py"), el.get("put-c64")
    for label, e in (("JSON", j64), ("gRPC", g64)):
        if ops(r64) and ops(e):
            ok = ops(r64) >= 2 * ops(e) and r64["p99_ms"] <= e["p99_ms"]
            verdict(f"put at 64 clients ≥ 2× etcd ({label}) with p99 ≤ etcd's", ok,
                    f"{ops(r64) / ops(e):.2f}×; p99 {r64['p99_ms']:.1f} vs {e['p99_ms']:.1f} ms")
        else:
            verdict(f"put at 64 clients ≥ 2× etcd ({label}) with p99 ≤ etcd's", None, "")
    rc = rl.get("get-c-c64")
    for label, e in (("JSON", el.get("get-l-c64-py")), ("gRPC", el.get("get-l-c64"))):
        if ops(rc) and ops(e):
            verdict(f"?consistent reads ≥ 2× etcd linearizable ({label})", ops(rc) >= 2 * ops(e),
                    f"{ops(rc) / ops(e):.2f}×")
        else:
            verdict(f"?consistent reads ≥ 2× etcd linearizable ({label})", None, "")
    for key, name in (("leader_ms", "failover (new leader) ≤ etcd's"), ("write_ms", "failover (first put) ≤ etcd's")):
        rv, _ = fo(ro, key)
        ev, _ = fo(et, key)
        verdict(name, (rv <= ev) if rv is not None and ev is not None else None,
                f"median {rv:.0f} vs {ev:.0f} ms" if rv is not None and ev is not None else "")
    for key, name in (("rss_idle_kib", "server RSS idle ≤ etcd's"), ("rss_after_fill_kib", f"server RSS after {fill_n:,} keys ≤ etcd's")):
        rv, ev = mib_max(ro.get(key)), mib_max(et.get(key))
        verdict(name, (rv <= ev) if rv and ev else None, f"{rv:.1f} vs {ev:.1f} MiB (max per server)" if rv and ev else "")
    verdict("client agent idle RSS < 8 MiB", (crss / 1024 < 8) if crss else None, f"{crss / 1024:.1f} MiB" if crss else "")

    md = [f"# Roster cluster vs etcd 3.4 — {env['date']}", "",
          f"Command: `{env['command']}`; commit {env['commit']}; {env['cpus']} CPUs, kernel {env['kernel']}; "
          f"load average (1/5/15 min) at start {' '.join(env['loadavg_start'])}, at end {' '.join(env.get('loadavg_end', '?'))}; "
          f"Roster's half from {' / '.join(' '.join(x) for x in env.get('loadavg_roster', []))}, "
          f"etcd's half from {' / '.join(' '.join(x) for x in env.get('loadavg_etcd', []))} (start / end); "
          f"{env['etcd']}; data on {env['data_fs']} ({env['scratch']}), fdatasync p50 {env['fsync']['p50_ms']:.3f} ms "
          f"p99 {env['fsync']['p99_ms']:.3f} ms. Keys 8 B, values 256 B, loads to the leader; the Python drivers "
          f"use min(clients, {CPUS}) worker processes on both sides; one run, no repetitions.", "",
          "| metric | Roster (HTTP) | etcd (JSON gateway) | etcd (gRPC) | Roster/etcd JSON | Roster/etcd gRPC |",
          "|---|---|---|---|---:|---:|"]
    md += ["| " + " | ".join(row) + " |" for row in rows]
    md += ["", "| target | verdict | detail |", "|---|---|---|"]
    md += [f"| {n} | {v} | {d} |" for n, v, d in t]
    return "\n".join(md), rows, t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--roster-bin", required=True)
    ap.add_argument("--quick", action="store_true", help="3 s per point, 20,000 fill keys")
    ap.add_argument("--duration", type=float, default=None)
    ap.add_argument("--seq-n", type=int, default=2000)
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64, 256])
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--fill", type=int, default=None, help="distinct keys written before the RSS reading (100,000)")
    ap.add_argument("--fill-max", type=float, default=150.0, help="time bound of the fill, s")
    ap.add_argument("--only", choices=["roster", "etcd"], default=None)
    ap.add_argument("--command", default="bash bench/cluster_bench.sh")
    a = ap.parse_args()
    a.duration = a.duration or (3.0 if a.quick else 5.0)
    a.fill = a.fill or (20000 if a.quick else 100000)

    scratch_base = os.environ.get("SCRATCH_DIR", "/tmp")
    os.makedirs(scratch_base, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="roster-cluster-bench-", dir=scratch_base)

    def on_term(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)

    df = subprocess.run(["df", "-T", scratch], capture_output=True, text=True).stdout.splitlines()[-1].split()
    env = {"date": subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip(),
           "command": a.command, "commit": commit_label(), "cpus": CPUS,
           "kernel": platform.release(), "loadavg_start": open("/proc/loadavg").read().split()[:3],
           "etcd": subprocess.run(["/usr/bin/etcd", "--version"], capture_output=True, text=True).stdout.split("\n")[0],
           "scratch": scratch, "data_fs": f"{df[0]} {df[1]}", "fsync": fsync_probe(scratch),
           "duration": a.duration, "fill": a.fill, "seq_n": a.seq_n, "clients": a.clients, "kills": a.kills,
           "roster_bin": os.path.abspath(a.roster_bin)}
    results = {"env": env}
    log(f"cluster_bench: {env['date']}, {CPUS} cores, load average {' '.join(env['loadavg_start'])}, "
        f"commit {env['commit']}, data on {env['data_fs']} under {scratch}")
    try:
        if a.only in (None, "roster"):
            log("--- Roster: 3 servers + 1 client agent (tests/clients/roster_cluster.py); load average "
                + " ".join(loadavg()))
            env["loadavg_roster"] = [loadavg()]
            bench_roster(a.roster_bin, a, scratch, results)
            env["loadavg_roster"].append(loadavg())
        if a.only in (None, "etcd"):
            log("--- etcd: 3 members (the anchor's cluster.py), default timing; load average " + " ".join(loadavg()))
            env["loadavg_etcd"] = [loadavg()]
            bench_etcd(a, scratch, results)
            env["loadavg_etcd"].append(loadavg())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        env["loadavg_end"] = open("/proc/loadavg").read().split()[:3]

        def make_report(results):
            md, rows, targets = report(results, a)
            results["table"] = rows
            results["targets"] = targets
            return md

        write_results("cluster", results, make_report)


if __name__ == "__main__":
    main()
