# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restricted means restricted, and bans still ban: foreign ACCEPT rules cannot open a
restricted port, foreign REJECT/DROP rules (fail2ban's way) still refuse matrix sources.
Real netfilter and nftables, real connections."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from conftest import flow, peers_of, probe, saved


def sh(lab, host, script):
    return lab.exec(host, ["sh", "-c", script], check=True)


def test_iptables_foreign_accept_cannot_open_a_restricted_port_and_bans_still_ban(lab, run_module):
    host = "pool-a1"
    lab.reset([host])
    args = peers_of(lab.info(), host)
    assert run_module(host, args)["changed"]
    # a foreign ACCEPT just before the accepting jump (below the restrict jump): refused at once, no drift
    sh(lab, host, "n=$(iptables -S INPUT | grep -n -- '-j PMX-INPUT$' | cut -d: -f1) && "
                  "iptables -I INPUT $((n - 1)) -p tcp -m tcp --dport 21064 -j ACCEPT")
    probe(lab, [flow("outsider", host, "tcp", 21064, "refused"), flow("pool-a2", host, "tcp", 21064, "open")])
    quiet = run_module(host, args, check=True)
    assert quiet["changed"] is False and quiet["shadowing"] == {"4": [], "6": []}
    # the same rule on top of INPUT, above everything of ours (IPv4 and IPv6): drift, then enforced again
    sh(lab, host, "iptables -I INPUT 1 -p tcp -m tcp --dport 21064 -j ACCEPT && "
                  "ip6tables -I INPUT 1 -p tcp -m tcp --dport 21064 -j ACCEPT")
    probe(lab, [flow("outsider", host, "tcp", 21064, "open"), flow("outsider", host, "tcp", 21064, "open", family=6)])
    report = run_module(host, args, check=True)
    assert report["drift"] and report["shadowing"]["4"] == ["-A INPUT -p tcp -m tcp --dport 21064 -j ACCEPT"]
    assert "-A INPUT -j PMX-RESTRICT  # below -A INPUT -p tcp -m tcp --dport 21064 -j ACCEPT" in report["rules_removed"]["4"]
    foreign_before = [l for l in saved(lab, host) if "PMX-" not in l]
    assert run_module(host, args)["changed"]
    assert [l for l in saved(lab, host) if "PMX-" not in l] == foreign_before   # the foreign rules stay where they are
    assert [l for l in saved(lab, host) if l.startswith("-A INPUT")][:2] == [
        "-A INPUT -j PMX-RESTRICT", "-A INPUT -p tcp -m tcp --dport 21064 -j ACCEPT"]
    probe(lab, [flow("outsider", host, "tcp", 21064, "refused"), flow("outsider", host, "tcp", 21064, "refused", family=6),
                flow("xencenter", host, "tcp", 21064, "refused"), flow("pool-a2", host, "tcp", 21064, "open"),
                flow("pool-a3", host, "tcp", 21064, "open", family=6)])
    # a fail2ban-style ban of a matrix source, jumped from the top of INPUT: it still refuses it
    for tool, address in (("iptables", "198.18.77.12"), ("ip6tables", "fd77:18:77::12")):
        sh(lab, host, "{0} -N f2b-test && {0} -A f2b-test -s {1} -j REJECT && {0} -A f2b-test -j RETURN && "
                      "{0} -I INPUT 1 -p tcp -m multiport --dports 443,21064 -j f2b-test".format(tool, address))
    probe(lab, [flow("pool-a2", host, "tcp", 21064, "refused"), flow("pool-a2", host, "tcp", 21064, "refused", family=6),
                flow("pool-a2", host, "tcp", 443, "refused"), flow("pool-a3", host, "tcp", 21064, "open"),
                flow("pool-a2", host, "udp", 5405, "open")])
    assert run_module(host, args, check=True)["changed"] is False   # fail2ban on top is no drift


def test_nftables_foreign_accept_cannot_open_a_restricted_port_and_bans_still_ban(lab, run_module):
    host = "license2"
    lab.reset([host])
    args = peers_of(lab.info(), host)
    assert run_module(host, args)["changed"]
    sh(lab, host, "nft insert rule inet filter input tcp dport 27000 accept")
    probe(lab, [flow("outsider", host, "tcp", 27000, "open")])
    report = run_module(host, args, check=True)
    assert report["drift"] and report["shadowing"] == {"nftables": ["inet filter input: tcp dport 27000 accept"]}
    assert run_module(host, args)["changed"]
    probe(lab, [flow("outsider", host, "tcp", 27000, "refused"), flow("outsider", host, "tcp", 27000, "refused", family=6),
                flow("pool-a1", host, "tcp", 27000, "open"), flow("pool-b1", host, "tcp", 7279, "open", family=6)])
    sh(lab, host, "nft insert rule inet filter input ip saddr 198.18.77.11 drop && "
                  "nft insert rule inet filter input ip6 saddr fd77:18:77::11 reject")
    probe(lab, [flow("pool-a1", host, "tcp", 27000, "refused"), flow("pool-a1", host, "tcp", 27000, "refused", family=6),
                flow("pool-a2", host, "tcp", 27000, "open")])
    assert run_module(host, args, check=True)["changed"] is False
