# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall baselines an existing repository runs, beside the collection, in both orders,
proven by traffic (the table of docs/guides/existing-repo.md). On the session lab's filer
(firewalld) and san (iptables, hardened rules.v4); each test puts its host back to stock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO, PlaybookRunner, Runner, flow, peers_of, probe

FILER_OPEN = [flow("pool-a1", "filer", "tcp", 2049, "open"), flow("pool-c1", "filer", "tcp", 445, "open", family=6)]
FILER_SHUT = [flow("outsider", "filer", "tcp", 2049, "refused"), flow("outsider", "filer", "tcp", 445, "refused"),
              flow("xencenter", "filer", "tcp", 2049, "refused", family=6)]
SAN_OPEN = [flow("pool-a1", "san", "tcp", 3260, "open"), flow("pool-c1", "san", "tcp", 3260, "open", family=6)]
SAN_SHUT = [flow("outsider", "san", "tcp", 3260, "refused"), flow("xencenter", "san", "tcp", 3260, "refused", family=6)]


def opened(flows):
    return [dict(f, expect="open") for f in flows]


def shut(flows):
    return [dict(f, expect="refused") for f in flows]


@pytest.fixture(scope="module")
def baselines_path():
    """ansible.posix and community.general's ufw module (scripts/baseline_collections.py)."""
    dest = os.environ.get("PORTMATRIX_BASELINE_COLLECTIONS") or os.path.join(REPO, ".cache", "baseline-collections")
    subprocess.run([sys.executable, os.path.join(REPO, "scripts", "baseline_collections.py"), dest], check=True,
                   stdout=subprocess.DEVNULL)
    return dest


@pytest.fixture(scope="module")
def apply(lab, collections_path):
    """The collection's module on a host, as its role would call it; check=True is a drift check."""
    runner = Runner(lab, collections_path)

    def run(host, check=False):
        return runner(host, peers_of(lab.info(), host), check=check)
    return run


@pytest.fixture(scope="module")
def posix_firewalld(lab, collections_path, baselines_path):
    """ansible.posix.firewalld, ad hoc, as a baseline's tasks call it."""
    runner = Runner(lab, "%s:%s" % (collections_path, baselines_path))

    def run(host, **args):
        argv = runner.argv(host, args)
        argv[argv.index("portmatrix.xenserver.firewall_rules")] = "ansible.posix.firewalld"
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                              env=runner.env(), timeout=180, check=False)
        assert done.returncode == 0 and ("SUCCESS" in done.stdout or "CHANGED" in done.stdout), done.stdout
    return run


def lsr_previous_replaced(lab, host, services):
    """What linux-system-roles firewall 1.12.4-5-gdd1025a (library/firewall_lib.py,
    process_replaced_config) does with `previous: replaced` on a host that holds anything
    custom: every *.xml under /etc/firewalld removed, a reload, then the role's settings,
    permanent and runtime (here the services of its README's example)."""
    script = "find /etc/firewalld -name '*.xml' -delete && firewall-cmd -q --reload"
    for service in services:
        script += " && firewall-cmd -q --permanent --add-service=%s && firewall-cmd -q --add-service=%s" % (service, service)
    lab.exec(host, ["sh", "-c", script], check=True)


# geerlingguy.firewall 2.6.0-2-g00cae14, templates/firewall.bash.j2 rendered with its defaults
# (firewall_flush_rules_and_chains: true, log dropped packets, IPv6) and firewall_allowed_tcp_ports [22];
# firewall_ip6_additional_rules accepts ICMPv6, without which its final DROP stops neighbour discovery
# (no IPv6 at all, whatever the collection opens)
GEERLINGGUY_SCRIPT = """#!/bin/bash
iptables -P INPUT ACCEPT
iptables -P FORWARD ACCEPT
iptables -P OUTPUT ACCEPT
iptables -t nat -F
iptables -t mangle -F
iptables -F
iptables -X
iptables -A INPUT -i lo -j ACCEPT
iptables -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
iptables -A INPUT -p icmp --icmp-type echo-request -j ACCEPT
iptables -A OUTPUT -p udp --dport 123 -j ACCEPT
iptables -A INPUT -p udp --sport 123 -j ACCEPT
iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
iptables -A INPUT -m limit --limit 15/minute -j LOG --log-level 7 --log-prefix "Dropped by firewall: "
iptables -A INPUT -j DROP
ip6tables -F
ip6tables -X
ip6tables -A INPUT -i lo -j ACCEPT
ip6tables -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
ip6tables -A INPUT -p icmpv6 --icmpv6-type echo-request -j ACCEPT
ip6tables -A OUTPUT -p udp --dport 123 -j ACCEPT
ip6tables -A INPUT -p udp --sport 123 -j ACCEPT
ip6tables -A INPUT -p icmpv6 -j ACCEPT
ip6tables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
ip6tables -A INPUT -m limit --limit 15/minute -j LOG --log-level 7 --log-prefix "Dropped by firewall: "
ip6tables -A INPUT -j DROP
"""


def geerlingguy_restart(lab, host):
    """The role's `restart firewall` handler, and the unit's ExecStart at every boot."""
    lab.exec(host, ["sh", "-c", "cat > /etc/firewall.bash && chmod 744 /etc/firewall.bash && /etc/firewall.bash"],
             stdin_text=GEERLINGGUY_SCRIPT, check=True)


def boot_iptables(lab, host):
    """A Debian boot: netfilter-persistent loads the saved rules."""
    lab.exec(host, ["sh", "-c", "iptables-restore /etc/iptables/rules.v4 && ip6tables-restore /etc/iptables/rules.v6"],
             check=True)


def full_file_restore(lab, host):
    """A repository's own hardened rules file put in place by a template task and loaded in full."""
    lab.exec(host, ["sh", "-c", "cp /etc/iptables/hardened.v4 /etc/iptables/rules.v4 && "
                                "cp /etc/iptables/hardened.v6 /etc/iptables/rules.v6 && "
                                "iptables-restore /etc/iptables/rules.v4 && ip6tables-restore /etc/iptables/rules.v6"],
             check=True)


def zone_services(lab, host):
    return set(lab.exec(host, ["firewall-cmd", "--list-services"], check=True).stdout.split())


def assert_loud(result, hint, shadowing=None):
    assert result["drift"] and any(hint in h for h in result["hints"]), result["hints"]
    if shadowing:
        assert any(shadowing in line for lines in result["shadowing"].values() for line in lines), result["shadowing"]


def test_lsr_firewall_previous_replaced(lab, apply):
    """Collection, then the baseline: the policy and ipsets are gone and the zone's nfs and samba
    serve everyone; drift names them. Baseline, then collection: both in place, until the
    baseline's next run."""
    lab.reset(["filer"])
    apply("filer")
    lsr_previous_replaced(lab, "filer", ["ssh", "nfs", "samba"])
    probe(lab, FILER_OPEN + opened(FILER_SHUT[:2]))         # the outsider reaches 2049 and 445
    drift = apply("filer", check=True)
    assert_loud(drift, "the policy and ipsets are gone", "zone public: service nfs opens 2049/tcp")
    apply("filer")                                            # baseline first, then the collection
    probe(lab, FILER_OPEN + FILER_SHUT)
    assert {"nfs", "samba"} <= zone_services(lab, "filer")
    assert apply("filer", check=True)["changed"] is False
    lab.reset(["filer"])


def test_ansible_posix_firewalld_services_and_sources(lab, apply, posix_firewalld):
    """Zone services and a trusted source added with ansible.posix.firewalld, before and after the
    collection: the policy stays, the restricted ports stay restricted, nothing drifts. A policy
    evaluated before the collection's that accepts a restricted port is shadowing."""
    lab.reset(["filer"])
    posix_firewalld("filer", service="nfs", permanent=True, immediate=True, state="enabled")
    apply("filer")
    posix_firewalld("filer", service="samba", permanent=True, immediate=True, state="enabled")
    posix_firewalld("filer", source="198.18.77.99/32", zone="trusted", permanent=True, immediate=True, state="enabled")
    probe(lab, FILER_OPEN + FILER_SHUT)
    result = apply("filer", check=True)
    assert result["changed"] is False and result["shadowing"] == {}, result
    lab.exec("filer", ["sh", "-c", "firewall-cmd -q --permanent --new-policy=early && "
                                   "firewall-cmd -q --permanent --policy=early --set-priority=-200 && "
                                   "firewall-cmd -q --permanent --policy=early --add-ingress-zone=ANY && "
                                   "firewall-cmd -q --permanent --policy=early --add-egress-zone=HOST && "
                                   "firewall-cmd -q --permanent --policy=early --add-service=nfs && firewall-cmd -q --reload"],
             check=True)
    probe(lab, FILER_OPEN + [opened(FILER_SHUT)[0]])          # the early policy lets the outsider in
    result = apply("filer", check=True)
    assert result["shadowing"] == {"firewalld": [
        "policy early (priority -200, before pmx-input): service nfs accepts 2049/tcp"]}, result
    lab.reset(["filer"])


def test_geerlingguy_style_flush_and_rewrite(lab, apply):
    """Collection, then the script (a restart, or a boot): the PMX chains are gone and the script's
    final DROP shuts the matrix flows; drift says so. Script, then collection: both in place;
    saving the script's rules before the collection runs keeps both across a boot."""
    lab.reset(["san"])
    apply("san")
    geerlingguy_restart(lab, "san")
    probe(lab, shut(SAN_OPEN) + SAN_SHUT)
    assert_loud(apply("san", check=True), "the PMX chains are gone (IPv4)")
    lab.reset(["san"])
    geerlingguy_restart(lab, "san")                           # the pattern: script, save, then the collection
    lab.exec("san", ["sh", "-c", "iptables-save > /etc/iptables/rules.v4 && ip6tables-save > /etc/iptables/rules.v6"],
             check=True)
    apply("san")
    probe(lab, SAN_OPEN + SAN_SHUT)
    boot_iptables(lab, "san")                                 # a boot without the script's unit
    probe(lab, SAN_OPEN + SAN_SHUT)
    assert apply("san", check=True)["changed"] is False
    lab.reset(["san"])


def test_full_file_iptables_restore(lab, apply):
    """Collection, then a repository's full rules file (template + iptables-restore): running and
    saved rules lose the PMX chains, the matrix flows are refused; drift names both. File first,
    then the collection: both in place, across a boot."""
    lab.reset(["san"])
    lab.exec("san", ["sh", "-c", "cp /etc/iptables/rules.v4 /etc/iptables/hardened.v4 && "
                                 "cp /etc/iptables/rules.v6 /etc/iptables/hardened.v6"], check=True)
    apply("san")
    full_file_restore(lab, "san")
    probe(lab, shut(SAN_OPEN) + SAN_SHUT)
    drift = apply("san", check=True)
    assert_loud(drift, "the PMX chains are gone (IPv4)")
    assert_loud(drift, "the saved rules (IPv4) hold none of the PMX chains")
    apply("san")
    probe(lab, SAN_OPEN + SAN_SHUT)
    boot_iptables(lab, "san")
    probe(lab, SAN_OPEN + SAN_SHUT)
    lab.reset(["san"])


def matrix_flows(lab, hosts):
    """Every flow the matrix expects to and from nothing else but hosts, and those it forbids
    (tools/expected_flows.py, independent of the planner)."""
    done = subprocess.run([sys.executable, os.path.join(REPO, "tools", "expected_flows.py"), lab.path("lab.json")],
                          stdout=subprocess.PIPE, universal_newlines=True, check=True)
    return [f for f in json.loads(done.stdout) if f["dst"] in hosts]


def test_existing_repo_layout_twice(lab, collections_path, baselines_path):
    """A repository's own site.yml (tests/integration/existing_repo): its baseline role, then the
    collection's role, its own group names. After each of two runs every matrix flow to its hosts
    connects and the outsider is refused; the second run changes nothing."""
    hosts = ["filer", "san"]
    lab.reset(hosts)
    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "existing_repo")
    run_playbook = PlaybookRunner(lab, "%s:%s" % (collections_path, baselines_path))
    flows = matrix_flows(lab, hosts)
    assert any(f["src"] == "outsider" and f["expect"] == "refused" for f in flows)
    for attempt in (1, 2):
        done = run_playbook(os.path.join(repo, "site.yml"), inventories=[os.path.join(repo, "inventory")])
        assert done.returncode == 0, done.stdout[-5000:]
        probe(lab, flows)
        recap = dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", done.stdout, re.M))
        assert sorted(recap) == hosts, done.stdout[-3000:]
        if attempt == 1:
            assert "RUNNING HANDLER [baseline_firewall : Restart firewall]" in done.stdout
        else:
            assert recap == {"filer": "0", "san": "0"}, done.stdout[-5000:]
    assert {"nfs", "samba"} <= zone_services(lab, "filer")
    lab.reset(hosts)


def test_community_general_ufw_reset_and_enable(lab, apply, baselines_path, collections_path):
    """community.general.ufw (reset, allow 22/tcp, enable) on a host whose firewall is ufw's:
    ufw touches only its own chains, so both orders keep the matrix. The collection first, ufw's
    first enable then: ufw's jumps land below PMX-INPUT; the collection's next run moves the
    accepting jump below them (ufw's deny rules first), and ufw's later runs keep it there."""
    runner = Runner(lab, "%s:%s" % (collections_path, baselines_path))

    def ufw():
        for args in ({"state": "reset"}, {"rule": "allow", "port": "22", "proto": "tcp"}, {"state": "enabled"}):
            argv = runner.argv("san", args)
            argv[argv.index("portmatrix.xenserver.firewall_rules")] = "community.general.ufw"
            done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                                  env=runner.env(), timeout=180, check=False)
            assert done.returncode == 0, done.stdout
    lab.reset(["san"])
    lab.exec("san", ["sh", "-c", "iptables -F INPUT && ip6tables -F INPUT"], check=True)  # ufw alone
    apply("san")
    ufw()
    probe(lab, SAN_OPEN + SAN_SHUT)
    drift = apply("san", check=True)
    assert drift["hints"] == [] and [line.split("  #")[0] for line in drift["rules_added"]["4"]] == ["-A INPUT -j PMX-INPUT"]
    apply("san")
    ufw()                                                     # the baseline's next run
    probe(lab, SAN_OPEN + SAN_SHUT)
    assert apply("san", check=True)["changed"] is False
    assert "-A INPUT -j ufw-track-input" in lab.exec("san", ["iptables", "-S", "INPUT"], check=True).stdout
    lab.exec("san", ["ufw", "--force", "disable"], check=True)
    lab.reset(["san"])
