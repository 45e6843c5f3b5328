#!/usr/bin/env python3
"""The catalog at scale: 5,000 simulated client agents register 10 services each (50,000
instances) through a client agent's HTTP API, which forwards every write to the leader over
the RPC path. Run it through bench/cluster_scale.sh, which builds the Release binary first.

  python3 bench/cluster_scale.py --roster-bin build/release-bench/agent/roster

The cluster: 3 servers (-server -bootstrap-expect 3) and 2 client agents on 127.0.0.1, from
tests/clients/roster_cluster.py. A simulated agent is a node name (sim-00000 ...), a node ID
and an address in 127.0.0.0/8; it is not a gossip member, so it has no serfHealth check and
the leader's gossip reconciler must leave it alone, as Consul's does. Measured:
  1. the load: bench/roster_loadgen.py --op register (PUT /v1/catalog/register, one service
     instance per request, the node in each, as anti-entropy sends it) with --clients
     keep-alive connections to client agent 1, bounded by --load-max seconds;
  2. the time from the first request until the leader holds all of them (the last
     acknowledgement: a write is acknowledged once the leader applied it) and until every
     server's ?stale reads count all of them; the count is exact: /v1/catalog/service/<s>
     of every service name, each instance's node checked;
  3. blocking watchers through client agent 2, with the catalog full: GET
     /v1/catalog/service/<s>?index= on a 5,000-instance service and on a 1-instance one;
     each round re-registers one instance with a new port through client agent 1 and times
     the change (sent) -> the watcher's answer (received, body read), --rounds times;
  4. RSS (VmRSS) of every process, idle and after the load;
  5. the gossip reconciler: leadership is moved (transfer-leader), the new leader reconciles
     the pool at once, and the catalog must still count every simulated node.
Every process is started here and killed by its PID on exit (try/finally, SIGTERM too).
Writes bench/results/scale-<ts>.md and .json.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "clients"))
sys.dont_write_bytecode = True
from roster_cluster import RosterCluster  # noqa: E402
from roster_process import wait_for  # noqa: E402
from bench_common import CPUS, cpu_seconds, log, loadavg, rss_kib, run_env, run_json, write_results  # noqa: E402
from roster_loadgen import register_body  # noqa: E402

PY = sys.executable
# Consul's published "global scale" figure: 172,000 service instances in under a second,
# across many servers (HashiCorp's 2020 Consul Global Scale Benchmark).
CONSUL_INSTANCES = 172000
CONSUL_SECONDS = 1.0
WATCHED = "svc-3"     # a 5,000-instance service
PROBE = "scale-probe"  # a 1-instance service


class Http:
    """One keep-alive HTTP/1.1 connection to an agent."""

    def __init__(self, address, timeout=120):
        host, port = address.split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)

    def request(self, method, path, body=None):
        self.conn.request(method, path, body=body)
        response = self.conn.getresponse()
        return response.status, response.getheader("X-Consul-Index"), response.read()

    def close(self):
        self.conn.close()


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))] if values else None


def leader_watchers(leader_http):
    """The leader's gauge of parked blocking queries."""
    status, _, body = leader_http.request("GET", "/v1/agent/metrics")
    if status != 200:
        return None
    for gauge in json.loads(body)["Gauges"]:
        if gauge["Name"] == "roster.blocking_queries.watchers":
            return gauge["Value"]
    return None


def count_instances(conn, service, expected_nodes, query=""):
    """Instances of `service` and whether each node is one of the simulated ones, once."""
    t0 = time.perf_counter()
    status, index, body = conn.request("GET", f"/v1/catalog/service/{service}{query}")
    elapsed = time.perf_counter() - t0
    if status != 200:
        return {"error": f"HTTP {status}: {body[:200]!r}"}
    rows = json.loads(body)
    nodes = {row["Node"] for row in rows}
    return {"instances": len(rows), "distinct_nodes": len(nodes), "unexpected_nodes": len(nodes - expected_nodes),
            "bytes": len(body), "read_ms": elapsed * 1e3, "index": int(index or 0)}


def count_all(conn, services, expected_nodes, query=""):
    counts = {name: count_instances(conn, name, expected_nodes, query) for name in services}
    total = sum(c.get("instances", 0) for c in counts.values())
    return total, counts


def watch_rounds(cluster, leader, service, node_number, service_number, rounds, base_port):
    """Times change -> blocking watcher's answer for `service`, `rounds` times."""
    writer = Http(cluster.clients[0].address)
    watcher_conn = Http(cluster.clients[1].address)
    leader_http = Http(leader.address)
    status, index, _ = watcher_conn.request("GET", f"/v1/catalog/service/{service}")
    index = int(index)
    out = {"latency_ms": [], "write_ms": [], "bytes": [], "unconfirmed_parks": 0, "errors": []}
    try:
        for r in range(rounds):
            baseline = leader_watchers(leader_http)
            answer = {}

            def watch(index=index, answer=answer):
                try:
                    status, new_index, body = watcher_conn.request(
                        "GET", f"/v1/catalog/service/{service}?index={index}&wait=60s")
                    answer.update(t=time.perf_counter(), status=status, index=int(new_index or 0), body=body)
                except Exception as error:  # noqa: BLE001
                    answer.update(t=time.perf_counter(), error=repr(error))
            thread = threading.Thread(target=watch)
            thread.start()
            # The change is sent once the query is parked on the leader (its gauge moved). A
            # change sent earlier is still seen (the query's index is then behind), so a round
            # that cannot confirm the park is counted, not dropped.
            try:
                wait_for(lambda: (leader_watchers(leader_http) or 0) > (baseline or 0), 5.0,
                         "the watcher parked on the leader", interval=0.002)
            except AssertionError:
                out["unconfirmed_parks"] += 1
            port = base_port + r
            body = register_body(node_number, service_number, port=port)
            if service == PROBE:
                body = probe_body(port)
            t0 = time.perf_counter()
            status, _, reply = writer.request("PUT", "/v1/catalog/register", body)
            t_ack = time.perf_counter()
            thread.join(90)
            if status != 200 or reply != b"true":
                out["errors"].append(f"write: HTTP {status} {reply[:100]!r}")
                continue
            if "error" in answer or answer.get("status") != 200:
                out["errors"].append(f"watch: {answer.get('error') or answer.get('status')}")
                continue
            rows = json.loads(answer["body"])
            if not any(row["ServicePort"] == port for row in rows) or answer["index"] <= index:
                out["errors"].append(f"round {r}: the answer does not carry the change")
                continue
            out["latency_ms"].append((answer["t"] - t0) * 1e3)
            out["write_ms"].append((t_ack - t0) * 1e3)
            out["bytes"].append(len(answer["body"]))
            index = answer["index"]
    finally:
        writer.close()
        watcher_conn.close()
        leader_http.close()
    lat = out["latency_ms"]
    out.update(rounds=rounds, ok=len(lat), p50_ms=percentile(lat, 0.5), p99_ms=percentile(lat, 0.99),
               max_ms=max(lat) if lat else None, write_p50_ms=percentile(out["write_ms"], 0.5),
               body_bytes=statistics.median(out["bytes"]) if out["bytes"] else None)
    return out


def probe_body(port):
    return json.dumps({"Node": "sim-00000", "Address": "127.10.0.1",
                       "Service": {"ID": PROBE, "Service": PROBE, "Port": port}}).encode()


def move_leadership(cluster, leader, expected_nodes):
    """Moves leadership and checks the new leader's first reconcile pass left every simulated
    node in place. A write through the new leader after its pass began is applied after every
    write that pass proposed, so the count read after it sees them all."""
    before = {s.node: s.log().count("reconciling the gossip pool into the catalog") for s in cluster.servers}
    status, _, body = leader.request("POST", "/v1/operator/raft/transfer-leader", timeout=30)
    if status != 200:
        return {"error": f"transfer-leader: HTTP {status} {body[:200]!r}"}
    new_leader = cluster.wait_for_leader(timeout=30, not_this=leader)
    wait_for(lambda: new_leader.log().count("reconciling the gossip pool into the catalog") > before[new_leader.node],
             30, "the new leader's reconcile pass")
    status, _, body = new_leader.request("PUT", "/v1/kv/scale/after-transfer", "x", timeout=30)
    nodes = new_leader.get_json("/v1/catalog/nodes", timeout=60)
    simulated = {n["Node"] for n in nodes if n["Node"].startswith("sim-")}
    reaped = sum(s.log().count("deregister (member reaped)") for s in cluster.servers)
    return {"old_leader": leader.node, "new_leader": new_leader.node, "kv_write": status,
            "simulated_nodes_after": len(simulated), "missing": len(expected_nodes - simulated),
            "reaped_log_lines": reaped}


def bench(a, results):
    tempfile.tempdir = a.scratch
    # 128+ connections come from 127.0.0.1: lift the per-client-IP connection limit, as
    # cluster_bench.py does.
    cluster = RosterCluster(a.roster_bin, servers=3, clients=2, prefix="cs", log_level="info",
                            extra_config="limits:\n  http_max_conns_per_client: 0\n")
    r = results["roster"] = {}
    total = a.nodes * a.services_per_node
    expected_nodes = {f"sim-{n:05d}" for n in range(a.nodes)}
    services = [f"svc-{i}" for i in range(a.services_per_node)]
    try:
        cluster.start(timeout=90)
        leader = cluster.wait_for_leader(timeout=30)
        time.sleep(3.0)  # settle before the idle reading, as cluster_bench.py does
        r["rss_idle_kib"] = {s.node: rss_kib(s.process.pid) for s in cluster.agents}
        log(f"  idle RSS (KiB): {r['rss_idle_kib']}")

        log(f"--- load: {a.nodes} nodes x {a.services_per_node} services = {total} registrations, "
            f"{a.clients} connections to {cluster.clients[0].node}; load average {' '.join(loadavg())}")
        cmd = [PY, os.path.join(HERE, "roster_loadgen.py"), "--endpoint", cluster.clients[0].address,
               "--op", "register", "--clients", str(a.clients), "--procs", str(min(a.clients, CPUS)),
               "--total", str(total), "--services-per-node", str(a.services_per_node),
               "--max-duration", str(a.load_max)]
        cpu0 = {s.node: cpu_seconds(s.process.pid) for s in cluster.agents}
        load = r["load"] = run_json(cmd, timeout=a.load_max + 60)
        r["load_cpu_s"] = {s.node: round(cpu_seconds(s.process.pid) - cpu0[s.node], 2) for s in cluster.agents}
        if "error" in load:
            raise RuntimeError(f"load generator: {load['error']}")
        log(f"  {load['ops']} acknowledged, {load['errors']} errors in {load['secs']:.1f} s "
            f"({load['ops_per_s']:.0f}/s; p50 {load['p50_ms']:.1f}, p99 {load['p99_ms']:.1f} ms)"
            + (f"; first error {load.get('first_err', '')[:120]!r}" if load["errors"] else ""))
        r["acked_all_s"] = load["wall_end"] - load["wall_start"]
        log(f"  CPU seconds during the load: {r['load_cpu_s']}")

        leader = cluster.wait_for_leader(timeout=30)
        via = Http(cluster.clients[1].address)
        leader_total, leader_counts = count_all(via, services, expected_nodes)
        via.close()
        r["leader_count"] = {"total": leader_total, "services": leader_counts}
        log(f"  the leader ({leader.node}, read through {cluster.clients[1].node}) counts {leader_total} "
            f"instances; one 5,000-instance listing: {leader_counts[services[0]].get('bytes', 0) / 1e6:.1f} MB "
            f"in {leader_counts[services[0]].get('read_ms', 0):.0f} ms")

        # Every server's own (?stale) copy, polled until it counts them all.
        deadline = time.monotonic() + 120
        r["servers_complete_s"] = {}
        for server in cluster.servers:
            conn = Http(server.address)
            while True:
                got, _ = count_all(conn, services, expected_nodes, "?stale")
                if got >= total or time.monotonic() > deadline:
                    break
            conn.close()
            r["servers_complete_s"][server.node] = time.time() - load["wall_start"] if got >= total else None
            r.setdefault("server_counts", {})[server.node] = got
        r["all_servers_complete_s"] = (max(r["servers_complete_s"].values())
                                       if all(r["servers_complete_s"].values()) else None)
        log(f"  every server counts all {total}: {r['all_servers_complete_s']} s after the first request "
            f"({r['server_counts']})")
        r["rss_after_load_kib"] = {s.node: rss_kib(s.process.pid) for s in cluster.agents}
        log(f"  RSS after the load (KiB): {r['rss_after_load_kib']}")

        log(f"--- blocking watchers through {cluster.clients[1].node}, {a.rounds} rounds each")
        status, _, body = cluster.clients[0].request("PUT", "/v1/catalog/register", probe_body(1))
        r["watch_big"] = watch_rounds(cluster, leader, WATCHED, 42, 3, a.rounds, 30000)
        log(f"  {WATCHED} ({a.nodes} instances): p50 {r['watch_big']['p50_ms']} ms, p99 "
            f"{r['watch_big']['p99_ms']} ms; errors {r['watch_big']['errors'][:2]}")
        r["watch_small"] = watch_rounds(cluster, leader, PROBE, 0, 0, a.rounds, 31000)
        log(f"  {PROBE} (1 instance): p50 {r['watch_small']['p50_ms']} ms, p99 "
            f"{r['watch_small']['p99_ms']} ms; errors {r['watch_small']['errors'][:2]}")

        log("--- leadership moved; the new leader reconciles the gossip pool")
        r["reconcile"] = move_leadership(cluster, leader, expected_nodes)
        log(f"  {r['reconcile']}")
        via = Http(cluster.clients[1].address)
        r["final_total"], _ = count_all(via, services, expected_nodes)
        via.close()
        r["rss_end_kib"] = {s.node: rss_kib(s.process.pid) for s in cluster.agents}
        r["logs"] = {s.node: s.log_path for s in cluster.agents}
    finally:
        for agent in cluster.agents:
            agent.kill()  # SIGKILL by PID; nothing to flush
        if not a.keep:
            shutil.rmtree(cluster.root, ignore_errors=True)
            for agent in cluster.agents:
                try:
                    os.unlink(agent.log_path)
                except OSError:
                    pass


def mib(kib):
    return f"{kib / 1024:.1f}" if kib else "?"


def report(results, a):
    env, r = results["env"], results.get("roster", {})
    total = a.nodes * a.services_per_node
    load = r.get("load", {})
    servers = [n for n in r.get("rss_idle_kib", {}) if "server" in n]
    clients = [n for n in r.get("rss_idle_kib", {}) if "client" in n]
    acked = r.get("acked_all_s")
    complete = r.get("all_servers_complete_s")
    wb, ws = r.get("watch_big", {}), r.get("watch_small", {})
    rate = total / acked if acked else None

    def fmt(v, spec=".1f"):
        return format(v, spec) if isinstance(v, (int, float)) else "–"
    rows = [
        (f"registrations acknowledged (of {total:,}), errors", f"{load.get('ops', '–')}, {load.get('errors', '–')}"),
        ("first request → last acknowledgement (the leader holds all), s", fmt(acked, ".2f")),
        ("registrations/s through one client agent", fmt(rate, ".0f")),
        ("register latency p50 / p99, ms", f"{fmt(load.get('p50_ms'))} / {fmt(load.get('p99_ms'))}"),
        ("first request → every server's ?stale count is exact, s", fmt(complete, ".2f")),
        ("exact count through client agent 2 (leader read), instances", str(r.get("leader_count", {}).get("total", "–"))),
        (f"one {a.nodes:,}-instance listing (/v1/catalog/service/{WATCHED}), MB / ms",
         f"{fmt(r.get('leader_count', {}).get('services', {}).get('svc-0', {}).get('bytes', 0) / 1e6)} / "
         f"{fmt(r.get('leader_count', {}).get('services', {}).get('svc-0', {}).get('read_ms'), '.0f')}"),
        (f"blocking watcher, {a.nodes:,}-instance service: change → answer p50 / p99 / max, ms ({wb.get('ok', 0)}/{a.rounds})",
         f"{fmt(wb.get('p50_ms'))} / {fmt(wb.get('p99_ms'))} / {fmt(wb.get('max_ms'))}"),
        (f"blocking watcher, 1-instance service: change → answer p50 / p99 / max, ms ({ws.get('ok', 0)}/{a.rounds})",
         f"{fmt(ws.get('p50_ms'))} / {fmt(ws.get('p99_ms'))} / {fmt(ws.get('max_ms'))}"),
        ("the write in a watch round (ack through client agent 1), p50 ms",
         f"{fmt(wb.get('write_p50_ms'))} / {fmt(ws.get('write_p50_ms'))}"),
        ("server RSS idle → after the load, MiB",
         ", ".join(f"{mib(r['rss_idle_kib'].get(s))} → {mib(r.get('rss_after_load_kib', {}).get(s))}" for s in servers)),
        ("CPU seconds used during the load, per process",
         ", ".join(f"{n.replace('cs-', '')} {v}" for n, v in r.get("load_cpu_s", {}).items())),
        ("client agent RSS idle → after the load, MiB",
         ", ".join(f"{mib(r['rss_idle_kib'].get(c))} → {mib(r.get('rss_after_load_kib', {}).get(c))}" for c in clients)),
        ("after a leadership transfer and the new leader's reconcile: simulated nodes kept, reaped lines",
         f"{r.get('reconcile', {}).get('simulated_nodes_after', '–')} of {a.nodes}, "
         f"{r.get('reconcile', {}).get('reaped_log_lines', '–')}"),
        ("Consul's published figure (many servers): instances / s", f"{CONSUL_INSTANCES:,} in < {CONSUL_SECONDS:g} s"),
        ("Roster, 3 servers on 2 shared cores: instances / s (ratio to Consul's rate)",
         f"{total:,} in {fmt(acked, '.2f')} s ({fmt(rate / (CONSUL_INSTANCES / CONSUL_SECONDS), '.3f') if rate else '–'}×)"),
    ]
    md = [f"# Roster catalog at scale — {env['date']}", "",
          f"Command: `{env['command']}`; commit {env['commit']}; {env['cpus']} CPUs (shared), kernel {env['kernel']}; "
          f"load average at start {' '.join(env['loadavg_start'])}, at end {' '.join(env.get('loadavg_end', ['?']))}. "
          f"{a.nodes} simulated nodes x {a.services_per_node} services, {a.clients} connections to one client agent.",
          "", "| metric | value |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(md), rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--roster-bin", required=True)
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--services-per-node", type=int, default=10)
    ap.add_argument("--clients", type=int, default=128, help="connections the load generator keeps open")
    ap.add_argument("--load-max", type=float, default=600.0, help="time bound of the load, s")
    ap.add_argument("--rounds", type=int, default=20, help="changes timed per watched service")
    ap.add_argument("--keep", action="store_true", help="keep the data directories and logs")
    ap.add_argument("--command", default="bash bench/cluster_scale.sh")
    a = ap.parse_args()
    a.scratch = tempfile.mkdtemp(prefix="roster-scale-", dir=os.environ.get("SCRATCH_DIR", "/tmp"))

    def on_term(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)
    env = run_env(a.command)
    results = {"env": env, "args": {k: v for k, v in vars(a).items()}}
    log(f"cluster_scale: {env['date']}, {CPUS} cores, load average {' '.join(env['loadavg_start'])}, "
        f"commit {env['commit']}")
    try:
        bench(a, results)
    finally:
        if not a.keep:
            shutil.rmtree(a.scratch, ignore_errors=True)
        env["loadavg_end"] = loadavg()

        def make_report(results):
            md, rows = report(results, a)
            results["table"] = rows
            return md

        write_results("scale", results, make_report)


if __name__ == "__main__":
    main()
