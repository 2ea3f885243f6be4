# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portmatrix.xenserver.plugins.module_utils import iptables, planner

from netfilter_fake import DOM0

PLAN = planner.build_plan(["pool_host"], peers={"xencenter": ["198.51.100.50"]},
                          pool_peers=["198.51.100.11"], clustered=True, guard=("127.0.0.1", "22"))


def test_parse_filter_table_ignores_other_tables():
    table = iptables.parse_filter_table(DOM0)
    assert list(table.chains) == ["INPUT", "FORWARD", "OUTPUT", "RH-Firewall-1-INPUT", "xapi-INPUT"]
    assert table.rules["INPUT"] == ["-A INPUT -j xapi-INPUT", "-A INPUT -j RH-Firewall-1-INPUT"]
    assert all("REDIRECT" not in r for rules in table.rules.values() for r in rules)


def test_jump_goes_after_xapi_before_the_stock_chain():
    assert iptables.jump_index(iptables.parse_filter_table(DOM0)) == 1
    debian = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -j REJECT\nCOMMIT\n"
    assert iptables.jump_index(iptables.parse_filter_table(debian)) == 2
    empty = "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n"
    assert iptables.jump_index(iptables.parse_filter_table(empty)) == 1


def test_render_chains_loopback_then_guard_then_sources_then_rejects():
    chains = iptables.render_chains(PLAN, 4)
    entry = chains["PMX-INPUT"]
    assert entry[0] == "-A PMX-INPUT -i lo -j RETURN"
    assert entry[1] == "-A PMX-INPUT -s 127.0.0.1/32 -p tcp -m tcp --dport 22 -j ACCEPT"
    assert "-A PMX-INPUT -s 198.51.100.11/32 -j PMX-pool_member" in entry
    assert entry[-1].endswith("-j REJECT --reject-with icmp-port-unreachable")
    assert chains["PMX-xencenter"] == ["-A PMX-xencenter -p tcp -m multiport --dports 22,443 -j ACCEPT"]
    six = iptables.render_chains(PLAN, 6)
    assert list(six) == ["PMX-INPUT"]  # no IPv6 peers: only loopback and the rejects
    assert six["PMX-INPUT"][0] == "-A PMX-INPUT -i lo -j RETURN"
    assert six["PMX-INPUT"][-1].endswith("icmp6-port-unreachable")


def test_multiport_chunks_of_fifteen():
    plan = planner.build_plan(["license_server"], extra_rules=[
        {"name": "many", "sources": ["192.0.2.1"], "protocol": "tcp", "ports": list(range(9000, 9020))}])
    rules = iptables.render_chains(plan, 4)["PMX-many"]
    assert len(rules) == 2 and rules[0].count(",") == 14


def test_payload_noflush_transaction():
    table = iptables.parse_filter_table(DOM0)
    payload = iptables.restore_payload(PLAN, 4, table)
    lines = payload.splitlines()
    assert lines[0] == "*filter" and lines[-1] == "COMMIT"
    assert ":PMX-INPUT - [0:0]" in lines
    assert "-I INPUT 2 -j PMX-INPUT" in lines
    assert not any(l.startswith(("-F", "-P")) or "RH-Firewall" in l or "xapi" in l for l in lines)


def test_views_detect_moved_jump_stray_rule_and_stale_chain():
    table = iptables.parse_filter_table(DOM0)
    want = iptables.desired_view(PLAN, 4, table)
    applied = DOM0.replace("-A INPUT -j RH-Firewall-1-INPUT\n", "-A INPUT -j PMX-INPUT\n-A INPUT -j RH-Firewall-1-INPUT\n")
    chains = iptables.render_chains(PLAN, 4)
    decl = "".join(":%s - [0:0]\n" % n for n in chains)
    body = "".join(r + "\n" for rules in chains.values() for r in rules)
    applied = applied.replace(":xapi-INPUT - [0:0]\n", ":xapi-INPUT - [0:0]\n" + decl).replace("COMMIT\n", body + "COMMIT\n")
    # applied now holds the wanted state after the nat table's COMMIT too; parse only filter.
    good = iptables.parse_filter_table(applied)
    assert iptables.owned_view(good) == want
    moved = iptables.parse_filter_table(applied.replace("-A INPUT -j PMX-INPUT\n-A INPUT -j RH-Firewall-1-INPUT\n",
                                                        "-A INPUT -j RH-Firewall-1-INPUT\n-A INPUT -j PMX-INPUT\n"))
    assert iptables.owned_view(moved) != want
    assert iptables.desired_view(PLAN, 4, moved) == want
    stray = iptables.parse_filter_table(applied.replace("COMMIT\n", "-A PMX-xencenter -p tcp -m tcp --dport 9999 -j ACCEPT\nCOMMIT\n"))
    assert "-A PMX-xencenter -p tcp -m tcp --dport 9999 -j ACCEPT" in iptables.owned_view(stray)
    stale = iptables.parse_filter_table(applied.replace(":xapi-INPUT - [0:0]\n", ":xapi-INPUT - [0:0]\n:PMX-old - [0:0]\n"))
    payload = iptables.restore_payload(PLAN, 4, stale)
    assert payload.index("-X PMX-old") > payload.index("-I INPUT")


def test_absent_payload_removes_only_owned():
    applied = DOM0.replace("-A INPUT -j RH-Firewall-1-INPUT\n", "-A INPUT -j PMX-INPUT\n-A INPUT -j RH-Firewall-1-INPUT\n")
    table = iptables.parse_filter_table(applied.replace(":xapi-INPUT - [0:0]\n", ":xapi-INPUT - [0:0]\n:PMX-INPUT - [0:0]\n"))
    payload = iptables.restore_payload(PLAN, 4, table, state="absent")
    assert payload.splitlines() == ["*filter", ":PMX-INPUT - [0:0]", "-D INPUT -j PMX-INPUT", "-X PMX-INPUT", "COMMIT"]
    assert iptables.desired_view(PLAN, 4, table, state="absent") == []


def test_rule_count_for_8_and_64_pool_peers():
    def count(n):
        plan = planner.build_plan(["pool_host"], pool_peers=["10.1.%d.%d" % (i // 250, i % 250 + 1) for i in range(n)],
                                  peers={"xencenter": ["10.2.0.1"]}, clustered=True)
        table = iptables.parse_filter_table(DOM0)
        return iptables.count_rules(iptables.desired_view(plan, 4, table))
    assert count(64) - count(8) == 56  # one dispatch rule per added peer, nothing per port
    assert count(64) < 100
