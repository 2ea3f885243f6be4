# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify playbook's lists (plugins/plugin_utils/verify_report.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import verify_report

FLOWS = [
    {"dst": "pool-a2", "proto": "tcp", "addresses": ["198.18.1.12", "fd00:1::12", "198.18.1.0/24"], "ports": [443, 80]},
    {"dst": "pool-a2", "proto": "tcp", "addresses": ["198.18.1.12"], "ports": [443]},
    {"dst": "filer", "proto": "udp", "addresses": ["198.18.2.5"], "ports": [111, 2049]},
    {"dst": "filer", "proto": "udp", "addresses": ["198.18.2.5"], "ports": [111]},
]


def test_tcp_targets_one_per_address_and_port_without_networks():
    targets = verify_report.tcp_targets(FLOWS)
    assert targets == [{"dst": "pool-a2", "address": "198.18.1.12", "port": 443},
                       {"dst": "pool-a2", "address": "198.18.1.12", "port": 80},
                       {"dst": "pool-a2", "address": "fd00:1::12", "port": 443},
                       {"dst": "pool-a2", "address": "fd00:1::12", "port": 80}]
    assert verify_report.tcp_targets(None) == []


def test_tcp_results_from_the_registered_loops():
    loops = {"pool-a1": {"results": [
        {"item": {"dst": "pool-a2", "address": "198.18.1.12", "port": 443}, "elapsed": 0},
        {"item": {"dst": "pool-a2", "address": "fd00:1::12", "port": 80}, "msg": "Timeout when waiting for fd00:1::12:80"},
        {"item": {"dst": "x", "address": "198.18.9.9", "port": 1}, "skipped": True}]},
        "win": {"skipped": True, "results": []}}
    results = verify_report.tcp_results(loops)
    assert [(r["dst"], r["port"], r["family"], r["match"], r["observed"]) for r in results] == [
        ("pool-a2", 443, 4, True, "open"), ("pool-a2", 80, 6, False, "refused")]
    assert results[1]["detail"] == "Timeout when waiting for fd00:1::12:80 (fd00:1::12)"


def test_udp_lines_sorted_and_merged():
    assert verify_report.udp_lines({"pool-a1": FLOWS, "a": []}) == ["  pool-a1 -> filer 111,2049/udp"]
    assert verify_report.udp_lines({}) == ["  none"]


def test_summary_lines_list_udp_then_the_tcp_table():
    targets = {"pool-a1": [{"dst": "infra", "addresses": ["198.18.77.32"], "proto": "udp", "ports": [123],
                            "flows": ["ntp"]}]}
    lines = verify_report.summary_lines([], targets, "/tmp/v.html", lambda results: "table\nsummary line")
    assert lines[0].startswith("UDP flows, not tried")
    assert lines[-3:] == ["TCP flows, tried from each source host (HTML report: /tmp/v.html):", "table", "summary line"]
    assert any("pool-a1" in line and "123" in line for line in lines[1:-3]), lines
