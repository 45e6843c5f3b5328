#!/usr/bin/env python3
"""Load generator for Roster's HTTP KV API (HTTP/1.1 keep-alive), modelled on the etcd
anchor's JSON-gateway client (../shared/anchors/etcd/loadgen.py) so both are driven the same
way: worker processes, each an asyncio loop over N keep-alive connections with one request in
flight per connection ("client"), keys of --key-size bytes, values of --val-size bytes. Prints
one JSON object with the same fields as the anchor's loadgen and goload.

  python3 roster_loadgen.py --endpoint 127.0.0.1:8500 --op put --clients 16 --duration 5
  python3 roster_loadgen.py --endpoint ... --op put --clients 1 --total 2000   # sequential
  ops: put (PUT /v1/kv/<k>) | get-c (GET ?consistent) | get-s (GET ?stale) | get (default mode)
       | register (PUT /v1/catalog/register: --services-per-node instances per simulated node)

Every loop is bounded in time: --duration for timed runs, --max-duration (default 120 s)
for --total runs, which then report how many operations they got through.
"""
import argparse
import asyncio
import hashlib
import json
import multiprocessing as mp
import os
import time


async def one_conn(host, port, reqs, ok_body, deadline, total, counter, lats, errs):
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as error:
        errs.append("connect: %s" % error)
        return
    try:
        while time.perf_counter() < deadline:
            n = counter[0]
            if total and n >= total:
                break
            counter[0] = n + 1
            req = reqs(n)
            t0 = time.perf_counter_ns()
            writer.write(req)
            status = await reader.readline()
            clen = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                if line[:15].lower() == b"content-length:":
                    clen = int(line[15:])
            body = await reader.readexactly(clen) if clen else b""
            el = time.perf_counter_ns() - t0
            if status[9:12] == b"200" and (ok_body is None or body == ok_body):
                lats.append(el)
            else:
                errs.append((status + body[:200]).decode(errors="replace"))
                if not status:
                    break
    except (OSError, asyncio.IncompleteReadError) as error:
        errs.append("connection: %r" % error)
    finally:
        writer.close()


def node_id(name):
    """A stable UUID for a simulated node, as an agent's node-id file holds one."""
    h = hashlib.md5(name.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def node_address(number):
    """A distinct address in 127.0.0.0/8 for simulated node `number` (< 65,000 x 250)."""
    return f"127.{10 + number // 62500}.{number // 250 % 250}.{number % 250 + 1}"


def register_body(node_number, service_number, port=None, tag="v1"):
    """The catalog registration a client agent's anti-entropy would send for one service
    instance of a simulated node: the node (ID, address) and one service, no checks."""
    node = f"sim-{node_number:05d}"
    return json.dumps({
        "Node": node, "ID": node_id(node), "Address": node_address(node_number),
        "TaggedAddresses": {"lan": node_address(node_number)},
        "Service": {"ID": f"svc-{service_number}-{node_number:05d}", "Service": f"svc-{service_number}",
                    "Port": port if port is not None else 20000 + service_number,
                    "Tags": ["scale", tag]}}, separators=(",", ":")).encode()


def make_req(host, port, op, prefix, key_size, val, read_key, first_node=0, per_node=10):
    """Returns (request builder n -> bytes, the body a success must carry or None)."""
    hdr = f"Host: {host}:{port}\r\n"
    if op == "register":
        def r(n):
            body = register_body(first_node + n // per_node, n % per_node)
            return (f"PUT /v1/catalog/register HTTP/1.1\r\n{hdr}Content-Length: {len(body)}\r\n\r\n").encode() + body
        return r, b"true"
    if op == "put":
        width = max(1, key_size - len(prefix))

        def f(n):
            k = f"{prefix}{n:0{width}d}"
            return (f"PUT /v1/kv/{k} HTTP/1.1\r\n{hdr}Content-Length: {len(val)}\r\n\r\n").encode() + val
        return f, b"true"
    query = {"get-c": "?consistent", "get-s": "?stale", "get": ""}[op]
    fixed = f"GET /v1/kv/{read_key}{query} HTTP/1.1\r\n{hdr}\r\n".encode()
    return (lambda n: fixed), None


def worker(args, wid, nconn, total, first, q):
    host, port = args.endpoint.split(":")
    port = int(port)
    val = b"v" * args.val_size
    reqs, ok_body = make_req(host, port, args.op, f"{args.prefix}{wid}", args.key_size, val, args.read_key,
                             first_node=args.first_node + first // args.services_per_node,
                             per_node=args.services_per_node)
    lats, errs = [], []
    counter = [0]

    async def run():
        bound = args.duration if not total else args.max_duration
        deadline = time.perf_counter() + bound
        await asyncio.gather(*[one_conn(host, port, reqs, ok_body, deadline, total, counter, lats, errs)
                               for _ in range(nconn)])
    t0 = time.perf_counter()
    wall0 = time.time()
    asyncio.run(run())
    q.put((lats, len(errs), errs[:1], time.perf_counter() - t0, wall0, time.time()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", default="127.0.0.1:8500")
    ap.add_argument("--op", default="put", choices=["put", "get-c", "get-s", "get", "register"])
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--procs", type=int, default=0, help="worker processes (default: min(clients, cpus))")
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--total", type=int, default=0)
    ap.add_argument("--max-duration", type=float, default=120.0, help="time bound of a --total run")
    ap.add_argument("--key-size", type=int, default=8)
    ap.add_argument("--val-size", type=int, default=256)
    ap.add_argument("--prefix", default="p")
    ap.add_argument("--read-key", default="rread000")
    ap.add_argument("--services-per-node", type=int, default=10, help="register: instances per simulated node")
    ap.add_argument("--first-node", type=int, default=0, help="register: number of the first simulated node")
    args = ap.parse_args()

    if args.op not in ("put", "register"):  # seed the key we read
        import http.client
        h, p = args.endpoint.split(":")
        c = http.client.HTTPConnection(h, int(p), timeout=5)
        c.request("PUT", f"/v1/kv/{args.read_key}", body=b"v" * args.val_size)
        c.getresponse().read()
        c.close()

    procs = args.procs or min(args.clients, os.cpu_count() or 1)
    procs = max(1, min(procs, args.clients))
    per = [args.clients // procs + (1 if i < args.clients % procs else 0) for i in range(procs)]
    tot = [args.total // procs + (1 if i < args.total % procs else 0) for i in range(procs)] if args.total else [0] * procs
    if args.op == "register":
        if not args.total or args.total % (procs * args.services_per_node):
            ap.error("--op register needs a --total that splits into whole nodes per worker process")
    firsts = [sum(tot[:i]) for i in range(procs)]  # each worker's share of the registrations
    q = mp.Queue()
    ps = [mp.Process(target=worker, args=(args, i, per[i], tot[i], firsts[i], q)) for i in range(procs)]
    for p in ps:
        p.start()
    results = [q.get() for _ in ps]
    for p in ps:
        p.join()
    secs = max(r[3] for r in results)
    lats = sorted(x for r in results for x in r[0])
    nerr = sum(r[1] for r in results)
    first = next((r[2][0] for r in results if r[2]), None)

    def pct(p):
        return lats[int(p * (len(lats) - 1))] / 1e6 if lats else 0.0
    out = {"op": args.op, "clients": args.clients, "conns": args.clients, "procs": procs,
           "ops": len(lats), "errors": nerr, "secs": secs,
           "ops_per_s": len(lats) / secs if secs else 0,
           "mean_ms": (sum(lats) / len(lats) / 1e6) if lats else 0,
           "p50_ms": pct(0.5), "p90_ms": pct(0.9), "p99_ms": pct(0.99),
           "max_ms": lats[-1] / 1e6 if lats else 0,
           "wall_start": min(r[4] for r in results), "wall_end": max(r[5] for r in results)}
    if first:
        out["first_err"] = first
    print(json.dumps(out))


if __name__ == "__main__":
    main()
