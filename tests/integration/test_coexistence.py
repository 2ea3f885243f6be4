# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Coexistence on iptables hosts: Docker's chains, fail2ban's chains with bans of matrix
sources, ufw's layout. The module's runs, drift checks and state=absent leave their rules
and the saved files byte for byte (saved files only gain and lose our lines), the matrix
flows work by traffic, bans still ban, and a reboot brings the same state back."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest

from conftest import COEXIST_PREFIX, Runner, built_lab, flow, peers_of
from portmatrix_lab.stock import XAPI_RUNTIME_RULES

ESTATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "estate_coexist.yml")
SAVED_FILES = {"xenserver": ("/etc/sysconfig/iptables", "/etc/sysconfig/ip6tables"),
               "debian": ("/etc/iptables/rules.v4", "/etc/iptables/rules.v6"),
               "ufw": ("/etc/iptables/rules.v4", "/etc/iptables/rules.v6")}

FLOWS = {
    "xs8": [flow("xs8b", "xs8", "tcp", 21064, "open"), flow("xs8b", "xs8", "tcp", 8892, "open", family=6),
            flow("xs8c", "xs8", "tcp", 21064, "refused"), flow("xs8c", "xs8", "tcp", 443, "refused", family=6),
            flow("xs8c", "xs8", "udp", 5405, "open"),                 # banned on 443 and 21064 only
            flow("outsider", "xs8", "tcp", 21064, "refused"), flow("outsider", "xs8", "tcp", 443, "open"),
            flow("xencenter", "xs8", "tcp", 443, "open"), flow("apiclient", "xs8", "tcp", 80, "open"),
            flow("xencenter", "xs8", "tcp", 8892, "refused")],
    "dock": [flow("xs8", "dock", "tcp", 3260, "open"), flow("xs8c", "dock", "tcp", 3260, "open", family=6),
             flow("outsider", "dock", "tcp", 3260, "refused"), flow("xencenter", "dock", "tcp", 3260, "refused"),
             flow("outsider", "dock", "tcp", 22, "refused"), flow("xencenter", "dock", "tcp", 22, "open")],
    "ufw": [flow("xs8", "ufw", "tcp", 27000, "open"), flow("xs8c", "ufw", "tcp", 7279, "open", family=6),
            flow("xs8b", "ufw", "tcp", 27000, "refused"), flow("xs8b", "ufw", "tcp", 7279, "open"),
            flow("outsider", "ufw", "tcp", 27000, "refused"), flow("outsider", "ufw", "tcp", 22, "open")],
}


@pytest.fixture(scope="module")
def coexist(collections_path):
    with built_lab(COEXIST_PREFIX, ESTATE) as the_lab:
        yield the_lab, Runner(the_lab, collections_path)


def runtime(lab, host):
    """Every table of both families, counters zeroed."""
    out = [lab.exec(host, [tool], check=True).stdout for tool in ("iptables-save", "ip6tables-save")]
    return [[re.sub(r"\[\d+:\d+\]", "[0:0]", l) for l in text.splitlines() if not l.startswith("#")] for text in out]


def not_ours(families):
    return [[l for l in lines if "PMX-" not in l] for lines in families]


def files(lab, host):
    kind = lab.info()["hosts"][host]["firewall"]
    return [lab.exec(host, ["cat", path], check=True).stdout for path in SAVED_FILES[kind]]


def probe(lab, flows):
    results, summary = lab.probe(flows)
    bad = [r for r in results if r["match"] is False]
    assert not bad, bad
    assert summary["flows"] == len(flows)


@pytest.mark.parametrize("host", sorted(FLOWS))
def test_docker_fail2ban_ufw_untouched_saved_files_merged_flows_by_traffic(coexist, host):
    lab, run_module = coexist
    lab.reset([host])
    before_runtime, before_files = runtime(lab, host), files(lab, host)
    args = peers_of(lab.info(), host)
    result = run_module(host, args)
    assert result["changed"] and result["backend"] == "iptables" and result["persisted"]
    probe(lab, FLOWS[host])
    assert not_ours(runtime(lab, host)) == before_runtime
    merged = files(lab, host)
    assert ["".join(l for l in text.splitlines(True) if "PMX-" not in l) for text in merged] == before_files
    assert all("-A INPUT -j PMX-INPUT" in text for text in merged)
    # drift, in check mode: nothing to do, nothing touched
    assert run_module(host, args, check=True)["changed"] is False
    assert files(lab, host) == merged
    # a reboot: the saved files loaded, then xapi, Docker and fail2ban start and put their rules back
    kind = lab.info()["hosts"][host]["firewall"]
    lab.exec(host, ["sh", "-c", "iptables-restore %s && ip6tables-restore %s" % SAVED_FILES[kind]], check=True)
    if kind == "xenserver":
        for rule in XAPI_RUNTIME_RULES:
            lab.exec(host, ["iptables"] + list(rule), check=True)
    if lab.info()["hosts"][host].get("extras"):
        lab.start_extras([host])
    assert run_module(host, args, check=True)["changed"] is False
    probe(lab, FLOWS[host])
    # absent: the saved files and every foreign rule byte for byte as before the first apply
    assert run_module(host, dict(args, state="absent"))["changed"]
    assert files(lab, host) == before_files
    assert runtime(lab, host) == before_runtime
