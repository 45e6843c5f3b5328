"""Runs a Roster cluster on loopback for a client suite written in another language:
three servers and one client agent named by --client-name. Prints "HTTP_PORT <port>" of
the client agent once the cluster has a leader and the client is in its catalog, then
runs until its standard input closes, and stops every agent.

    ROSTER_BIN=build/agent/roster /usr/bin/python3 tests/clients/run_cluster.py --client-name n

Agent logs go to the log file named by --log (all agents, appended), so the suite can
print them when it fails.
"""

import argparse
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roster_process  # noqa: E402
from roster_cluster import RosterCluster  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client-name", required=True, help="node name of the client agent")
    parser.add_argument("--log", required=True, help="file the agents' logs are appended to")
    args = parser.parse_args()
    binary = roster_process.find_binary([])
    cluster = RosterCluster(binary, servers=3, clients=1, prefix="suite", client_names=[args.client_name])
    try:
        cluster.start(timeout=90)
        print("HTTP_PORT %d" % cluster.clients[0].port, flush=True)
        sys.stdin.read()  # until the suite closes our stdin (or exits)
    finally:
        cluster.stop()
        with open(args.log, "a") as log:
            for agent in cluster.agents:
                log.write("\n======== roster agent %s ========\n%s" % (agent.node, agent.log()))
        cluster.cleanup()


if __name__ == "__main__":
    main()
