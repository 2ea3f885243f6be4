# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift hints (what another tool removed) and firewalld's shadowing helpers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portmatrix.xenserver.plugins.module_utils import drift_hints, firewalld

WANT_FWD = {"firewalld": ["policy pmx-input: target CONTINUE priority -100 ingress ANY egress HOST",
                          'policy pmx-input: rule priority="-10" port port="2049" protocol="tcp" reject',
                          "ipset pmx-pool-host-4: hash:net family=inet", "ipset pmx-pool-host-4: 198.51.100.11/32"]}
WANT_IPT = {4: [":PMX-INPUT", "-A PMX-INPUT -i lo -j RETURN", "-A INPUT -j PMX-INPUT  # after 0 rule(s) of INPUT"],
            6: [":PMX-INPUT", "-A PMX-INPUT -i lo -j RETURN", "-A INPUT -j PMX-INPUT  # after 0 rule(s) of INPUT"]}


def test_firewalld_reset_names_the_policy_and_ipsets_and_the_cause():
    hints = drift_hints.hints("firewalld", {"firewalld": []}, WANT_FWD)
    assert hints == ["the policy and ipsets are gone (ipset pmx-pool-host-4, policy pmx-input): another tool reset "
                     "firewalld's configuration (linux-system-roles firewall with previous: replaced?, or "
                     "/etc/firewalld restored from elsewhere)"]


def test_firewalld_files_gone_but_running_and_the_reverse():
    runtime_only = {"firewalld": [line + "  # runtime only" for line in WANT_FWD["firewalld"]]}
    assert "their files are gone" in drift_hints.hints("firewalld", runtime_only, WANT_FWD)[0]
    permanent_only = {"firewalld": [line + "  # permanent only" for line in WANT_FWD["firewalld"]]}
    assert "not running" in drift_hints.hints("firewalld", permanent_only, WANT_FWD)[0]
    one_rule_missing = {"firewalld": WANT_FWD["firewalld"][:1] + WANT_FWD["firewalld"][2:]}
    assert drift_hints.hints("firewalld", one_rule_missing, WANT_FWD) == []  # nothing gone: no guess


def test_iptables_flushed_jumps_gone_and_saved_file_replaced():
    flushed = drift_hints.hints("iptables", {4: [], 6: WANT_IPT[6]}, WANT_IPT)
    assert len(flushed) == 1 and flushed[0].startswith("the PMX chains are gone (IPv4): another tool flushed iptables")
    no_jump = drift_hints.hints("iptables", {4: WANT_IPT[4][:2], 6: WANT_IPT[6]}, WANT_IPT)
    assert no_jump == ["the jumps into PMX-INPUT and PMX-RESTRICT are gone from INPUT (IPv4): another tool rewrote INPUT"]
    saved = drift_hints.hints("iptables", WANT_IPT, WANT_IPT, {4: ["# /etc/iptables/rules.v4 missing"], 6: WANT_IPT[6]},
                              WANT_IPT)
    assert len(saved) == 1 and saved[0].startswith("the saved rules (IPv4) hold none of the PMX chains")
    assert drift_hints.hints("iptables", WANT_IPT, WANT_IPT, WANT_IPT, WANT_IPT) == []


def test_nftables_flushed():
    assert "flushed the ruleset" in drift_hints.hints("nftables", {"nftables": []}, {"nftables": ["x"]})[0]


RESTRICTED = {"tcp": [111, 445, 2049], "udp": [111, 5405]}


def ports_of(name):
    return {"nfs": ["2049/tcp"], "ssh": ["22/tcp"], "corosync": ["5404-5405/udp"]}.get(name, [])


def test_restricted_hits_ranges_and_protocols():
    assert firewalld.restricted_hits(["5400-5410/udp", "2049/udp", "x/tcp", "445/tcp"], RESTRICTED) == ["445/tcp", "5405/udp"]


def test_zone_openings_only_zones_in_use_and_accepting_rules():
    zones = firewalld.parse_zones("""public
  target: default
  interfaces: \n  sources: \n  services: nfs ssh
  ports: 111/udp 8080/tcp
  rich rules: \n\trule family="ipv4" source address="192.0.2.1" port port="445" protocol="tcp" accept
\trule port port="2049" protocol="tcp" reject
home
  target: default
  interfaces: \n  sources: \n  services: nfs
trusted
  target: ACCEPT
  interfaces: \n  sources: 192.0.2.9
""")
    lines = firewalld.zone_openings(zones, "public", RESTRICTED, ports_of)
    assert lines == [
        "zone public: service nfs opens 2049/tcp to every source while pmx-input is not running",
        "zone public: port 111/udp opens 111/udp to every source while pmx-input is not running",
        "zone public: rich rule 'rule family=\"ipv4\" source address=\"192.0.2.1\" port port=\"445\" protocol=\"tcp\" "
        "accept' opens 445/tcp to every source while pmx-input is not running",
        "zone trusted: target ACCEPT opens 111/tcp 445/tcp 2049/tcp 111/udp 5405/udp to the sources 192.0.2.9 while "
        "pmx-input is not running"]


def test_earlier_policies_only():
    policies = firewalld.parse_zones("""early (active)
  priority: -200
  target: CONTINUE
  ingress-zones: ANY
  egress-zones: HOST
  services: nfs corosync
late
  priority: -50
  egress-zones: HOST
  services: nfs
forward
  priority: -300
  egress-zones: ANY
  services: nfs
pmx-input (active)
  priority: -100
  egress-zones: HOST
  services: nfs
""")
    assert firewalld.earlier_policy_openings(policies, RESTRICTED, ports_of) == [
        "policy early (priority -200, before pmx-input): service corosync accepts 5405/udp",
        "policy early (priority -200, before pmx-input): service nfs accepts 2049/tcp"]
