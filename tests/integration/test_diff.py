# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check mode as a person reads it: one line per rule, comments naming the flows, rich rules
and ipset entries as text; saved rules that differ from the running ones are drift."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from conftest import peers_of, saved


def test_iptables_rules_name_their_flows_and_the_diff_is_rules(lab, run_module):
    host = "pool-a3"
    lab.reset([host])
    args = peers_of(lab.info(), host)
    report = run_module(host, args, check=True, diff=True)
    added = report["rules_added"]["4"]
    assert ('-A PMX-xencenter -p tcp -m multiport --dports 22,443 -m comment --comment "xencenter_api,xencenter_ssh" '
            '-j ACCEPT') in added
    assert any("--comment clustering_tcp -j RETURN" in line for line in added)
    assert run_module(host, args)["changed"]
    # the comments are what iptables-save prints back: no drift on a second run
    assert run_module(host, args, check=True)["changed"] is False
    assert any("--comment clustering_udp" in line for line in saved(lab, host, 6))


def test_firewalld_diff_is_rich_rules_and_ipset_entries_not_xml(lab, run_module):
    host = "filer"
    lab.reset([host])
    args = dict(peers_of(lab.info(), host), nfsv3_ports=["892", "662", "32803/tcp", "32769/udp"])
    report = run_module(host, args, check=True, diff=True)
    added = report["rules_added"]["firewalld"]
    assert 'policy pmx-input: rule priority="-10" port port="2049" protocol="tcp" reject' in added
    assert "ipset pmx-pool-host-4: 198.18.77.11/32" in added
    assert not any("<" in line for line in added)
    # one line each: the policy, its rich rules, each ipset and each of its entries (about 60, not 230 of XML)
    assert len(added) == 1 + report["rule_count"]["firewalld"] + len([l for l in added if l.startswith("ipset ")])
    assert run_module(host, args)["changed"]
    lab.exec(host, ["sh", "-c", "firewall-cmd -q --ipset=pmx-pool-host-4 --remove-entry=198.18.77.12/32"], check=True)
    drift = run_module(host, args, check=True)
    assert drift["rules_removed"]["firewalld"] == ["ipset pmx-pool-host-4: 198.18.77.12/32  # permanent only"]
    assert drift["rules_added"]["firewalld"] == ["ipset pmx-pool-host-4: 198.18.77.12/32"]


def test_unsaved_is_drift(lab, run_module):
    host = "pool-b1"
    lab.reset([host])
    stock = lab.exec(host, ["cat", "/etc/sysconfig/iptables"], check=True).stdout
    args = peers_of(lab.info(), host)
    assert run_module(host, args)["changed"]
    lab.exec(host, ["sh", "-c", "cat > /etc/sysconfig/iptables"], stdin_text=stock, check=True)   # the stock file back
    report = run_module(host, args, check=True, diff=True)
    assert report["drift"] and report["unsaved"] and report["rules_added"] == {"4": [], "6": []}
    fixed = run_module(host, args)
    assert fixed["changed"] and fixed["persisted"]
    assert run_module(host, args, check=True)["drift"] is False
