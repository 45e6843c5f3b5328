#!/usr/bin/python3
"""Ansible dynamic inventory from a Roster agent: GET /v1/roster/inventory.

    ROSTER_HTTP_ADDR=127.0.0.1:8500 ansible-inventory -i roster_inventory.py --list

The agent's address comes from $ROSTER_HTTP_ADDR, then $CONSUL_HTTP_ADDR, then
127.0.0.1:8500, as for the `roster` CLI. `--list` prints the whole inventory (with
`_meta.hostvars`, so Ansible never needs `--host`); `--host <name>` prints one host's
variables. Standard library only. Errors go to stderr with exit status 1.
"""

import json
import os
import sys
import urllib.error
import urllib.request


def agent_url():
    address = os.environ.get("ROSTER_HTTP_ADDR") or os.environ.get("CONSUL_HTTP_ADDR") or "127.0.0.1:8500"
    if "://" not in address:
        address = "http://" + address
    return address.rstrip("/")


def fetch_inventory():
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(agent_url() + "/v1/roster/inventory")
    token = os.environ.get("ROSTER_HTTP_TOKEN") or os.environ.get("CONSUL_HTTP_TOKEN")
    if token:
        request.add_header("X-Consul-Token", token)
    with opener.open(request, timeout=30) as response:
        return json.loads(response.read())


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        mode, host = "list", None
    elif len(argv) == 3 and argv[1] == "--host":
        mode, host = "host", argv[2]
    else:
        sys.stderr.write("usage: %s --list | --host <name>\n" % argv[0])
        return 1
    try:
        inventory = fetch_inventory()
    except (OSError, ValueError, urllib.error.URLError) as error:
        sys.stderr.write("roster inventory: cannot read %s/v1/roster/inventory: %s\n" % (agent_url(), error))
        return 1
    if mode == "list":
        json.dump(inventory, sys.stdout, indent=2, sort_keys=True)
    else:
        json.dump(inventory.get("_meta", {}).get("hostvars", {}).get(host, {}), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
