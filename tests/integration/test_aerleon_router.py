# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network team's side, proven by traffic: the flows playbook's Aerleon export, compiled by
aclgen for nftables and loaded unchanged into a router between two lab subnets
(lab/portmatrix_lab/router.py), lets through every matrix flow that crosses it and nothing else;
without one of its terms, that term's flows are refused.  Also: the export of the main lab's
inventory compiles for iptables (speedway), nftables, juniper and cisco."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest
import yaml

from conftest import PREFIX, _skip_reason

# a prefix of its own, outside the session lab's (whose up and down remove every namespace of theirs)
ROUTER_PREFIX = os.environ.get("PORTMATRIX_IT_PREFIX_ROUTER", PREFIX[:-1] + "r-")
ZONE_POLICY = "portmatrix-lab-router"
# flows the matrix never allows across the router: (src, dst, proto, port)
NOT_IN_MATRIX = [("out", "pool1", "tcp", 443), ("out", "lic", "tcp", 27000), ("xc", "pool1", "tcp", 8080),
                 ("xc", "filer", "tcp", 2049), ("lic", "pool1", "tcp", 443), ("pool2", "xc", "tcp", 22),
                 ("out", "filer", "udp", 2049)]


def playbook(collections, inventories, name, *args, **kwargs):
    binary = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1")
    argv = [binary] + [a for i in inventories for a in ("-i", i)] + ["portmatrix.xenserver." + name] + list(args)
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, env=env,
                          cwd=kwargs["cwd"], timeout=300, check=False)


def crossing(router, flows_json):
    """Probe flows of every pair of flows.json whose hosts are on different subnets, both families."""
    from portmatrix_lab.router import HOSTS
    with open(flows_json) as handle:
        pairs = json.load(handle)["pairs"]
    found = []
    for src, dst, proto, ports, _ in pairs:
        if src and HOSTS[src][0] != HOSTS[dst][0]:
            found += [{"src": src, "dst": dst, "proto": proto, "port": port, "family": family, "expect": "open"}
                      for port in ports for family in (4, 6)]
    return found


def listen_ports(flows):
    ports = {}
    for flow in flows:
        ports.setdefault(flow["dst"], {}).setdefault(flow["proto"], set()).add(flow["port"])
    return ports


def compile_and_load(router, policy_dir, out):
    from portmatrix_lab.router import compile_policies
    files, problems = compile_policies(policy_dir, out)
    assert problems == [], problems
    router.load_nft(os.path.join(out, ZONE_POLICY + ".nft"))
    return files


def not_as_expected(router, flows):
    results, summary = router.probe(flows)
    assert summary["flows"] == len(flows)
    return sorted((r["src"], r["dst"], r["proto"], r["port"], r["family"]) for r in results if r["match"] is False)


def test_router_forwards_exactly_the_compiled_export(tmp_path, collections_path):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from portmatrix_lab.router import Router
    router = Router(ROUTER_PREFIX, "/tmp/" + ROUTER_PREFIX.rstrip("-"))
    inventory = router.inventory()
    inventory["all"]["vars"] = {
        "portmatrix_flows_formats": ["json", "aerleon"],
        "portmatrix_aerleon_zones": {"lab_router": ["pool_host", "nfs_filer", "license_server", "xencenter"]}}
    inventory_path = str(tmp_path / "inventory.yml")
    with open(inventory_path, "w") as handle:
        yaml.safe_dump(inventory, handle)
    done = playbook(collections_path, [inventory_path], "flows", "-e", "portmatrix_flows_dir=flows", cwd=str(tmp_path))
    assert done.returncode == 0, done.stdout
    flows_dir = str(tmp_path / "flows")
    assert sorted(os.listdir(flows_dir)) == ["aerleon", "change-request.json", "flows.json"]
    allowed = crossing(router, os.path.join(flows_dir, "flows.json"))
    assert len(allowed) >= 40
    refused = [{"src": s, "dst": d, "proto": p, "port": port, "family": family, "expect": "refused"}
               for s, d, p, port in NOT_IN_MATRIX for family in (4, 6)]
    assert {("pool1", "lic", "tcp", 7279), ("xc", "pool1", "tcp", 22), ("pool2", "filer", "udp", 2049)} <= set(
        (f["src"], f["dst"], f["proto"], f["port"]) for f in allowed)
    try:
        router.up(listen_ports(allowed + refused))
        policy_dir = os.path.join(flows_dir, "aerleon")
        compile_and_load(router, policy_dir, str(tmp_path / "compiled"))
        assert not_as_expected(router, allowed + refused) == []
        perimeter = ("perimeter", "-e", "portmatrix_perimeter_policy=" + policy_dir,
                     "-e", "portmatrix_perimeter_report=perimeter")
        done = playbook(collections_path, [inventory_path], *perimeter, cwd=str(tmp_path))
        assert done.returncode == 0 and "0 missing, 0 extra" in done.stdout, done.stdout

        # the same without the license_checkout term: its flows, and only those, are refused
        path = os.path.join(policy_dir, "policies", "pol", ZONE_POLICY + ".yaml")
        with open(path) as handle:
            policy = yaml.safe_load(handle)
        policy["filters"][0]["terms"] = [t for t in policy["filters"][0]["terms"] if t["name"] != "license-checkout"]
        with open(path, "w") as handle:
            yaml.safe_dump(policy, handle)
        compile_and_load(router, policy_dir, str(tmp_path / "compiled-without"))
        assert not_as_expected(router, allowed + refused) == [
            (src, "lic", "tcp", 7279, family) for src in ("pool1", "pool2") for family in (4, 6)]
        # the perimeter check says the same, read-only, and exits non-zero
        done = playbook(collections_path, [inventory_path], *perimeter, cwd=str(tmp_path))
        assert done.returncode != 0 and "4 missing, 0 extra" in done.stdout, done.stdout
        with open(str(tmp_path / "perimeter.json")) as handle:
            missing = json.load(handle)["missing"]
        assert sorted((m["term"], m["destination"], m["port"]) for m in missing) == sorted(
            ("portmatrix-lab-router/license-checkout", address, 7279) for address in
            ("198.19.82.34/32", "fd00:82::34/128") for _ in (1, 2))
    finally:
        router.down()
    from portmatrix_lab.system import netns_list
    assert netns_list(ROUTER_PREFIX) == []


def test_lab_inventory_export_compiles_for_four_platforms(lab, tmp_path, collections_path):
    from portmatrix_lab.router import compile_policies
    inventory = str(tmp_path / "formats.yml")
    with open(inventory, "w") as handle:
        yaml.safe_dump({"all": {"vars": {"portmatrix_flows_formats": ["aerleon"]}}}, handle)
    done = playbook(collections_path, [lab.inventory_path, inventory], "flows", "-e", "portmatrix_flows_dir=flows",
                    cwd=str(tmp_path))
    assert done.returncode == 0, done.stdout
    assert os.listdir(str(tmp_path / "flows")) == ["aerleon"]
    files, problems = compile_policies(str(tmp_path / "flows" / "aerleon"), str(tmp_path / "out"))
    assert problems == []
    for ext in (".ipt", ".nft", ".jcl", ".acl"):
        assert "portmatrix-pool-host" + ext in files and "portmatrix-license-server" + ext in files
    assert "198.18.77.34/32" in files["portmatrix-license-server.ipt"]
