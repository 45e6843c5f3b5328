#!/usr/bin/env python3
"""Where an idle agent's RSS goes: a client agent of a 3-server cluster (and, for comparison,
a -dev agent), read from /proc/<pid>/smaps 3 s after the cluster formed, as cluster_bench.py
reads its idle figure (VmRSS).

  python3 bench/agent_rss.py --roster-bin build/release-bench/agent/roster [--env MALLOC_ARENA_MAX=1]

Prints VmRSS, the split of smaps_rollup (anonymous / file-backed), the threads, the largest
mappings by RSS (the binary's text and data, the heap, each malloc arena, thread stacks), and
the count of 64 MiB-aligned anonymous regions glibc reserves per malloc arena.
"""
import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "clients"))
sys.dont_write_bytecode = True
from roster_cluster import RosterCluster  # noqa: E402
from roster_process import RosterAgent  # noqa: E402
from bench_common import rss_kib  # noqa: E402


def status_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    return None


def rollup(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[-1] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def mappings(pid):
    """[(rss_kib, size_kib, perms, name)] for every mapping."""
    maps = []
    current = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and not head[0].endswith(":"):
                if current:
                    maps.append(current)
                start, end = (int(x, 16) for x in head[0].split("-"))
                current = {"start": start, "size": (end - start) // 1024, "perms": head[1],
                           "name": head[5] if len(head) > 5 else "[anon]", "rss": 0, "anon": 0}
            elif head[0] == "Rss:":
                current["rss"] = int(head[1])
            elif head[0] == "Anonymous:":
                current["anon"] = int(head[1])
    if current:
        maps.append(current)
    return maps


def describe(pid, label):
    roll = rollup(pid)
    maps = mappings(pid)
    threads = int(status_field(pid, "Threads"))
    # glibc's non-main arenas live in 64 MiB-aligned heaps (HEAP_MAX_SIZE): an rw- part and
    # a ---p reserve, together 64 MiB.
    arena_heaps = [m for m in maps if m["name"] == "[anon]" and m["start"] % (64 << 20) == 0 and m["perms"].startswith("rw")]
    stacks = [m for m in maps if m["name"] == "[anon]" and 8000 <= m["size"] <= 8200]
    print(f"== {label} (pid {pid}): VmRSS {rss_kib(pid)} KiB, {threads} threads")
    print(f"   smaps_rollup: Rss {roll.get('Rss')} = Anonymous {roll.get('Anonymous')} + file-backed "
          f"{roll.get('Rss', 0) - roll.get('Anonymous', 0)} KiB (Pss {roll.get('Pss')}, Shared_Clean "
          f"{roll.get('Shared_Clean')})")
    print(f"   malloc arena heaps: {len(arena_heaps)} ({sum(m['rss'] for m in arena_heaps)} KiB resident); "
          f"8 MiB thread stacks: {len(stacks)} ({sum(m['rss'] for m in stacks)} KiB resident)")
    by_name = {}
    for m in maps:
        key = os.path.basename(m["name"]) if m["name"] != "[anon]" else "[anon]"
        by_name[key] = by_name.get(key, 0) + m["rss"]
    print("   by object: " + ", ".join(f"{k} {v}" for k, v in sorted(by_name.items(), key=lambda kv: -kv[1]) if v))
    print("   largest mappings (KiB rss / size, perms, name):")
    for m in sorted(maps, key=lambda m: -m["rss"])[:12]:
        print(f"     {m['rss']:6d} / {m['size']:8d} {m['perms']} {m['name']}")
    return {"vmrss": rss_kib(pid), "rollup": roll, "threads": threads, "arena_heaps": len(arena_heaps)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--roster-bin", required=True)
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for every agent started")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds after forming, as cluster_bench.py")
    a = ap.parse_args()
    for item in a.env:
        name, value = item.split("=", 1)
        os.environ[name] = value
    tempfile.tempdir = tempfile.mkdtemp(prefix="roster-rss-")
    cluster = RosterCluster(a.roster_bin, servers=3, clients=1, prefix="rss", log_level="info")
    dev = RosterAgent(a.roster_bin, node="rss-dev", dev=True, log_level="info")
    try:
        cluster.start(timeout=90)
        cluster.wait_for_leader(timeout=30)
        dev.start()
        time.sleep(a.settle)
        describe(cluster.clients[0].process.pid, "client agent of a 3-server cluster")
        describe(cluster.servers[0].process.pid, "server")
        describe(dev.process.pid, "-dev agent")
    finally:
        for agent in cluster.agents + [dev]:
            agent.kill()
        cluster.cleanup()


if __name__ == "__main__":
    main()
