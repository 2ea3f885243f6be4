# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables backend and backend: auto on the lab: a Debian host with native nftables
(input policy drop), real nft, real connections; hosts where auto must refuse."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from conftest import flow, peers_of, probe, saved, stop_firewalld

HOST = "license2"
CONF = "/etc/nftables.conf"
OURS = "/etc/portmatrix/nftables.nft"


def ruleset(lab, host=HOST):
    return lab.exec(host, ["nft", "list", "ruleset"], check=True).stdout


def foreign_text(text):
    """`nft list ruleset` less our objects (sets and chains pmx_*, jumps into them) and counters;
    blank lines between objects are kept as nft prints them (one between two objects)."""
    kept, skipping = [], False
    for line in text.splitlines():
        if re.match(r"^\t(set|chain) pmx_\w+ \{$", line):
            skipping = True
        elif skipping:
            skipping = line != "\t}"
        elif not re.match(r"^\t\tjump pmx_\w+$", line):
            kept.append(re.sub(r" counter packets \d+ bytes \d+", "", line))
    text = "\n".join(kept)
    text = re.sub(r"\n\n+", "\n\n", text)
    return re.sub(r"\{\n\n", "{\n", re.sub(r"\n\n(\t?\})", r"\n\1", text))


def cat(lab, path, host=HOST):
    done = lab.exec(host, ["cat", path])
    return done.stdout if done.returncode == 0 else None


LICENSE_FLOWS = [
    flow("pool-a1", HOST, "tcp", 27000, "open"), flow("pool-b1", HOST, "tcp", 7279, "open"),
    flow("pool-a2", HOST, "tcp", 27000, "open", family=6), flow("pool-c1", HOST, "tcp", 7279, "open", family=6),
    flow("outsider", HOST, "tcp", 27000, "refused"), flow("outsider", HOST, "tcp", 27000, "refused", family=6),
    flow("xencenter", HOST, "tcp", 7279, "refused"), flow("pool-a1", HOST, "tcp", 8082, "refused"),
    flow("outsider", HOST, "tcp", 22, "open"),
]


def test_native_nftables_host_auto_apply_drift_persist_absent(lab, run_module):
    lab.reset([HOST])
    stock, conf = ruleset(lab), cat(lab, CONF)
    args = peers_of(lab.info(), HOST)
    probe(lab, [flow("pool-a1", HOST, "tcp", 27000, "refused"), flow("outsider", HOST, "tcp", 22, "open")])
    forced = run_module(HOST, dict(args, backend="iptables"), expect_failure=True)
    assert "backend iptables cannot open ports on this host: the native nftables chain(s) inet filter input (policy drop)" \
        in forced["msg"], forced["msg"]
    assert ruleset(lab) == stock

    check = run_module(HOST, args, check=True, diff=True)
    assert check["changed"] and check["backend"] == "nftables" and ruleset(lab) == stock
    result = run_module(HOST, args)
    assert result["changed"] and result["backend"] == "nftables" and result["persisted"]
    probe(lab, LICENSE_FLOWS)
    applied = ruleset(lab)
    assert foreign_text(applied) == foreign_text(stock) and applied != stock
    assert "\t\tjump pmx_input\n\t}" in applied   # appended: the chain relies on its policy
    assert cat(lab, CONF).startswith(conf) and cat(lab, CONF).count('include "%s"' % OURS) == 1
    assert run_module(HOST, args)["changed"] is False

    # drift: a stray accept in our chain, the jump moved to the top, an element gone from a set
    lab.exec(HOST, ["sh", "-c", "nft add rule inet filter pmx_input tcp dport 9999 accept && "
                    "h=$(nft -a list chain inet filter input | sed -n 's/.*jump pmx_input # handle //p') && "
                    "nft delete rule inet filter input handle $h && nft insert rule inet filter input jump pmx_input && "
                    "nft delete element inet filter pmx_pool_host_4 '{ 198.18.77.11 }'"], check=True)
    probe(lab, [flow("outsider", HOST, "tcp", 9999, "open"), flow("pool-a1", HOST, "tcp", 27000, "refused")])
    report = run_module(HOST, args, check=True)
    assert report["drift"] and "inet filter chain pmx_input: tcp dport 9999 accept" in report["rules_removed"]["nftables"]
    assert "inet filter set pmx_pool_host_4: 198.18.77.11/32" in report["rules_added"]["nftables"]
    assert run_module(HOST, args)["changed"]
    probe(lab, LICENSE_FLOWS + [flow("outsider", HOST, "tcp", 9999, "refused")])

    # as after a reboot: the host loads /etc/nftables.conf, which includes our file
    lab.exec(HOST, ["nft", "-f", CONF], check=True)
    assert run_module(HOST, args, check=True)["changed"] is False
    probe(lab, LICENSE_FLOWS)

    gone = run_module(HOST, dict(args, state="absent"))
    assert gone["changed"]
    assert ruleset(lab) == stock and cat(lab, CONF) == conf and cat(lab, OURS) is None
    assert run_module(HOST, dict(args, state="absent"))["changed"] is False


def test_auto_refuses_a_host_whose_firewalld_is_stopped(lab, run_module):
    """firewalld stopped on a firewalld host (with an iptables file too): an error, not iptables rules."""
    for host, holds_ours in (("infra", False), ("filer", True)):
        lab.reset([host])
        args = peers_of(lab.info(), host)
        if holds_ours:
            assert run_module(host, args)["backend"] == "firewalld"
        lab.exec(host, ["sh", "-c", "mkdir -p /etc/sysconfig && echo '*filter' > /etc/sysconfig/iptables"], check=True)
        stop_firewalld(lab, host)
        try:
            before = (saved(lab, host, 4), saved(lab, host, 6))
            failed = run_module(host, args, expect_failure=True)
            assert "firewalld is not running on this host, but its unit is enabled" in failed["msg"], failed["msg"]
            assert ("it holds this collection's objects (ipsets/pmx-" in failed["msg"]) is holds_ours
            assert (saved(lab, host, 4), saved(lab, host, 6)) == before
        finally:
            lab.exec(host, ["rm", "-f", "/etc/sysconfig/iptables"], check=True)
            lab.up()
    assert run_module("filer", peers_of(lab.info(), "filer"), check=True)["changed"] is False


def test_auto_keeps_iptables_hosts_on_iptables(lab, run_module):
    """A Debian iptables host and a dom0: iptables-nft's tables are not native nftables."""
    for host in ("license", "pool-b1"):
        lab.reset([host])
        assert run_module(host, peers_of(lab.info(), host), check=True)["backend"] == "iptables"


def test_xenserver9_dom0_on_firewalld_enforced_and_xapi_services_left_alone(lab, run_module):
    """A XenServer 9-like dom0: firewalld with xapi's services in the zone (dlm opens 21064 to all)."""
    host = "pool-c1"
    lab.reset([host])

    def zones():
        return [lab.exec(host, ["firewall-cmd"] + extra + ["--list-all-zones"], check=True).stdout for extra in ([], ["--permanent"])]
    before = zones()
    probe(lab, [flow("outsider", host, "tcp", 21064, "open")])
    args = peers_of(lab.info(), host)
    result = run_module(host, args)
    assert result["changed"] and result["backend"] == "firewalld"
    probe(lab, [flow("outsider", host, "tcp", 21064, "refused"), flow("pool-c2", host, "tcp", 21064, "refused"),  # pool_c is not clustered
                flow("pool-c2", host, "tcp", 443, "open"), flow("xencenter", host, "tcp", 443, "open", family=6),
                flow("outsider", host, "tcp", 443, "open"), flow("outsider", host, "tcp", 80, "open")])
    assert zones() == before
    # xapi closes port 80 its way (xapi-insecure leaves the zone): nothing of ours drifts
    uuid = lab.info()["hosts"][host]["uuid"]
    lab.exec(host, ["xe", "host-param-set", "uuid=%s" % uuid, "https-only=true"], check=True)
    probe(lab, [flow("outsider", host, "tcp", 80, "refused"), flow("apiclient", host, "tcp", 443, "open")])
    assert run_module(host, args, check=True)["changed"] is False
    # xapi changes its services at runtime only; a change of ours reloads firewalld, which must not undo them
    lab.exec(host, ["firewall-cmd", "--zone=public", "--remove-service=nbd"], check=True)  # as xapi does, NBD off
    runtime_before = zones()[0]
    assert "xapi-insecure" not in runtime_before.split("services:")[1].split("\n")[0]
    changed = run_module(host, dict(args, features=["ha"]))  # 694/udp between members: a reload
    assert changed["changed"]
    assert zones()[0] == runtime_before                      # xapi's runtime-only state is as it was
    probe(lab, [flow("outsider", host, "tcp", 80, "refused"), flow("pool-c2", host, "udp", 694, "open"),
                flow("outsider", host, "tcp", 10809, "refused")])
