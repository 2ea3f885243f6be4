# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Aerleon export: its files, compiled by the real aclgen, and the check of a policy directory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import sys

import pytest
import yaml

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import aerleon, engine, report, settings

from test_engine import GROUPS, HOSTS, estate  # noqa: E402  (beside this file; pytest puts it on sys.path)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), *([os.pardir] * 4)))
sys.path.insert(0, os.path.join(REPO, "lab"))
from portmatrix_lab.router import compile_policies  # noqa: E402  (the lab's aclgen runner)

V6_HOSTS = dict(HOSTS, lic={"portmatrix_addresses": ["192.0.2.34", "2001:db8::34"]},
                lic2={"ansible_host": "192.0.2.35"})
V6_GROUPS = dict(GROUPS, license_servers=["lic", "lic2"], all=GROUPS["all"] + ["lic2"])
SERVED = ["a1", "a2", "a3", "b1", "nas", "lic", "lic2", "xc", "dc"]


def the_export(zones=None, targets=None, per_host=None):
    e = estate(V6_GROUPS, V6_HOSTS, {"portmatrix_clustered_pools": ["pool_a"]})
    calls = engine.plan_hosts(e, dict((h, (per_host or {}).get(h, {})) for h in SERVED))
    flows = engine.destination_flows(e, calls)
    return e, flows, aerleon.export(e, flows, zones, targets)


def export_files(**options):
    return the_export(**options)[2]


def write(directory, files):
    aerleon.write_export(str(directory), files)
    return str(directory)


def test_networks_services_and_one_term_per_flow():
    files = export_files(per_host={"lic2": {"portmatrix_license_vendor_daemon_port": 7300}})
    networks = yaml.safe_load(files[aerleon.NETWORKS_FILE])["networks"]

    def addresses(name):
        return [v["address"] for v in networks[name]["values"]]
    assert addresses("PMX_LICENSE_SERVER") == ["192.0.2.34", "2001:db8::34", "192.0.2.35"]   # v4 and v6
    assert addresses("PMX_RESOURCE_POOL_POOL_A") == ["192.0.2.11", "192.0.2.112", "2001:db8::12", "192.0.2.13"]
    assert "PMX_API_CLIENT" not in networks              # no host plays it: no name, no term
    services = yaml.safe_load(files[aerleon.SERVICES_FILE])["services"]
    assert services["PMX_LICENSE_REQUEST"] == [{"port": 27000, "protocol": "tcp"}]
    # a configurable port as the inventory sets it: one service per variant, one term each
    assert services["PMX_LICENSE_CHECKOUT"] == [{"port": 7279, "protocol": "tcp"}]
    assert services["PMX_LICENSE_CHECKOUT_2"] == [{"port": 7300, "protocol": "tcp"}]
    assert {"port": 32769, "protocol": "udp"} in services["PMX_NFSV3_ANCILLARY"]
    lic = yaml.safe_load(files["policies/pol/portmatrix-license-server.yaml"])["filters"][0]
    assert list(lic["header"]["targets"]) == ["nftables", "speedway", "juniper", "cisco"]
    assert lic["header"]["targets"]["cisco"] == "portmatrix-license-server mixed"
    terms = dict((t["name"], t) for t in lic["terms"])
    assert sorted(terms) == ["license-checkout", "license-checkout-2", "license-request"]
    assert terms["license-checkout"]["destination-address"] == "PMX_HOST_LIC"
    assert terms["license-checkout-2"]["destination-port"] == "PMX_LICENSE_CHECKOUT_2"
    assert terms["license-request"]["destination-address"] == "PMX_LICENSE_SERVER"
    assert terms["license-request"]["source-address"] == "PMX_POOL_HOST"
    assert terms["license-request"]["comment"] == "matrix row license_request from pool_hosts; vendor port table"
    pool = yaml.safe_load(files["policies/pol/portmatrix-pool-host.yaml"])["filters"][0]["terms"]
    clustering = [t for t in pool if t["name"] == "clustering-tcp"]
    assert clustering[0]["source-address"] == clustering[0]["destination-address"] == "PMX_RESOURCE_POOL_POOL_A"
    assert "in pool pool_a" in clustering[0]["comment"]
    assert not [t for t in pool if "POOL_B" in t["source-address"]]        # a pool of one has no pool flow


class Unsafe(str):
    """What Ansible's variables hold (AnsibleUnsafeText is a str subclass)."""


def test_ansible_strings_are_written_as_plain_yaml():
    e = estate({"pool_hosts": [Unsafe("a1"), Unsafe("a2")]},
               {Unsafe("a1"): {"ansible_host": Unsafe("192.0.2.11"), "portmatrix_pool": Unsafe("p")},
                Unsafe("a2"): {"ansible_host": Unsafe("192.0.2.12"), "portmatrix_pool": Unsafe("p")}})
    calls = engine.plan_hosts(e, {"a1": {}, "a2": {}})
    files = aerleon.export(e, engine.destination_flows(e, calls))
    assert "comment: a1\n" in files[aerleon.NETWORKS_FILE] and "!!python" not in files[aerleon.NETWORKS_FILE]


def test_zones_and_targets():
    files = export_files(zones={"storage": ["nfs_filer"], "services": ["license_server", "domain_controller"]},
                         targets={"nftables": "mixed forward"})
    policies = sorted(n for n in files if n.startswith(aerleon.POLICY_DIR))
    assert policies == ["policies/pol/portmatrix-pool-host.yaml", "policies/pol/portmatrix-services.yaml",
                        "policies/pol/portmatrix-storage.yaml"]
    services = yaml.safe_load(files["policies/pol/portmatrix-services.yaml"])["filters"][0]
    assert services["header"]["targets"] == {"nftables": "mixed forward"}
    assert {"ldap", "license-request"} <= set(t["name"] for t in services["terms"])


@pytest.mark.parametrize("name, value, message", [
    ("portmatrix_flows_formats", ["csv", "pdf"], "must be a list of csv, json, md, aerleon"),
    ("portmatrix_aerleon_zones", {"a": ["nfs_filer"], "b": ["nfs_filer"]}, "goes into one policy"),
    ("portmatrix_aerleon_zones", {"a": ["nas"]}, "nas"),
    ("portmatrix_aerleon_targets", {"nftables": ["mixed"]}, "options as one string"),
])
def test_bad_flows_settings(name, value, message):
    with pytest.raises(ValueError, match=message):
        settings.check(name, value)


def test_aclgen_compiles_the_export_for_four_platforms(tmp_path):
    files = export_files(zones={"storage": ["nfs_filer"]})
    out, problems = compile_policies(write(tmp_path / "policy", files), str(tmp_path / "out"))
    assert problems == []
    for policy in ("portmatrix-pool-host", "portmatrix-storage", "portmatrix-license-server"):
        assert sorted(n for n in out if n.startswith(policy + ".")) == [
            policy + ext for ext in (".acl", ".ipt", ".jcl", ".nft")]
    nft, ipt = out["portmatrix-license-server.nft"], out["portmatrix-license-server.ipt"]
    assert "type filter hook forward priority 0; policy drop;" in nft
    comments = re.findall(r'comment "([^"]*)"', "".join(v for k, v in out.items() if k.endswith(".nft")))
    assert comments and max(len(c) for c in comments) <= 128          # nft refuses longer ones
    assert "ip6 saddr 2001:db8::12/128 ip6 daddr 2001:db8::34/128 tcp dport 27000 ct state new accept" in nft
    assert "-p tcp --dport 7279 -s 192.0.2.11/32 -d 192.0.2.34/32" in ipt
    assert "permit tcp host 192.0.2.50 host 192.0.2.11 eq 22" in out["portmatrix-pool-host.acl"]
    assert "permit tcp host 2001:db8::12 host 2001:db8::34 eq 27000" in out["portmatrix-license-server.acl"]
    assert "destination-port 2049;" in out["portmatrix-storage.jcl"]


def test_aclgen_reports_a_broken_policy(tmp_path):
    """The compile check can fail: a term naming an undefined service is an error of aclgen."""
    files = export_files()
    name = "policies/pol/portmatrix-license-server.yaml"
    files[name] = files[name].replace("PMX_LICENSE_REQUEST", "PMX_NO_SUCH_SERVICE")
    problems = compile_policies(write(tmp_path / "policy", files), str(tmp_path / "out"))[1]
    assert any("UndefinedServiceError" in p for p in problems) and "aclgen exit 1" in problems


def test_check_reports_a_removed_term_as_missing_and_an_added_one_as_extra(tmp_path, parse_page):
    e, flows, files = the_export()
    expected = aerleon.expected_atoms(e, flows)
    directory = write(tmp_path / "policy", files)
    same = aerleon.check(directory, expected)
    assert same["missing"] == [] and same["extra"] == [] and same["flows"] == len(expected) > 100

    path = os.path.join(directory, "policies/pol/portmatrix-license-server.yaml")
    with open(path) as handle:
        policy = yaml.safe_load(handle)
    terms = policy["filters"][0]["terms"]
    policy["filters"][0]["terms"] = [t for t in terms if t["name"] != "license-request"]
    policy["filters"][0]["terms"].append({"name": "team-web", "source-address": "PMX_XENCENTER",
                                          "destination-address": "192.0.2.34/32", "protocol": "tcp",
                                          "destination-port": "8080", "action": "accept"})
    with open(path, "w") as handle:
        yaml.safe_dump(policy, handle)
    result = aerleon.check(directory, expected)
    missing = set((m["term"], m["source"], m["destination"], m["protocol"], m["port"]) for m in result["missing"])
    assert ("portmatrix-license-server/license-request", "192.0.2.11/32", "192.0.2.34/32", "tcp", 27000) in missing
    assert ("portmatrix-license-server/license-request", "2001:db8::12/128", "2001:db8::34/128", "tcp",
            27000) in missing
    assert set(m[0] for m in missing) == {"portmatrix-license-server/license-request"}
    assert [(x["term"], x["source"], x["destination"], x["ports"]) for x in result["extra"]] == [
        ("team-web", "192.0.2.51/32", "192.0.2.34/32", "8080"), ("team-web", "192.0.2.50/32", "192.0.2.34/32", "8080")]
    text = aerleon.check_text(result)
    assert "2 extra" in text and "license-request" in text and "team-web" in text
    page = parse_page(report.render_perimeter_html(result))
    assert page.text_of["summary"].strip() == "perimeter: %d missing, 2 extra" % len(missing)
    rows = page.tables["missing"][1:]  # the first row is the header
    assert len(rows) == len(missing) and rows[0][0] == "portmatrix-license-server/license-request" and rows[0][5] == ""
    assert [row[1] for row in page.tables["extra"][1:]] == ["team-web", "team-web"]


def test_check_first_match_and_wide_terms(tmp_path):
    e, flows, files = the_export()
    expected = aerleon.expected_atoms(e, flows)
    name = "policies/pol/portmatrix-license-server.yaml"
    policy = yaml.safe_load(files[name])
    policy["filters"][0]["terms"][:0] = [
        {"name": "deny-lic", "destination-address": "192.0.2.34", "protocol": "tcp", "destination-port": "27000",
         "action": "deny"},
        {"name": "wide", "source-address": "192.0.2.0/24", "destination-address": "PMX_LICENSE_SERVER",
         "protocol": "tcp", "destination-port": "7279", "action": "accept"}]
    files[name] = yaml.safe_dump(policy)
    result = aerleon.check(write(tmp_path / "policy", files), expected)
    denied = [m for m in result["missing"] if m["denied_by"]]
    assert denied and all(m["destination"] == "192.0.2.34/32" and m["port"] == 27000 for m in denied)
    assert [(x["term"], x["source"]) for x in result["extra"]] == [("wide", "192.0.2.0/24")] * 2


def test_check_names_a_bad_directory(tmp_path):
    with pytest.raises(aerleon.PolicyError, match="no def directory"):
        aerleon.check(str(tmp_path), {})
    files = export_files()
    files[aerleon.NETWORKS_FILE] = "networks: {}\n"
    with pytest.raises(aerleon.PolicyError, match="network PMX_.* is not defined"):
        aerleon.check(write(tmp_path / "p", files), {})


def test_a_new_export_replaces_our_policies_and_keeps_the_teams(tmp_path):
    directory = write(tmp_path, export_files())
    team = os.path.join(directory, aerleon.POLICY_DIR, "team-edge.yaml")
    with open(team, "w") as handle:
        handle.write("filters: []\n")
    lonely = estate({"pool_hosts": ["a1"]}, {"a1": {"ansible_host": "192.0.2.11", "portmatrix_pool": "pool_a"}})
    calls = engine.plan_hosts(lonely, {"a1": {}})
    files = aerleon.export(lonely, engine.destination_flows(lonely, calls))
    assert sorted(files) == [aerleon.NETWORKS_FILE, aerleon.SERVICES_FILE]   # one host: no flow, no policy
    aerleon.write_export(directory, files)
    assert os.listdir(os.path.join(directory, aerleon.POLICY_DIR)) == ["team-edge.yaml"]
    fresh = write(tmp_path / "fresh", files)                                # a first export without flows
    assert sorted(os.listdir(os.path.join(fresh, "def"))) == ["portmatrix-networks.yaml", "portmatrix-services.yaml"]
