"""Drives Debian's python3-consul 0.7.1, unmodified, against a real `roster agent -dev`.

This is the acceptance test for Roster's Consul-compatible HTTP API: an existing client
library must work as it is. Run it with Debian's interpreter, which sees python3-consul:

    ROSTER_BIN=build/agent/roster /usr/bin/python3 tests/clients/test_python_consul.py

python-consul 0.7.1 predates node metadata, so the node-meta cases go through the
library's own HTTP layer (`client.http` with its `CB` callbacks), still unmodified.
"""

import base64
import json
import os
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roster_process  # noqa: E402

try:
    import consul
    from consul.base import CB
except ImportError as error:
    sys.stderr.write(
        "FAIL: python3-consul is not importable by %s (%s).\n"
        "This suite is the acceptance test for Roster's Consul-compatible API and must not be skipped.\n"
        "Install the dependencies with: sudo scripts/install-deps.sh\n" % (sys.executable, error))
    sys.exit(1)

NODE = "client-test"
AGENT = None


def new_client():
    """A fresh client: python-consul's requests session must not be shared across threads."""
    return consul.Consul(host="127.0.0.1", port=AGENT.port)


# ROSTER_TARGET=cluster runs the suite against a client agent of a three-server cluster
# instead of a -dev agent: the client holds no catalog and forwards to the servers.
CLUSTER = None


def setUpModule():
    global AGENT, CLUSTER
    if os.environ.get("ROSTER_TARGET") == "cluster":
        from roster_cluster import RosterCluster
        CLUSTER = RosterCluster(BINARY, servers=3, clients=1, prefix="pyconsul", client_names=[NODE]).start()
        AGENT = CLUSTER.clients[0]
        return
    AGENT = roster_process.RosterAgent(BINARY, node=NODE, dev=True)
    AGENT.start()


def tearDownModule():
    if CLUSTER is not None:
        CLUSTER.stop()
    elif AGENT is not None:
        AGENT.stop()


class ConsulTestCase(unittest.TestCase):
    def setUp(self):
        self.c = new_client()
        self.addCleanup(self.c.http.session.close)

    def wait_for(self, predicate, timeout, what):
        return roster_process.wait_for(predicate, timeout, what)


class KvTest(ConsulTestCase):
    def test_put_get_roundtrip_with_flags(self):
        c = self.c
        self.assertTrue(c.kv.put("kv1/plain", "hello"))
        index, item = c.kv.get("kv1/plain")
        self.assertGreater(int(index), 0)
        self.assertEqual(item["Key"], "kv1/plain")
        self.assertEqual(item["Value"], b"hello")
        self.assertEqual(item["Flags"], 0)
        self.assertEqual(int(index), item["ModifyIndex"])

        self.assertTrue(c.kv.put("kv1/flagged", "x", flags=42))
        _, item = c.kv.get("kv1/flagged")
        self.assertEqual(item["Flags"], 42)
        self.assertTrue(c.kv.put("kv1/flagged", "x", flags=2 ** 64 - 1))
        _, item = c.kv.get("kv1/flagged")
        self.assertEqual(item["Flags"], 2 ** 64 - 1)

    def test_binary_values_and_empty_values(self):
        c = self.c
        blob = bytes(range(256)) + b"\x00\xff\x00"
        self.assertTrue(c.kv.put("kv2/blob", blob))
        _, item = c.kv.get("kv2/blob")
        self.assertEqual(item["Value"], blob)

        # python-consul hands a str body to http.client, which encodes it as Latin-1;
        # UTF-8 text goes as bytes.
        self.assertTrue(c.kv.put("kv2/utf8", "h\u00e9llo \u2603".encode("utf-8")))
        _, item = c.kv.get("kv2/utf8")
        self.assertEqual(item["Value"].decode("utf-8"), "h\u00e9llo \u2603")

        self.assertTrue(c.kv.put("kv2/dir/", None))
        _, item = c.kv.get("kv2/dir/")
        self.assertIsNone(item["Value"])

    def test_missing_key_returns_none_with_index(self):
        index, item = self.c.kv.get("kv3/does-not-exist")
        self.assertIsNone(item)
        self.assertGreater(int(index), 0)

    def test_cas(self):
        c = self.c
        # cas=0 creates only when the key is absent.
        self.assertTrue(c.kv.put("kv4/counter", "1", cas=0))
        self.assertFalse(c.kv.put("kv4/counter", "again", cas=0))
        _, item = c.kv.get("kv4/counter")
        self.assertEqual(item["Value"], b"1")
        modify = item["ModifyIndex"]

        self.assertFalse(c.kv.put("kv4/counter", "stale", cas=modify + 1000))
        _, item = c.kv.get("kv4/counter")
        self.assertEqual(item["Value"], b"1")
        self.assertEqual(item["ModifyIndex"], modify)

        self.assertTrue(c.kv.put("kv4/counter", "2", cas=modify))
        _, item = c.kv.get("kv4/counter")
        self.assertEqual(item["Value"], b"2")
        self.assertGreater(item["ModifyIndex"], modify)
        # The old index is now stale.
        self.assertFalse(c.kv.put("kv4/counter", "3", cas=modify))

        # Delete with cas: a wrong index keeps the key, the right one removes it.
        current = item["ModifyIndex"]
        self.assertFalse(c.kv.delete("kv4/counter", cas=current + 1000))
        self.assertIsNotNone(c.kv.get("kv4/counter")[1])
        self.assertTrue(c.kv.delete("kv4/counter", cas=current))
        self.assertIsNone(c.kv.get("kv4/counter")[1])

    def test_recurse_keys_and_delete(self):
        c = self.c
        for key, value in [("kv5/a", "1"), ("kv5/b", "2"), ("kv5/sub/c", "3"), ("kv5/sub/d", "4"), ("kv5x", "no")]:
            self.assertTrue(c.kv.put(key, value))

        _, items = c.kv.get("kv5/", recurse=True)
        self.assertEqual([item["Key"] for item in items], ["kv5/a", "kv5/b", "kv5/sub/c", "kv5/sub/d"])
        self.assertEqual([item["Value"] for item in items], [b"1", b"2", b"3", b"4"])

        _, keys = c.kv.get("kv5/", keys=True)
        self.assertEqual(keys, ["kv5/a", "kv5/b", "kv5/sub/c", "kv5/sub/d"])
        _, keys = c.kv.get("kv5/", keys=True, separator="/")
        self.assertEqual(keys, ["kv5/a", "kv5/b", "kv5/sub/"])

        self.assertTrue(c.kv.delete("kv5/a"))
        self.assertIsNone(c.kv.get("kv5/a")[1])
        self.assertTrue(c.kv.delete("kv5/sub/", recurse=True))
        _, keys = c.kv.get("kv5/", keys=True)
        self.assertEqual(keys, ["kv5/b"])
        # A prefix delete does not reach keys that only share the text.
        self.assertEqual(c.kv.get("kv5x")[1]["Value"], b"no")
        self.assertTrue(c.kv.delete("kv5/", recurse=True))
        _, items = c.kv.get("kv5/", recurse=True)
        self.assertIsNone(items)
        # Deleting a key that is not there succeeds, as in Consul.
        self.assertTrue(c.kv.delete("kv5/never-existed"))


class BlockingQueryTest(ConsulTestCase):
    def blocking_get(self, key, index, wait, out):
        """Runs in a thread with its own client; stores (index, item, seconds taken)."""
        client = new_client()
        started = time.monotonic()
        try:
            got_index, item = client.kv.get(key, index=index, wait=wait)
            out["result"] = (got_index, item, time.monotonic() - started)
        except Exception as error:  # reported by the main thread
            out["error"] = error
        finally:
            client.http.session.close()

    def test_blocking_get_returns_on_change(self):
        c = self.c
        self.assertTrue(c.kv.put("block1/k", "before"))
        index, _ = c.kv.get("block1/k")
        out = {}
        thread = threading.Thread(target=self.blocking_get, args=("block1/k", index, "10s", out))
        thread.start()
        thread.join(0.5)
        self.assertTrue(thread.is_alive(), "a blocking get with the current index returned early: %r" % out)

        written = time.monotonic()
        self.assertTrue(c.kv.put("block1/k", "after"))
        thread.join(5)
        self.assertFalse(thread.is_alive(), "the blocking get did not return after the key changed")
        self.assertNotIn("error", out)
        new_index, item, _ = out["result"]
        self.assertLess(time.monotonic() - written, 2.0)
        self.assertEqual(item["Value"], b"after")
        self.assertGreater(int(new_index), int(index))
        self.assertEqual(int(new_index), item["ModifyIndex"])

    def test_blocking_get_ignores_unrelated_keys(self):
        c = self.c
        self.assertTrue(c.kv.put("block2/a", "a"))
        self.assertTrue(c.kv.put("block2/b", "b0"))
        index, _ = c.kv.get("block2/a")
        out = {}
        thread = threading.Thread(target=self.blocking_get, args=("block2/a", index, "2s", out))
        thread.start()
        thread.join(0.3)
        self.assertTrue(thread.is_alive(), "the blocking get returned before any write: %r" % out)
        for round_number in range(3):
            self.assertTrue(c.kv.put("block2/b", "b%d" % (round_number + 1)))
        thread.join(10)
        self.assertFalse(thread.is_alive(), "the blocking get did not time out")
        self.assertNotIn("error", out)
        new_index, item, elapsed = out["result"]
        self.assertGreaterEqual(elapsed, 1.8, "writes to block2/b woke a watcher of block2/a")
        self.assertLess(elapsed, 5.0)
        self.assertEqual(new_index, index)
        self.assertEqual(item["Value"], b"a")


    def test_blocking_get_on_missing_key_returns_when_created(self):
        c = self.c
        index, item = c.kv.get("block3/later")
        self.assertIsNone(item)
        out = {}
        thread = threading.Thread(target=self.blocking_get, args=("block3/later", index, "10s", out))
        thread.start()
        thread.join(0.3)
        self.assertTrue(thread.is_alive(), "a blocking get on a missing key returned early: %r" % out)
        written = time.monotonic()
        self.assertTrue(c.kv.put("block3/later", "here"))
        thread.join(5)
        self.assertFalse(thread.is_alive(), "the blocking get did not return when the key was created")
        self.assertNotIn("error", out)
        self.assertLess(time.monotonic() - written, 2.0)
        self.assertEqual(out["result"][1]["Value"], b"here")

    def test_blocking_health_service_returns_on_check_change(self):
        c = self.c
        self.assertTrue(c.agent.service.register("api", service_id="api-1", check=consul.Check.ttl("10s")))
        self.addCleanup(c.agent.service.deregister, "api-1")

        def registered():
            index, entries = c.health.service("api")
            return index if entries else None

        index = self.wait_for(registered, 5, "api-1 in health.service")
        self.assertEqual(c.health.service("api", passing=True)[1], [])
        out = {}

        def watch():
            client = new_client()
            try:
                out["result"] = client.health.service("api", index=index, wait="10s", passing=True)
            except Exception as error:
                out["error"] = error
            finally:
                client.http.session.close()

        thread = threading.Thread(target=watch)
        thread.start()
        thread.join(0.3)
        self.assertTrue(thread.is_alive(), "health.service with the current index returned early: %r" % out)
        self.assertTrue(c.agent.check.ttl_pass("service:api-1"))
        thread.join(5)
        self.assertFalse(thread.is_alive(), "health.service did not return when its check passed")
        self.assertNotIn("error", out)
        new_index, entries = out["result"]
        self.assertGreater(int(new_index), int(index))
        self.assertEqual([entry["Service"]["ID"] for entry in entries], ["api-1"])


class AgentServiceTest(ConsulTestCase):
    def passing_ids(self, name):
        _, entries = self.c.health.service(name, passing=True)
        return [entry["Service"]["ID"] for entry in entries]

    def test_register_ttl_check_pass_fail_deregister(self):
        c = self.c
        self.assertTrue(c.agent.service.register("web", service_id="web-1", port=8080, tags=["v1", "blue"],
                                                 check=consul.Check.ttl("10s")))
        services = c.agent.services()
        self.assertIn("web-1", services)
        self.assertEqual(services["web-1"]["Service"], "web")
        self.assertEqual(services["web-1"]["Port"], 8080)
        self.assertEqual(sorted(services["web-1"]["Tags"]), ["blue", "v1"])

        checks = c.agent.checks()
        self.assertIn("service:web-1", checks)
        check = checks["service:web-1"]
        self.assertEqual(check["ServiceID"], "web-1")
        self.assertEqual(check["Status"], "critical")

        # The catalog holds it; a critical check keeps it out of the passing view.
        self.wait_for(lambda: any(s["ServiceID"] == "web-1" for s in c.catalog.service("web")[1]), 5,
                      "web-1 in the catalog")
        self.assertEqual(self.passing_ids("web"), [])
        _, all_entries = c.health.service("web")
        self.assertEqual([entry["Service"]["ID"] for entry in all_entries], ["web-1"])
        self.assertEqual(all_entries[0]["Node"]["Node"], NODE)

        self.assertTrue(c.agent.check.ttl_pass("service:web-1", notes="all good"))
        self.wait_for(lambda: self.passing_ids("web") == ["web-1"], 5, "web-1 passing")
        self.assertEqual(c.agent.checks()["service:web-1"]["Status"], "passing")
        self.assertEqual(c.agent.checks()["service:web-1"]["Output"], "all good")

        self.assertTrue(c.agent.check.ttl_fail("service:web-1", notes="broken"))
        self.wait_for(lambda: self.passing_ids("web") == [], 5, "web-1 no longer passing")
        self.assertEqual(c.agent.checks()["service:web-1"]["Status"], "critical")

        self.assertTrue(c.agent.check.ttl_warn("service:web-1"))
        self.wait_for(lambda: c.agent.checks()["service:web-1"]["Status"] == "warning", 5, "warning status")

        self.assertTrue(c.agent.service.deregister("web-1"))
        self.assertNotIn("web-1", c.agent.services())
        self.assertNotIn("service:web-1", c.agent.checks())
        self.wait_for(lambda: c.catalog.service("web")[1] == [], 5, "web-1 gone from the catalog")
        self.assertEqual(c.health.service("web")[1], [])

    def test_ttl_pass_on_unknown_check_is_refused(self):
        # Consul refuses an unknown check; python-consul's CB.bool gives False on a 404
        # and raises on a 5xx. Either way the update must not look accepted.
        try:
            accepted = self.c.agent.check.ttl_pass("no-such-check")
        except consul.ConsulException:
            accepted = False
        self.assertFalse(accepted)


class CatalogTest(ConsulTestCase):
    def test_nodes_services_node_and_external_registration(self):
        c = self.c
        _, nodes = c.catalog.nodes()
        self.assertIn(NODE, [node["Node"] for node in nodes])

        self.assertTrue(c.catalog.register(
            "ext-1", "10.0.0.5",
            service={"Service": "db", "ID": "db-1", "Port": 5432, "Tags": ["primary"]},
            check={"Node": "ext-1", "CheckID": "service:db-1", "Name": "db alive", "Status": "passing",
                   "ServiceID": "db-1"}))
        _, nodes = c.catalog.nodes()
        by_name = {node["Node"]: node for node in nodes}
        self.assertIn("ext-1", by_name)
        self.assertEqual(by_name["ext-1"]["Address"], "10.0.0.5")

        _, services = c.catalog.services()
        self.assertEqual(services.get("db"), ["primary"])

        _, instances = c.catalog.service("db")
        self.assertEqual(len(instances), 1)
        self.assertEqual(instances[0]["Node"], "ext-1")
        self.assertEqual(instances[0]["ServiceID"], "db-1")
        self.assertEqual(instances[0]["ServicePort"], 5432)
        self.assertEqual(instances[0]["Address"], "10.0.0.5")
        self.assertEqual(len(c.catalog.service("db", tag="primary")[1]), 1)
        self.assertEqual(c.catalog.service("db", tag="replica")[1], [])

        _, node = c.catalog.node("ext-1")
        self.assertEqual(node["Node"]["Node"], "ext-1")
        self.assertEqual(node["Node"]["Address"], "10.0.0.5")
        self.assertIn("db-1", node["Services"])
        self.assertEqual(node["Services"]["db-1"]["Service"], "db")
        self.assertIsNone(c.catalog.node("no-such-node")[1])

        _, checks = c.health.node("ext-1")
        self.assertEqual([(check["CheckID"], check["Status"]) for check in checks], [("service:db-1", "passing")])
        _, passing_db = c.health.service("db", passing=True)
        self.assertEqual([entry["Node"]["Node"] for entry in passing_db], ["ext-1"])

        _, any_state = c.health.state("any")
        self.assertIn(("ext-1", "service:db-1"), [(check["Node"], check["CheckID"]) for check in any_state])
        _, critical = c.health.state("critical")
        self.assertNotIn("service:db-1", [check["CheckID"] for check in critical])

        self.assertTrue(c.catalog.deregister("ext-1", service_id="db-1"))
        self.assertEqual(c.catalog.service("db")[1], [])
        self.assertTrue(c.catalog.deregister("ext-1"))
        _, nodes = c.catalog.nodes()
        self.assertNotIn("ext-1", [node["Node"] for node in nodes])

    def test_node_meta_filter(self):
        c = self.c
        # 0.7.1 has no node_meta arguments; its HTTP layer sends what Consul 0.7.3+ accepts.
        for name, rack in [("ext-meta-1", "r7"), ("ext-meta-2", "r8")]:
            body = {"Node": name, "Address": "10.0.1.%s" % name[-1], "NodeMeta": {"rack": rack, "env": "qa"}}
            self.assertTrue(c.http.put(CB.bool(), "/v1/catalog/register", data=json.dumps(body)))
        _, nodes = c.http.get(CB.json(index=True), "/v1/catalog/nodes", params={"node-meta": "rack:r7"})
        self.assertEqual([node["Node"] for node in nodes], ["ext-meta-1"])
        self.assertEqual(nodes[0]["Meta"], {"rack": "r7", "env": "qa"})
        _, nodes = c.http.get(CB.json(index=True), "/v1/catalog/nodes", params={"node-meta": "env:qa"})
        self.assertEqual(sorted(node["Node"] for node in nodes), ["ext-meta-1", "ext-meta-2"])
        _, nodes = c.http.get(CB.json(index=True), "/v1/catalog/nodes",
                              params=[("node-meta", "env:qa"), ("node-meta", "rack:r8")])
        self.assertEqual([node["Node"] for node in nodes], ["ext-meta-2"])
        _, nodes = c.http.get(CB.json(index=True), "/v1/catalog/nodes", params={"node-meta": "rack:none"})
        self.assertEqual(nodes, [])
        for name in ("ext-meta-1", "ext-meta-2"):
            self.assertTrue(c.catalog.deregister(name))


class SessionTest(ConsulTestCase):
    def test_create_info_list_node_renew_destroy(self):
        c = self.c
        sid = c.session.create(name="s-basic", ttl=30)
        self.assertTrue(sid)
        _, info = c.session.info(sid)
        self.assertEqual(info["ID"], sid)
        self.assertEqual(info["Name"], "s-basic")
        self.assertEqual(info["Node"], NODE)
        self.assertEqual(info["Behavior"], "release")
        self.assertEqual(info["TTL"], "30s")

        self.assertIn(sid, [session["ID"] for session in c.session.list()[1]])
        self.assertIn(sid, [session["ID"] for session in c.session.node(NODE)[1]])
        self.assertEqual(c.session.node("some-other-node")[1], [])

        renewed = c.session.renew(sid)
        self.assertEqual(renewed["ID"], sid)

        self.assertTrue(c.session.destroy(sid))
        self.assertIsNone(c.session.info(sid)[1])
        self.assertNotIn(sid, [session["ID"] for session in c.session.list()[1]])
        with self.assertRaises(consul.NotFound):
            c.session.renew(sid)

    def test_delete_behavior_and_lock_delay(self):
        c = self.c
        sid = c.session.create(name="s-delete", behavior="delete", lock_delay=0)
        _, info = c.session.info(sid)
        self.assertEqual(info["Behavior"], "delete")
        self.assertEqual(info["LockDelay"], 0)
        self.assertTrue(c.kv.put("lock0/ephemeral", "x", acquire=sid))
        self.assertTrue(c.session.destroy(sid))
        self.assertIsNone(c.kv.get("lock0/ephemeral")[1])

    def test_acquire_release_and_contention(self):
        c = self.c
        first = c.session.create(name="holder")
        second = c.session.create(name="contender")
        self.assertNotEqual(first, second)

        self.assertTrue(c.kv.put("lock1/leader", "first", acquire=first))
        _, item = c.kv.get("lock1/leader")
        self.assertEqual(item["Session"], first)
        self.assertEqual(item["LockIndex"], 1)
        self.assertEqual(item["Value"], b"first")

        self.assertFalse(c.kv.put("lock1/leader", "second", acquire=second))
        _, item = c.kv.get("lock1/leader")
        self.assertEqual(item["Session"], first)
        self.assertEqual(item["Value"], b"first")
        # Releasing with a session that does not hold the lock fails too.
        self.assertFalse(c.kv.put("lock1/leader", "second", release=second))

        # The holder may acquire again (an update) without bumping LockIndex.
        self.assertTrue(c.kv.put("lock1/leader", "first-again", acquire=first))
        _, item = c.kv.get("lock1/leader")
        self.assertEqual(item["LockIndex"], 1)
        self.assertEqual(item["Value"], b"first-again")

        self.assertTrue(c.kv.put("lock1/leader", "released", release=first))
        _, item = c.kv.get("lock1/leader")
        self.assertNotIn("Session", item)
        self.assertEqual(item["Value"], b"released")

        self.assertTrue(c.kv.put("lock1/leader", "second", acquire=second))
        _, item = c.kv.get("lock1/leader")
        self.assertEqual(item["Session"], second)
        self.assertEqual(item["LockIndex"], 2)

        # Destroying the holder releases its lock (behavior "release" keeps the key).
        self.assertTrue(c.session.destroy(second))
        _, item = c.kv.get("lock1/leader")
        self.assertNotIn("Session", item)
        self.assertEqual(item["Value"], b"second")
        self.assertTrue(c.session.destroy(first))

    def test_session_expiry_releases_lock(self):
        c = self.c
        sid = c.session.create(name="expiring", ttl=10)
        created = time.monotonic()
        self.assertTrue(c.kv.put("lock2/expiring", "held", acquire=sid))
        self.assertEqual(c.kv.get("lock2/expiring")[1]["Session"], sid)

        def released():
            _, item = c.kv.get("lock2/expiring")
            return item is not None and "Session" not in item

        # Consul invalidates a session 2 x TTL after its last renewal; allow 30s in all.
        self.wait_for(released, 30, "the expired session's lock to be released")
        elapsed = time.monotonic() - created
        self.assertGreaterEqual(elapsed, 10.0, "the session expired before its TTL")
        self.assertIsNone(c.session.info(sid)[1])
        self.assertEqual(c.kv.get("lock2/expiring")[1]["Value"], b"held")
        with self.assertRaises(consul.NotFound):
            c.session.renew(sid)


class AgentAndStatusTest(ConsulTestCase):
    def test_agent_self_members_status(self):
        c = self.c
        me = c.agent.self()
        self.assertEqual(me["Config"]["NodeName"], NODE)
        self.assertEqual(me["Config"]["Datacenter"], "dc1")
        self.assertEqual(me["Member"]["Name"], NODE)

        members = c.agent.members()
        self.assertIn(NODE, [member["Name"] for member in members])

        leader = c.status.leader()
        self.assertTrue(leader)
        self.assertRegex(leader, r"^[0-9.]+:\d+$")
        self.assertIn(leader, c.status.peers())

        self.assertEqual(c.catalog.datacenters(), ["dc1"])

    def test_agent_services_checks_and_health_node(self):
        c = self.c
        self.assertTrue(c.agent.service.register("cache", service_id="cache-1", port=6379,
                                                 check=consul.Check.ttl("10s")))
        self.addCleanup(c.agent.service.deregister, "cache-1")
        self.assertIn("cache-1", c.agent.services())
        self.assertIn("service:cache-1", c.agent.checks())

        def node_checks():
            return {check["CheckID"]: check for check in c.health.node(NODE)[1]}

        self.wait_for(lambda: "service:cache-1" in node_checks(), 5, "cache-1's check in health.node")
        self.assertTrue(all(check["Node"] == NODE for check in node_checks().values()))
        self.assertTrue(c.agent.check.ttl_pass("service:cache-1"))
        self.wait_for(lambda: node_checks()["service:cache-1"]["Status"] == "passing", 5, "cache-1 passing")
        _, passing = c.health.state("passing")
        self.assertIn("service:cache-1", [check["CheckID"] for check in passing])
        _, any_state = c.health.state("any")
        self.assertIn("service:cache-1", [check["CheckID"] for check in any_state])


def b64(text):
    return base64.b64encode(text.encode()).decode()


class TxnTest(ConsulTestCase):
    """python-consul 0.7.1 has no txn API, so these go through its own HTTP layer."""

    def txn(self, ops, params=None):
        def status_and_body(response):
            return response.code, json.loads(response.body)
        return self.c.http.put(status_and_body, "/v1/txn", params=params, data=json.dumps(ops))

    def test_commit_and_read_back_through_the_kv_api(self):
        c = self.c
        code, body = self.txn([
            {"KV": {"Verb": "set", "Key": "txn/a", "Value": b64("one")}},
            {"KV": {"Verb": "cas", "Key": "txn/b", "Value": b64("two"), "Index": 0}},
            {"KV": {"Verb": "get", "Key": "txn/a"}},
        ])
        self.assertEqual(code, 200, body)
        self.assertIsNone(body["Errors"])
        self.assertEqual(len(body["Results"]), 3)
        self.assertEqual(base64.b64decode(body["Results"][2]["KV"]["Value"]), b"one")
        _, a = c.kv.get("txn/a")
        _, b = c.kv.get("txn/b")
        self.assertEqual((a["Value"], b["Value"]), (b"one", b"two"))
        self.assertEqual(a["ModifyIndex"], b["ModifyIndex"])

    def test_a_failed_operation_rolls_everything_back(self):
        c = self.c
        self.assertTrue(c.kv.put("txn/kept", "v"))
        index, kept = c.kv.get("txn/kept")
        code, body = self.txn([
            {"KV": {"Verb": "set", "Key": "txn/new", "Value": b64("x")}},
            {"KV": {"Verb": "cas", "Key": "txn/kept", "Value": b64("y"), "Index": kept["ModifyIndex"] + 99}},
        ])
        self.assertEqual(code, 409, body)
        self.assertIsNone(body["Results"])
        self.assertEqual([error["OpIndex"] for error in body["Errors"]], [1])
        self.assertIsNone(c.kv.get("txn/new")[1])
        self.assertEqual(c.kv.get("txn/kept")[1]["Value"], b"v")

    def test_catalog_operations_and_a_stale_read(self):
        c = self.c
        code, body = self.txn([
            {"Node": {"Verb": "set", "Node": {"Node": "txn-node", "Address": "10.9.9.9"}}},
            {"Service": {"Verb": "set", "Node": "txn-node",
                         "Service": {"ID": "txn-svc-1", "Service": "txn-svc", "Port": 9000}}},
        ])
        self.assertEqual(code, 200, body)
        self.addCleanup(c.catalog.deregister, "txn-node")
        _, instances = c.catalog.service("txn-svc")
        self.assertEqual([(i["Node"], i["ServicePort"]) for i in instances], [("txn-node", 9000)])
        code, body = self.txn([{"Node": {"Verb": "get", "Node": {"Node": "txn-node"}}}], params={"stale": ""})
        self.assertEqual(code, 200, body)
        self.assertEqual(body["Results"][0]["Node"]["Address"], "10.9.9.9")


class EventTest(ConsulTestCase):
    def test_fire_and_list(self):
        fired = self.c.event.fire("py-deploy", "v2")
        self.assertEqual(fired["Name"], "py-deploy")
        self.assertEqual(fired["Version"], 1)
        self.wait_for(lambda: self.c.event.list(name="py-deploy")[1], 5, "the fired event in event.list")
        index, listed = self.c.event.list(name="py-deploy")
        self.assertEqual(listed[-1]["ID"], fired["ID"])
        self.assertEqual(listed[-1]["Payload"], b"v2")
        self.assertIsNotNone(index)
        self.assertEqual(self.c.event.list(name="nothing-of-that-name")[1], [])

    def test_blocking_list_returns_on_a_new_event(self):
        index, _ = self.c.event.list(name="py-block")
        result = {}

        def block():
            client = new_client()
            try:
                result["answer"] = client.event.list(name="py-block", index=index, wait="20s")
            finally:
                client.http.session.close()

        waiter = threading.Thread(target=block)
        waiter.start()
        time.sleep(0.5)
        self.assertNotIn("answer", result)
        fired = self.c.event.fire("py-block", "go")
        waiter.join(30)
        new_index, listed = result["answer"]
        self.assertNotEqual(new_index, index)
        self.assertEqual(listed[-1]["ID"], fired["ID"])


if __name__ == "__main__":
    BINARY = roster_process.find_binary()
    roster_process.run_unittest_main()
