"""A Roster cluster on loopback for tests: servers that replicate the catalog with Raft
(-server -bootstrap-expect N) and client agents that keep no catalog, every process on
127.0.0.1 with its own free ports and data directory.

    cluster = RosterCluster(binary, servers=3, clients=2).start()
    cluster.leader()            # the server agent that leads, once one does
    cluster.clients[0].request("PUT", "/v1/kv/a", "1")
"""

import os
import shutil
import socket
import tempfile

from roster_process import FAST_GOSSIP_CONFIG, RosterAgent, wait_for


def free_gossip_port():
    """A port free for both UDP and TCP on 127.0.0.1 a moment ago."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise AssertionError("no free gossip port found")


def free_tcp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RosterCluster:
    def __init__(self, binary, servers=3, clients=2, prefix="cluster", log_level="info", extra_config="",
                 client_names=None):
        self.binary = binary
        self.root = tempfile.mkdtemp(prefix="roster-%s-" % prefix)
        self.config_path = os.path.join(self.root, "fast.yaml")
        with open(self.config_path, "w") as config:
            config.write(FAST_GOSSIP_CONFIG + extra_config)
        self.servers = []
        self.clients = []
        for i in range(servers):
            name = "%s-server-%d" % (prefix, i + 1)
            data_dir = os.path.join(self.root, name)
            os.makedirs(data_dir)
            agent = RosterAgent(binary, node=name, dev=False, data_dir=data_dir, config_files=[self.config_path],
                                serf_lan_port=free_gossip_port(), log_level=log_level, wait_for_leader=False,
                                extra_args=["-server", "-bootstrap-expect", str(servers), "-bind", "127.0.0.1",
                                            "-server-port", str(free_tcp_port())])
            self.servers.append(agent)
        for i in range(clients):
            name = client_names[i] if client_names else "%s-client-%d" % (prefix, i + 1)
            data_dir = os.path.join(self.root, name)
            os.makedirs(data_dir)
            agent = RosterAgent(binary, node=name, dev=False, data_dir=data_dir, config_files=[self.config_path],
                                serf_lan_port=free_gossip_port(), log_level=log_level, wait_for_leader=False,
                                extra_args=["-bind", "127.0.0.1"])
            self.clients.append(agent)

    @property
    def agents(self):
        return self.servers + self.clients

    def _join_args(self, agent):
        first = self.servers[0]
        if agent is first:
            return []
        return ["-retry-join", "127.0.0.1:%d" % first.serf_lan_port]

    def start_agent(self, agent):
        # Drop an earlier -retry-join and its value before adding the current one.
        cleaned = []
        skip = False
        for arg in agent.extra_args:
            if skip:
                skip = False
                continue
            if arg == "-retry-join":
                skip = True
                continue
            cleaned.append(arg)
        agent.extra_args = cleaned + self._join_args(agent)
        agent.start()
        return agent

    def start(self, timeout=60.0):
        for agent in self.agents:
            self.start_agent(agent)
        self.wait_for_leader(timeout)
        # Every agent has registered itself (anti-entropy) once the catalog lists it.
        wait_for(lambda: len(self.catalog_nodes()) == len(self.agents), timeout,
                 "all %d agents in the catalog" % len(self.agents))
        return self

    def server_address(self, agent):
        """The "ip:port" of a server's RPC port, as /v1/status/leader names it."""
        index = agent.extra_args.index("-server-port")
        return "127.0.0.1:%s" % agent.extra_args[index + 1]

    def leader(self, among=None):
        """The running server that every running server names as leader, or None."""
        servers = [s for s in (among or self.servers) if s.running()]
        answers = set()
        for server in servers:
            try:
                answers.add(server.get_json("/v1/status/leader", timeout=3))
            except (AssertionError, OSError, ValueError):
                return None
        if len(answers) != 1:
            return None
        address = answers.pop()
        for server in servers:
            if self.server_address(server) == address:
                return server
        return None

    def wait_for_leader(self, timeout=60.0, not_this=None):
        def found():
            leader = self.leader()
            if leader is None or leader is not_this:
                return None
            return leader
        return wait_for(found, timeout, "a cluster leader" + (" other than %s" % not_this.node if not_this else ""))

    def catalog_nodes(self):
        client = self.clients[0] if self.clients else self.servers[0]
        return {node["Node"] for node in client.get_json("/v1/catalog/nodes", timeout=10)}

    def stop(self):
        for agent in self.agents:
            if agent.running():
                agent.stop()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
