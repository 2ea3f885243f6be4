# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report filters as the playbooks call them, through Ansible's templating."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleError, AnsibleFilterError

from ansible_collections.portmatrix.xenserver.plugins.filter.drift import drift_hosts, drift_report, drift_table
from ansible_collections.portmatrix.xenserver.plugins.filter.verify import verify_report
from ansible_collections.portmatrix.xenserver.plugins.filter.xensource_inventory import xensource_inventory

RUN = "/tmp/ansible-local-1"


def test_drift_report_and_table():
    host_vars = {"a": {"__drift_plan": {"portmatrix": {"manage": True}, "run": RUN},
                       "portmatrix_firewall": {"run": RUN, "backend": "nftables", "drift": True,
                                               "rules_added": {"nftables": ["tcp dport 443 accept"]}}}}
    value = drift_report(host_vars, ["a"], "yes")
    assert value["enforced"] is True and value["hosts"][0]["status"] == "corrected"
    assert "+ nft running" in drift_table(value)[2]
    bad = drift_report(host_vars, [], False, settings_error="no pool")
    assert bad["outcome"] == "bad_settings"
    with pytest.raises(AnsibleFilterError):
        drift_report(host_vars, ["zz"])
    with pytest.raises(AnsibleFilterError):
        drift_table(["not a report"])


def test_drift_hosts_are_the_rollouts_order_and_bad_settings_end_the_run():
    """Bad settings exited 4, like a host that could not be checked: the error raised here, while a play's
    hosts are worked out, ends ansible-playbook with 1."""
    assert drift_hosts({"ansible_facts": {"portmatrix_rollout": {"order": ["b", "a"]}}}) == ["b", "a"]
    assert drift_hosts({}) == []
    with pytest.raises(AnsibleError, match=r"bad settings, so no host was checked \(exit status 1\): portmatrix_pool"):
        drift_hosts({"__drift_settings_error": "portmatrix_pool is missing on pool-a1"})


def test_verify_filter():
    probes = {"a": [{"dst": "b", "address": "198.18.0.2", "proto": "tcp", "port": 22, "expect": "open", "flow": "ssh"}],
              "c": [{"dst": "b", "address": "198.18.0.2", "proto": "udp", "port": 53, "expect": "open", "flow": "dns"}]}
    host_vars = {"a": {"__verify_probe": {"results": [{"observed": "open", "detail": "connected"}]}}, "b": {}}
    value = verify_report(host_vars, probes, "/tmp/v.html", ["nas"])
    assert [r["match"] for r in value["results"]] == [True, False]  # c registered nothing: not tried
    assert value["counts"]["not_tried"] == 1 and "not contacted (unmanaged): nas" in value["lines"][0]
    limited = verify_report(host_vars, probes, "/tmp/v.html", [], ["a", "b"])  # --limit a,b: c was not asked
    assert [r["src"] for r in limited["results"]] == ["a"] and limited["counts"]["failed"] == 0
    with pytest.raises(AnsibleFilterError):
        verify_report(host_vars, ["a"], "/tmp/v.html")


def test_xensource_inventory_filter():
    assert xensource_inventory(b"INSTALLATION_UUID='u-1'\n") == {"INSTALLATION_UUID": "u-1"}
    assert xensource_inventory(None) == {}
    with pytest.raises(AnsibleFilterError):
        xensource_inventory(["a=b"])
