# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify playbook's plan and report (plugins/plugin_utils/verify_report.py), on an engine estate."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import engine, report, verify_report

GROUPS = {
    "all": ["a1", "a2", "b1", "nas", "xc", "win", "lic"],
    "pool_hosts": ["a1", "a2", "b1"],
    "nfs_filers": ["nas"],
    "xencenters": ["xc", "win"],
    "license_servers": ["lic"],
}
HOSTS = {
    "a1": {"ansible_host": "198.18.1.11", "portmatrix_pool": "pool_a",
           "portmatrix_addresses": ["198.18.1.11", "fd00:1::11"]},
    "a2": {"ansible_host": "198.18.1.12", "portmatrix_pool": "pool_a",
           "portmatrix_addresses": ["198.18.1.12", "fd00:1::12"]},
    "b1": {"ansible_host": "198.18.1.21", "portmatrix_pool": "pool_b"},
    "nas": {"ansible_host": "198.18.1.40", "portmatrix_manage_firewall": False},
    "xc": {"ansible_host": "198.18.1.50"},
    "win": {"ansible_host": "198.18.1.51", "ansible_connection": "winrm"},
    "lic": {"ansible_host": "198.18.1.34"},
}


def plan(variables=None, extra=None):
    estate = engine.build_estate(GROUPS, HOSTS, extra or {"portmatrix_clustered_pools": ["pool_a"]}, lambda n: [])
    calls = engine.plan_hosts(estate, dict((h, dict(HOSTS[h], **(variables or {}).get(h, {}))) for h in HOSTS))
    flows = engine.destination_flows(estate, calls)
    return verify_report.probes(estate, calls, flows, verify_report.targets(estate, calls, flows))


def keyed(probes):
    return set((src, p["dst"], p["address"], p["proto"], p["port"], p["expect"]) for src, items in probes.items()
               for p in items)


def test_unmanaged_and_windows_hosts_are_never_sources():
    probes = plan()
    assert sorted(probes) == ["a1", "a2", "b1", "lic", "xc"]  # nas and win: never
    assert set(p["expect"] for p in probes["lic"]) == {"refused"}  # the matrix has no flow from lic
    assert "nas" not in probes and "win" not in probes


def test_matrix_flows_are_expected_open_in_every_family_both_hosts_have():
    found = keyed(plan())
    assert ("a1", "a2", "fd00:1::12", "tcp", 21064, "open") in found      # clustered pool, IPv6 too
    assert ("a1", "nas", "198.18.1.40", "udp", 2049, "open") in found     # UDP is tried
    assert ("a1", "lic", "198.18.1.34", "tcp", 27000, "open") in found
    assert not any(k[0] == "b1" and ":" in k[2] for k in found)           # b1 has no IPv6 address
    assert ("xc", "a1", "198.18.1.11", "tcp", 22, "open") in found


def test_one_restricted_port_each_managed_pair_is_expected_refused():
    probes = plan()
    refused = [(src, p["dst"], p["address"], p["proto"], p["port"]) for src, items in probes.items()
               for p in items if p["expect"] == "refused"]
    # b1 is no member of clustered pool_a: the lowest cluster port of a1 is refused to it, in its family
    assert ("b1", "a1", "198.18.1.11", "tcp", 8892) in refused
    # the license server restricts its ports; xc reaches none of them
    assert ("xc", "lic", "198.18.1.34", "tcp", 7279) in refused
    # never: to the unmanaged filer, to a host's public ports (22, 80, 443), or a port the source may reach
    assert not [r for r in refused if r[1] == "nas" or (r[3], r[4]) in {("tcp", 22), ("tcp", 80), ("tcp", 443)}]
    assert not [r for r in refused if r[0] in ("a1", "a2") and r[1] in ("a1", "a2")]
    assert len(set(r[:2] for r in refused)) == len(set((r[0], r[1], r[3]) for r in refused))  # one port per pair


def test_an_extra_rule_covering_the_source_is_not_sampled_and_strict_mode_samples_public_ports():
    extra = {"lic": {"portmatrix_extra_rules": [{"name": "xc", "sources": ["198.18.1.48/29"], "ports": [7279]}]}}
    refused = [(src, p["dst"], p["port"]) for src, items in plan(extra).items() for p in items
               if p["expect"] == "refused"]
    assert ("xc", "lic", 27000) in refused and ("xc", "lic", 7279) not in refused
    strict = plan({"b1": {"portmatrix_strict": True}})
    assert ("a1", "b1", "198.18.1.21", "tcp", 80, "refused") in keyed(strict)


def _answers(items, observed):
    return {"results": [{"observed": observed(p), "detail": "d"} for p in items]}


def test_verdicts_counts_and_only_failures_printed():
    probes = plan()
    registered = dict((src, _answers(items, lambda p: "open" if p["expect"] == "open" else "refused"))
                      for src, items in probes.items())
    done = verify_report.report(probes, registered, "/tmp/v.html", ["nas", "win"])
    counts = done["counts"]
    assert counts["failed"] == 0 and counts["passed"] == counts["flows"] > 0 and counts["refused_as_expected"] > 0
    assert counts["udp_tried"] > 0 and counts["udp_open"] == counts["udp_tried"]
    assert done["lines"][0].startswith("verify: %d flows from 5 hosts: %d passed" % (counts["flows"], counts["flows"]))
    assert done["lines"][0].endswith("not contacted (unmanaged): nas, win")
    assert done["lines"][1:] == ["HTML report: /tmp/v.html"]   # no line per passing flow

    # xc: a refused flow opened, a matrix flow closed; a1: UDP silent; b1's probe did not run
    first_refused = next(p for p in probes["xc"] if p["expect"] == "refused")
    first_open = next(p for p in probes["xc"] if p["expect"] == "open")
    registered["xc"] = _answers(probes["xc"], lambda p: {id(first_refused): "open", id(first_open): "timeout"}.get(
        id(p), "open" if p["expect"] == "open" else "refused"))
    registered["a1"] = _answers(probes["a1"], lambda p: "unknown" if p["proto"] == "udp" else "open")
    registered["b1"] = {"unreachable": True, "msg": "Failed to connect to the host via ssh\nmore"}
    done = verify_report.report(probes, registered, "/tmp/v.html")
    counts = done["counts"]
    assert counts["open_not_in_matrix"] == 1 and counts["closed_in_matrix"] == 1
    assert counts["not_tried"] == len(probes["b1"]) and counts["unknown"] > 0
    assert counts["failed"] == 2 + len(probes["b1"])
    failures = done["lines"][1:-1]
    assert len(failures) == 3, failures                        # b1 in one line
    assert any("open but not in the matrix" in line and "xc -> %s" % first_refused["dst"] in line for line in failures)
    assert any("closed but in the matrix" in line and first_open["flow"] in line for line in failures)
    assert "  FAILED b1: probe did not run on b1: Failed to connect to the host via ssh" in failures
    page = report.render_html(done["results"], title="verify")  # unknown and not-tried results render too
    assert page.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("expect, observed, verdict", [
    ("open", "open", ("open", True)), ("open", "refused", ("refused", False)), ("open", "timeout", ("refused", False)),
    ("refused", "refused", ("refused", True)), ("refused", "timeout", ("refused", True)),
    ("refused", "open", ("open", False)), ("open", "unknown", ("unknown", None)),
    ("refused", "not_tried", ("not_tried", False)), ("open", "error", ("error", False))])
def test_verdict(expect, observed, verdict):
    assert verify_report.verdict(expect, observed) == verdict


def test_the_refused_sample_is_bounded_and_still_covers_every_destination():
    destinations = ["d%02d" % i for i in range(40)]
    picked = [verify_report._sample(destinations, offset) for offset in range(5)]
    assert all(len(p) == verify_report.REFUSED_PER_SOURCE for p in picked)
    assert set(d for p in picked[:2] for d in p) == set(destinations)
    assert verify_report._sample(destinations[:3], 7) == destinations[:3]
