#!/usr/bin/env python3
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the lab's probe should observe once the site playbook ran, from the matrix alone.

Reads the lab's lab.json (hosts, components, pools) and the matrix data, and writes the
probe's flow list as JSON: every matrix flow between lab hosts (both address families)
expected open, and flows that must be refused: the outsider to every restricted matrix
port, clustering ports across pools, matrix ports from hosts the matrix does not name,
and ports in no flow at all.  It does not use the planner: it is the independent
expectation the firewall is checked against.

Usage: tools/expected_flows.py LAB_JSON [--nfsv3-ports 892,662,32803/tcp,32769/udp] [--https-only]
"""

import argparse
import json
import sys

import collection_source

PUBLIC_ON_POOL_HOSTS = {("tcp", 22), ("tcp", 80), ("tcp", 443)}  # stock dom0 keeps these open
# XenServer 9 (lab kind xenserver9): what keeps them open is the zone's services; those of
# the collection's public ports (22, 80, 443) that the stock zone serves to everyone
XS9_PUBLIC_SERVICES = {"ssh": ("tcp", 22), "xapi-insecure": ("tcp", 80), "https": ("tcp", 443)}
XS9_ZONE_SERVICES = ("https",)  # in the zone whatever xapi enabled (lab/README.md)
DEFAULT_NFSV3_PORTS = "892,662,32803/tcp,32769/udp"  # the storage_filer role's pins


def load_matrix():
    return collection_source.load("plugins/module_utils/matrix.py", "portmatrix_matrix")


def public_on_pool_host(host):
    """(proto, port) of the collection's public ports that the pool host's stock firewall
    leaves open to everyone: no expectation is made for other sources there."""
    if host.get("firewall") != "xenserver9":
        return PUBLIC_ON_POOL_HOSTS
    enabled = set(host.get("xapi_services", [])) | set(XS9_ZONE_SERVICES)
    return {port for service, port in XS9_PUBLIC_SERVICES.items() if service in enabled}


def _listening(info, proto, port):
    return (proto == "tcp" and port == 22) or port in info["listen"][proto]


def _allowed(flow, src, dst, pools):
    if flow.scope == "any":
        return True
    if not src.get("pool") or src.get("pool") != dst.get("pool"):
        return False
    return flow.scope == "same_pool" or bool(pools[dst["pool"]]["clustered"])


def _ports(flow, matrix, nfsv3_ports, https_only, proto):
    ports = matrix.flow_ports(flow, nfsv3_ports=nfsv3_ports[proto])
    if https_only and "port_80_closable" in flow.notes:
        ports = tuple(p for p in ports if p != 80)
    return ports


def expected_flows(info, matrix, nfsv3_ports, https_only=False):
    hosts = info["hosts"]
    pools = info["pools"]
    opened = {}

    def add(src, dst, proto, port, expect, family, why):
        key = (src, dst, proto, port, family)
        if expect == "refused" and opened.get(key) == "open":
            return  # another flow opens it
        opened[key] = expect
        flows.append({"src": src, "dst": dst, "proto": proto, "port": port, "family": family,
                      "expect": expect, "why": why})

    flows = []
    served = {}  # dst host -> {(proto, port)}: every port it serves in the matrix
    for flow in matrix.FLOWS:
        if flow.optional:
            continue
        for dname, dst in hosts.items():
            if flow.destination not in dst["components"]:
                continue
            for proto in flow.protocols:
                ports = _ports(flow, matrix, nfsv3_ports, https_only, proto)
                if flow.scope == "clustered_pool":
                    ports = matrix.flow_ports(flow)
                served.setdefault(dname, set()).update((proto, p) for p in ports)
            for sname, src in hosts.items():
                if sname == dname or flow.source not in src["components"] or not _allowed(flow, src, dst, pools):
                    continue
                for proto in flow.protocols:
                    for port in _ports(flow, matrix, nfsv3_ports, https_only, proto):
                        if _listening(info, proto, port):
                            for family in (4, 6):
                                add(sname, dname, proto, port, "open", family, flow.id)

    for dname, ports in served.items():
        dst = hosts[dname]
        for proto, port in sorted(ports):
            if not _listening(info, proto, port):
                continue
            if "pool_host" in dst["components"] and (proto, port) in public_on_pool_host(dst):
                continue
            for sname, src in hosts.items():
                if sname == dname:
                    continue
                key = (sname, dname, proto, port, 4)
                if key in opened:
                    continue
                # the outsider everywhere; the others only where no flow names them
                if src["components"] or sname == "outsider":
                    why = "outsider" if not src["components"] else "not in the matrix for this source"
                    for family in (4, 6):
                        add(sname, dname, proto, port, "refused", family, why)

    # Ports in no flow at all: refused from every host, in both families from the outsider.
    control = info.get("control_ports", {})
    for dname, dst in hosts.items():
        if not dst["components"]:
            continue  # the outsider's own firewall is open
        for sname, src in hosts.items():
            if sname == dname:
                continue
            for proto in ("tcp", "udp"):
                for port in control.get(proto, [])[:1 if src["components"] else None]:
                    for family in ((4,) if src["components"] else (4, 6)):
                        add(sname, dname, proto, port, "refused", family, "port in no flow")
    return flows


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("lab_json")
    parser.add_argument("--nfsv3-ports", default=DEFAULT_NFSV3_PORTS)
    parser.add_argument("--https-only", action="store_true")
    args = parser.parse_args(argv)
    with open(args.lab_json) as handle:
        info = json.load(handle)
    nfsv3 = {"tcp": [], "udp": []}
    for spec in filter(None, args.nfsv3_ports.split(",")):
        port, _sep, proto = spec.partition("/")
        for one in ([proto] if proto else ["tcp", "udp"]):
            nfsv3[one].append(int(port))
    flows = expected_flows(info, load_matrix(), nfsv3, args.https_only)
    json.dump(flows, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
