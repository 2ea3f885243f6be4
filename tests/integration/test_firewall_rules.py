# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewall_rules on the lab: real netfilter, real firewalld, real SSH, real connections."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from conftest import flow, foreign, peers_of, probe, saved, stop_firewalld

POOL_HOSTS = ["pool-a1", "pool-a2", "pool-a3", "pool-b1"]
NFS_PINNED = ["892", "662", "32803/tcp", "32769/udp"]


@pytest.fixture(scope="module")
def pools_applied(lab, run_module):
    lab.reset(POOL_HOSTS)
    before = dict((h, (saved(lab, h, 4), saved(lab, h, 6))) for h in POOL_HOSTS)
    info = lab.info()
    results = dict((h, run_module(h, peers_of(info, h))) for h in POOL_HOSTS)
    return before, results


def test_pool_hosts_apply_and_real_traffic(lab, pools_applied):
    before, results = pools_applied
    assert all(r["changed"] and r["backend"] == "iptables" for r in results.values())
    probe(lab, [
        # the matrix, allowed
        flow("xencenter", "pool-a1", "tcp", 22, "open"),
        flow("xencenter", "pool-a1", "tcp", 443, "open"),
        flow("xencenter", "pool-a1", "tcp", 443, "open", family=6),
        flow("apiclient", "pool-a1", "tcp", 80, "open"),
        flow("pool-a2", "pool-a1", "tcp", 8892, "open"),
        flow("pool-a2", "pool-a1", "tcp", 21064, "open"),
        flow("pool-a3", "pool-a1", "udp", 5404, "open"),
        flow("pool-a3", "pool-a1", "udp", 5405, "open", family=6),
        # clustering only inside the clustered pool
        flow("pool-b1", "pool-a1", "tcp", 8892, "refused"),
        flow("pool-b1", "pool-a1", "tcp", 21064, "refused"),
        flow("pool-a1", "pool-b1", "tcp", 21064, "refused"),
        flow("pool-a1", "pool-b1", "udp", 5405, "refused"),
        # the outsider: matrix-only ports refused (21064 and 5404-5405 are open to all in stock dom0)
        flow("outsider", "pool-a1", "tcp", 21064, "refused"),
        flow("outsider", "pool-a1", "tcp", 21064, "refused", family=6),
        flow("outsider", "pool-a1", "udp", 5405, "refused"),
        flow("outsider", "pool-a1", "tcp", 8892, "refused"),
        # not in the matrix at all
        flow("pool-a2", "pool-a1", "tcp", 8080, "refused"),
        flow("xencenter", "pool-a1", "tcp", 9999, "refused"),
        # public_ports default: the management API stays as open as on a stock host
        flow("outsider", "pool-a1", "tcp", 443, "open"),
    ])


def test_pool_hosts_foreign_rules_untouched_and_persisted(lab, pools_applied):
    before = pools_applied[0]
    for host in POOL_HOSTS:
        for index, family in enumerate((4, 6)):
            after = saved(lab, host, family)
            assert foreign(after) == foreign(before[host][index]), host
        v4 = saved(lab, host, 4)
        assert [l for l in v4 if l.startswith("-A INPUT")] == [
            "-A INPUT -j PMX-RESTRICT", "-A INPUT -j xapi-INPUT", "-A INPUT -j PMX-INPUT", "-A INPUT -j RH-Firewall-1-INPUT"]
        assert any(l.startswith("-A xapi-INPUT") for l in v4)
        persisted = lab.exec(host, ["cat", "/etc/sysconfig/iptables"], check=True).stdout
        assert "-A INPUT -j PMX-INPUT" in persisted and "-A PMX-pool_member" in persisted
        assert "-A INPUT -j PMX-INPUT" in lab.exec(host, ["cat", "/etc/sysconfig/ip6tables"], check=True).stdout


def test_second_run_changes_nothing(lab, run_module, pools_applied):
    info = lab.info()
    for host in ("pool-a1", "pool-b1"):
        result = run_module(host, peers_of(info, host))
        assert result["changed"] is False and result["drift"] is False


def test_drift_found_by_check_mode_and_corrected(lab, run_module, pools_applied):
    host, args = "pool-a1", peers_of(lab.info(), "pool-a1")
    # a stray ACCEPT inside our chain: it works while the jump is in place
    lab.exec(host, ["iptables", "-I", "PMX-INPUT", "1", "-p", "tcp", "-m", "tcp", "--dport", "9999", "-j", "ACCEPT"], check=True)
    probe(lab, [flow("outsider", host, "tcp", 9999, "open")])
    # a required rule deleted, and the accepting jump moved after the final REJECT: the stock rules
    # decide what is accepted, the restrict jump on top still keeps restricted ports restricted
    lab.exec(host, ["sh", "-c", "iptables -D PMX-pool_member -p udp -m multiport --dports 5404,5405 -m comment --comment clustering_udp -j ACCEPT && "
                    "iptables -D INPUT -j PMX-INPUT && iptables -A INPUT -j PMX-INPUT"], check=True)
    probe(lab, [flow("outsider", host, "tcp", 21064, "refused"), flow("pool-a2", host, "tcp", 8892, "refused"),
                flow("pool-a2", host, "tcp", 21064, "open")])
    drifted = saved(lab, host)
    report = run_module(host, args, check=True, diff=True)
    assert report["changed"] and report["drift"]
    assert "-A PMX-INPUT -p tcp -m tcp --dport 9999 -j ACCEPT" in report["rules_removed"]["4"]
    assert ("-A PMX-pool_member -p udp -m multiport --dports 5404,5405 -m comment --comment clustering_udp -j ACCEPT"
            in report["rules_added"]["4"])
    assert any(l.startswith("-A INPUT -j PMX-INPUT  # after 1 rule(s)") for l in report["rules_added"]["4"])
    assert "diff" in report or "PMX-pool_member" in json.dumps(report)
    assert saved(lab, host) == drifted, "check mode changed the firewall"
    fixed = run_module(host, args)
    assert fixed["changed"] and fixed["drift"]
    probe(lab, [flow("outsider", host, "tcp", 9999, "refused"), flow("pool-a2", host, "udp", 5405, "open"),
                flow("pool-a2", host, "tcp", 8892, "open"), flow("outsider", host, "tcp", 21064, "refused")])
    assert run_module(host, args)["changed"] is False


def test_reload_from_saved_files_keeps_the_rules(lab, run_module, pools_applied):
    """As after a reboot: the iptables service loads the saved files."""
    host, args = "pool-a2", peers_of(lab.info(), "pool-a2")
    lab.exec(host, ["sh", "-c", "iptables -F && iptables -X && ip6tables -F && ip6tables -X && "
                    "iptables-restore < /etc/sysconfig/iptables && ip6tables-restore < /etc/sysconfig/ip6tables"], check=True)
    assert run_module(host, args, check=True)["changed"] is False
    probe(lab, [flow("pool-a1", host, "tcp", 21064, "open"), flow("outsider", host, "tcp", 21064, "refused")])


def test_debian_license_server_persisted_in_rules_v4(lab, run_module):
    host = "license"
    lab.reset([host])
    before = saved(lab, host)
    args = peers_of(lab.info(), host)
    assert run_module(host, args)["changed"]
    probe(lab, [flow("pool-a1", host, "tcp", 27000, "open"), flow("pool-b1", host, "tcp", 7279, "open"),
                flow("pool-a1", host, "tcp", 7279, "open", family=6),
                flow("outsider", host, "tcp", 27000, "refused"), flow("xencenter", host, "tcp", 7279, "refused"),
                flow("pool-a1", host, "tcp", 8082, "refused")])
    assert foreign(saved(lab, host)) == foreign(before)
    lab.exec(host, ["sh", "-c", "iptables -F && iptables -X && iptables-restore < /etc/iptables/rules.v4 && "
                    "ip6tables -F && ip6tables -X && ip6tables-restore < /etc/iptables/rules.v6"], check=True)
    assert run_module(host, args, check=True)["changed"] is False
    # a license server whose vendor daemon port is pinned elsewhere, and the opt-in admin console
    args.update(license_vendor_daemon_port=7190, features=["license_admin"])
    assert run_module(host, args)["changed"]
    probe(lab, [flow("pool-a1", host, "tcp", 7279, "refused"), flow("xencenter", host, "tcp", 8082, "open"),
                flow("outsider", host, "tcp", 8083, "refused")])


def test_firewalld_filer(lab, run_module):
    host = "filer"
    lab.reset([host])
    args = dict(peers_of(lab.info(), host), nfsv3_ports=NFS_PINNED)
    result = run_module(host, args)
    assert result["changed"] and result["backend"] == "firewalld"
    assert run_module(host, args)["changed"] is False
    zones_before = lab.exec(host, ["firewall-cmd", "--list-all-zones"], check=True).stdout
    probe(lab, [
        flow("pool-a1", host, "tcp", 2049, "open"), flow("pool-b1", host, "udp", 2049, "open"),
        flow("pool-a2", host, "tcp", 2049, "open", family=6),
        flow("pool-a1", host, "tcp", 111, "open"), flow("pool-a1", host, "udp", 111, "open"),
        flow("pool-a1", host, "tcp", 892, "open"), flow("pool-a1", host, "udp", 32769, "open"),
        flow("pool-a1", host, "tcp", 445, "open"), flow("pool-a1", host, "tcp", 139, "open"),
        flow("pool-a1", host, "tcp", 20048, "refused"),   # a port the filer might pick, not pinned
        flow("pool-a1", host, "udp", 32803, "refused"),   # lockd's TCP port, pinned for TCP only
        flow("outsider", host, "tcp", 2049, "refused"), flow("xencenter", host, "tcp", 2049, "refused"),
        flow("outsider", host, "tcp", 2049, "refused", family=6),
        flow("outsider", host, "tcp", 22, "open"),       # the stock zone's ssh stays
    ])
    # drift: a permanent edit, a runtime-only rule, a runtime-only ipset change
    lab.exec(host, ["sh", "-c",
                    "firewall-cmd -q --permanent --policy=pmx-input --add-rich-rule='rule port port=\"9999\" protocol=\"tcp\" accept' && "
                    "firewall-cmd -q --policy=pmx-input --add-rich-rule='rule port port=\"8080\" protocol=\"tcp\" accept' && "
                    "firewall-cmd -q --ipset=pmx-pool-host-4 --remove-entry=198.18.77.11/32"], check=True)
    probe(lab, [flow("outsider", host, "tcp", 8080, "open"), flow("pool-a1", host, "tcp", 2049, "refused")])
    report = run_module(host, args, check=True)
    assert report["changed"] and report["drift"]
    removed = "\n".join(report["rules_removed"]["firewalld"])
    assert "8080" in removed and "9999" in removed
    assert any("198.18.77.11/32" in l for l in report["rules_added"]["firewalld"])
    assert run_module(host, args)["changed"]
    probe(lab, [flow("outsider", host, "tcp", 8080, "refused"), flow("outsider", host, "tcp", 9999, "refused"),
                flow("pool-a1", host, "tcp", 2049, "open")])
    assert lab.exec(host, ["firewall-cmd", "--list-all-zones"], check=True).stdout == zones_before
    # restart firewalld: the rules come back from the permanent configuration
    stop_firewalld(lab, host)
    lab.up()
    assert run_module(host, args, check=True)["changed"] is False
    probe(lab, [flow("pool-a3", host, "tcp", 2049, "open"), flow("outsider", host, "tcp", 2049, "refused")])


def test_bad_input_changes_nothing(lab, run_module):
    host = "pool-a3"
    lab.reset([host])
    before = (saved(lab, host, 4), saved(lab, host, 6))
    cases = [
        ({"components": ["pool_hots"]}, "unknown component 'pool_hots'"),
        ({"components": ["pool_host"], "features": ["hа"]}, "unknown feature"),
        ({"components": ["pool_host"], "pool_peers": ["pool-a1.example.invalid"]}, "is not an IPv4/IPv6"),
        ({"components": ["pool_host"], "peers": {"xencenter": ["198.18.77.300"]}}, "peers.xencenter"),
        ({"components": ["pool_host"], "extra_rules": [{"name": "x", "sources": ["198.18.77.200"], "ports": [70000]}]}, "bad port"),
        ({"components": ["pool_host"], "backend": "firewalld"}, "firewalld is not running"),
    ]
    for args, message in cases:
        result = run_module(host, args, expect_failure=True)
        assert message in result["msg"], result["msg"]
    assert (saved(lab, host, 4), saved(lab, host, 6)) == before


def test_check_mode_on_a_fresh_host_touches_nothing_and_absent_restores(lab, run_module):
    host = "pool-b1"
    lab.reset([host])
    before = (saved(lab, host, 4), saved(lab, host, 6))
    args = peers_of(lab.info(), host)
    report = run_module(host, args, check=True, diff=True)
    assert report["changed"] and report["rules_added"]["4"] and not report["rules_removed"]["4"]
    assert (saved(lab, host, 4), saved(lab, host, 6)) == before
    assert run_module(host, args)["changed"]
    gone = run_module(host, {"components": ["pool_host"], "state": "absent"})
    assert gone["changed"]
    assert (saved(lab, host, 4), saved(lab, host, 6)) == before
    assert "PMX" not in lab.exec(host, ["cat", "/etc/sysconfig/iptables"], check=True).stdout
    assert run_module(host, {"components": ["pool_host"], "state": "absent"})["changed"] is False


def test_strict_mode_keeps_the_controller_session(lab, run_module):
    host = "pool-a2"
    args = dict(peers_of(lab.info(), host), public_ports=[])
    assert run_module(host, args)["changed"]
    probe(lab, [flow("outsider", host, "tcp", 22, "refused"), flow("outsider", host, "tcp", 443, "refused"),
                flow("xencenter", host, "tcp", 22, "open"), flow("apiclient", host, "tcp", 443, "open"),
                flow("pool-a1", host, "tcp", 443, "open")])
    # the controller reaches sshd from its lab address (lab.json): the guard keeps it in
    again = run_module(host, args)
    assert again["changed"] is False
    guard = "-A PMX-INPUT -s %s/32 -p tcp -m tcp --dport 22 -j ACCEPT" % lab.info()["controller"]["ipv4"]
    assert any(l.startswith(guard) for l in saved(lab, host))
    run_module(host, peers_of(lab.info(), host))
