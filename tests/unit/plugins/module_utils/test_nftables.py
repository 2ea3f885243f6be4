# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables backend on a ruleset as `nft -j` lists it; real nft runs in tests/integration."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

import pytest

from ansible_collections.portmatrix.xenserver.plugins.module_utils import _restore_runner, backend_choice, nftables, planner
from ansible_collections.portmatrix.xenserver.plugins.module_utils.transaction import Transaction

from netfilter_fake import DEBIAN_NFT, FakeNft

PLAN = planner.build_plan(["license_server"], peers={"pool_host": ["198.51.100.11", "198.51.100.10", "2001:db8::11"]},
                          guards=[("127.0.0.1", "22")])
INET = ("inet", "filter")


def backend(fake, state="present"):
    found = nftables.NftablesBackend(lambda argv, data=None: fake.run(argv, data), state=state, persist=False)
    found.nft = "/usr/sbin/nft"
    return found


def foreign(fake):
    """Everything in the ruleset that is not ours, without handles."""
    keep = []
    for item in fake.listing()["nftables"][1:]:
        (kind, obj), = item.items()
        if obj.get("name", "").startswith("pmx_") or obj.get("chain", "").startswith("pmx_"):
            continue
        if kind == "rule" and (_restore_runner.nft_target(obj) or "").startswith("pmx_"):
            continue
        keep.append({kind: dict((k, v) for k, v in obj.items() if k != "handle")})
    return keep


def test_tables_native_xtables_and_firewalld_told_apart():
    ruleset = nftables.Ruleset(DEBIAN_NFT)
    assert ruleset.tables == [INET, ("ip", "filter"), ("inet", "firewalld")]
    assert ruleset.native() == [INET]
    assert ruleset.dropping_inputs() == [(INET, "input", "policy drop")]
    assert ruleset.xtables_dropping_inputs() == []
    assert ruleset.jump_index(INET, "input") == 5   # no terminal rule: appended, the policy drops


def test_terminal_rules_and_bans():
    data = copy.deepcopy(DEBIAN_NFT)
    rules = data["nftables"]
    index = [i for i, item in enumerate(rules) if item.get("rule", {}).get("handle") == 9][0]

    def rule(handle, expr):
        return {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": handle, "expr": expr}}
    ban = rule(50, [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "192.0.2.9"}},
                    {"drop": None}])
    final = rule(51, [{"counter": {"packets": 3, "bytes": 200}}, {"reject": {"type": "icmpx", "expr": "admin-prohibited"}}])
    rules[index + 1:index + 1] = [ban, final]
    for item in rules:
        if item.get("chain", {}).get("name") == "input":
            item["chain"]["policy"] = "accept"
    ruleset = nftables.Ruleset(data)
    assert not ruleset.is_terminal(INET, ban["rule"]) and ruleset.is_terminal(INET, final["rule"])
    new_only = rule(52, [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "new"}}, {"drop": None}])
    assert ruleset.is_terminal(INET, new_only["rule"])                    # every new connection: the end
    assert not ruleset.is_terminal(INET, ruleset.chain_rules(INET, "input")[2])   # ct state invalid drop
    assert ruleset.jump_index(INET, "input") == 6   # after the ban, before the final reject
    assert ruleset.drops(INET, "input") == "rule 'counter packets 3 bytes 200 reject with icmpx admin-prohibited'"


def test_rule_text_as_nft_prints_it():
    ruleset = nftables.Ruleset(DEBIAN_NFT)
    assert [nftables.rule_text(r) for r in ruleset.chain_rules(INET, "input")] == [
        'iif "lo" accept', "ct state established,related accept", "ct state invalid drop",
        "meta l4proto { icmp, ipv6-icmp } accept", "tcp dport 22 accept"]


def test_desired_table_sets_chain_jump_and_comments():
    spec, = nftables.desired_tables(PLAN, nftables.Ruleset(DEBIAN_NFT))
    assert [s["name"] for s in spec["sets"]] == ["pmx_pool_host_4", "pmx_pool_host_6"]
    assert spec["sets"][0]["elem"] == [{"prefix": {"addr": "198.51.100.10", "len": 31}}]   # collapsed
    lines = nftables.view([spec])
    assert "inet filter chain pmx_input: iifname \"lo\" return" in lines
    assert "inet filter chain pmx_input: ip saddr 127.0.0.1 tcp dport 22 accept" in lines
    assert ('inet filter chain pmx_input: ip saddr @pmx_pool_host_4 tcp dport { 7279, 27000 } accept '
            'comment "license_checkout,license_request"') in lines
    assert not [line for line in lines if line.startswith("inet filter chain pmx_input") and "reject" in line]
    assert [line for line in lines if line.startswith("inet filter chain pmx_restrict")] == [
        "inet filter chain pmx_restrict", 'inet filter chain pmx_restrict: iifname "lo" return',
        "inet filter chain pmx_restrict: ip saddr 127.0.0.1 tcp dport 22 return",
        'inet filter chain pmx_restrict: ip saddr @pmx_pool_host_4 tcp dport { 7279, 27000 } return '
        'comment "license_checkout,license_request"',
        'inet filter chain pmx_restrict: ip6 saddr @pmx_pool_host_6 tcp dport { 7279, 27000 } return '
        'comment "license_checkout,license_request"',
        "inet filter chain pmx_restrict: tcp dport { 7279, 27000 } ct state new reject with tcp reset"]
    # the restrict jump on top, the accepting one at the end (the policy drops)
    assert lines[-2:] == ["inet filter chain input: jump pmx_restrict  # above every rule that can accept a restricted port",
                          "inet filter chain input: jump pmx_input  # after 5 rule(s) of input"]


def test_apply_idempotent_foreign_untouched_and_absent():
    fake = FakeNft(DEBIAN_NFT)
    before = foreign(fake)
    result = Transaction(backend(fake), PLAN, persist=False).run()
    assert result["changed"] and result["rule_count"] == {"nftables": 11}
    assert foreign(fake) == before
    again = Transaction(backend(fake), PLAN, persist=False).run()
    assert again["changed"] is False
    # drift: a stray rule in our chain and the jump moved to the top
    ruleset = json.loads(fake.run(["nft", "-j", "list", "ruleset"])[1])
    jump = [j for j in _restore_runner.nft_owned_jumps(ruleset, "pmx_") if _restore_runner.nft_target(j) == "pmx_input"][0]
    batch = {"nftables": [
        {"add": {"rule": {"family": "inet", "table": "filter", "chain": "pmx_input",
                          "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                                              "right": 9999}}, {"accept": None}]}}},
        {"delete": {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": jump["handle"]}}},
        {"insert": {"rule": {"family": "inet", "table": "filter", "chain": "input", "expr": jump["expr"]}}}]}
    assert fake.run(["nft", "-j", "-f", "/dev/stdin"], json.dumps(batch))[0] == 0
    drift = Transaction(backend(fake), PLAN, check_mode=True, persist=False).run()
    assert drift["rules_removed"]["nftables"] == [
        "inet filter chain pmx_input: tcp dport 9999 accept",
        "inet filter chain input: jump pmx_input  # after 0 rule(s) of input"]
    assert drift["rules_added"]["nftables"] == ["inet filter chain input: jump pmx_input  # after 5 rule(s) of input"]
    assert Transaction(backend(fake), PLAN, persist=False).run()["changed"]
    assert Transaction(backend(fake), PLAN, persist=False).run()["changed"] is False
    gone = Transaction(backend(fake, state="absent"), PLAN, persist=False).run()
    assert gone["changed"] and foreign(fake) == before
    assert "pmx_" not in json.dumps(fake.listing())


def test_snapshot_restores_the_earlier_owned_scope():
    fake = FakeNft(DEBIAN_NFT)
    Transaction(backend(fake), PLAN, persist=False).run()
    before = fake.listing()
    steps = backend(fake).snapshot()
    assert json.loads(json.dumps(steps)) == steps
    other = planner.build_plan(["license_server"], peers={"pool_host": ["192.0.2.1"]}, public_ports=[],
                               extra_rules=[{"name": "web", "sources": ["2001:db8::7"], "ports": [8443]}])
    Transaction(backend(fake), other, persist=False).run()
    assert nftables.view(_restore_runner.nft_owned(fake.listing(), "pmx_")) != nftables.view(_restore_runner.nft_owned(before, "pmx_"))
    assert _restore_runner.run_steps(steps, run=fake.run) == []
    assert nftables.view(_restore_runner.nft_owned(fake.listing(), "pmx_")) == nftables.view(_restore_runner.nft_owned(before, "pmx_"))
    assert foreign(fake) == foreign(FakeNft(before))


def test_a_refused_batch_changes_nothing():
    fake = FakeNft(DEBIAN_NFT)
    before = fake.listing()
    table = {"family": "inet", "name": "filter", "sets": [], "chains": [],
             "jumps": [{"chain": "nochain", "index": 0, "expr": [{"accept": None}]}]}
    spec = {"nft": "nft", "prefix": "pmx_", "tables": [table]}
    with pytest.raises(RuntimeError) as err:
        _restore_runner.restore_nft(spec, fake.run)
    assert "refused the change" in str(err.value) and fake.listing() == before


def test_persisted_file_and_include_line():
    ruleset = nftables.Ruleset(DEBIAN_NFT)
    text = nftables.persisted_text(nftables.desired_tables(PLAN, ruleset), ruleset)
    assert "\tset pmx_pool_host_4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 198.51.100.10/31 }\n\t}" in text
    assert text.splitlines()[-2:] == ["add rule inet filter input jump pmx_input",   # appended: the policy drops
                                      "insert rule inet filter input jump pmx_restrict"]
    conf = "#!/usr/sbin/nft -f\nflush ruleset\n"
    included = nftables.with_include(conf)
    assert nftables.with_include(included) == included and included.count("include") == 1
    assert nftables.without_include(included) == conf
    assert nftables.without_include(nftables.with_include("no newline")) == "no newline\n"


def test_persisted_inserts_go_from_the_last_position_up():
    tables = [{"family": "inet", "name": "filter", "sets": [], "chains": [],
               "jumps": [{"chain": "input", "index": 1, "expr": [{"jump": {"target": "pmx_a"}}]},
                         {"chain": "input", "index": 3, "expr": [{"jump": {"target": "pmx_b"}}]}]}]
    lines = nftables.persisted_text(tables, nftables.Ruleset(DEBIAN_NFT)).splitlines()
    assert lines[-2:] == ["insert rule inet filter input index 3 jump pmx_b", "insert rule inet filter input index 1 jump pmx_a"]


@pytest.mark.parametrize("wanted, state, running, expected, drops, result", [
    ("auto", "present", True, [], [], "firewalld"),
    ("auto", "present", False, [], [(INET, "input", "policy drop")], "nftables"),
    ("auto", "present", False, [], [], "iptables"),
    ("iptables", "absent", False, [], [(INET, "input", "policy drop")], "iptables"),
    ("nftables", "present", False, [], [(INET, "input", "policy drop")], "nftables"),
    ("auto", "present", False, ["its unit is enabled (x)"], [], "firewalld is not running on this host, but its unit is enabled"),
    ("iptables", "present", False, [], [(INET, "input", "policy drop")], "native nftables chain(s) inet filter input (policy drop)"),
    ("iptables", "present", True, [], [], "firewalld is running on this host"),
    ("nftables", "present", True, [], [], "firewalld is running on this host"),
])
def test_backend_choice(wanted, state, running, expected, drops, result):
    if result in backend_choice.BACKENDS:
        assert backend_choice.choose(wanted, state, running, expected, drops) == result
    else:
        with pytest.raises(backend_choice.ChoiceError) as err:
            backend_choice.choose(wanted, state, running, expected, drops)
        assert result in str(err.value)


def test_a_foreign_accept_of_a_restricted_port_moves_the_restrict_jump_above_it():
    fake = FakeNft(DEBIAN_NFT)
    Transaction(backend(fake), PLAN, persist=False).run()
    batch = {"nftables": [{"insert": {"rule": {"family": "inet", "table": "filter", "chain": "input", "expr": [
        {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 27000}}, {"accept": None}]}}}]}
    assert fake.run(["nft", "-j", "-f", "/dev/stdin"], json.dumps(batch))[0] == 0
    report = Transaction(backend(fake), PLAN, check_mode=True, persist=False).run()
    assert report["drift"] and report["rules_removed"]["nftables"] == [
        "inet filter chain input: jump pmx_restrict  # below tcp dport 27000 accept"]
    assert Transaction(backend(fake), PLAN, persist=False).run()["changed"]
    ruleset = nftables.Ruleset(fake.listing())
    assert [nftables.rule_text(r) for r in ruleset.chain_rules(INET, "input")][:2] == ["jump pmx_restrict", "tcp dport 27000 accept"]
    assert ruleset.shadowing(INET, "input", PLAN.restricted) == []
    # a ban on top (fail2ban's way) and harmless accepts above the restrict jump: no drift
    batch = {"nftables": [{"insert": {"rule": {"family": "inet", "table": "filter", "chain": "input", "expr": [
        {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "198.51.100.11"}},
        {"drop": None}]}}}]}
    assert fake.run(["nft", "-j", "-f", "/dev/stdin"], json.dumps(batch))[0] == 0
    assert Transaction(backend(fake), PLAN, persist=False).run()["changed"] is False
