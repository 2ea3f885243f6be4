# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Safety on the lab: snapshots restored by the standalone runner, loopback, one run at
a time, nothing applied that cannot be saved.  Real netfilter, firewalld and SSH."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from conftest import flow, peers_of, probe, run_restore, saved, snapshot


def cat(lab, host, path):
    return lab.exec(host, ["cat", path], check=True).stdout


def iptables_state(lab, host):
    return (saved(lab, host, 4), saved(lab, host, 6),
            cat(lab, host, "/etc/sysconfig/iptables"), cat(lab, host, "/etc/sysconfig/ip6tables"))


def test_iptables_snapshot_restored_by_the_standalone_runner(lab, run_module, collections_path, tmp_path):
    host = "pool-a3"
    lab.reset([host])
    args = peers_of(lab.info(), host)
    assert run_module(host, args)["changed"]
    before = iptables_state(lab, host)
    steps = snapshot(lab, collections_path, host, "iptables", str(tmp_path / "steps.json"))
    # another plan: strict, no XenCenter, one pool member less; then a stray jump by hand
    other = dict(args, public_ports=[], peers={}, pool_peers=[a for a in args["pool_peers"] if not a.endswith("12")])
    assert run_module(host, other)["changed"]
    lab.exec(host, ["iptables", "-I", "INPUT", "1", "-j", "PMX-INPUT"], check=True)
    probe(lab, [flow("pool-a2", host, "tcp", 21064, "refused"), flow("xencenter", host, "tcp", 443, "refused")])
    assert iptables_state(lab, host) != before
    done = run_restore(lab, host, steps)
    assert done.returncode == 0, done.stderr
    assert iptables_state(lab, host) == before
    probe(lab, [flow("pool-a2", host, "tcp", 21064, "open"), flow("xencenter", host, "tcp", 443, "open"),
                flow("outsider", host, "tcp", 21064, "refused"), flow("pool-a2", host, "udp", 5405, "open", family=6)])
    assert run_module(host, args, check=True)["changed"] is False


def test_iptables_snapshot_of_stock_removes_everything_ours(lab, run_module, collections_path, tmp_path):
    host = "pool-a3"
    lab.reset([host])
    before = iptables_state(lab, host)
    steps = snapshot(lab, collections_path, host, "iptables", str(tmp_path / "steps.json"))
    assert run_module(host, peers_of(lab.info(), host))["changed"]
    assert run_restore(lab, host, steps).returncode == 0
    assert iptables_state(lab, host) == before
    probe(lab, [flow("outsider", host, "tcp", 21064, "open")])   # stock dom0: open to everyone


def test_firewalld_snapshot_restored_by_the_standalone_runner(lab, run_module, collections_path, tmp_path):
    host = "infra"
    lab.reset([host])
    args = peers_of(lab.info(), host)
    assert run_module(host, args)["changed"]

    def state():
        return (lab.exec(host, ["firewall-cmd", "--info-policy=pmx-input"], check=True).stdout,
                lab.exec(host, ["sh", "-c", "for s in $(firewall-cmd --get-ipsets); do firewall-cmd --info-ipset=$s; done"],
                         check=True).stdout,
                lab.exec(host, ["sh", "-c", "cd /etc/firewalld && for f in policies/* ipsets/*; do echo \"== $f\"; cat $f; done"],
                         check=True).stdout)
    before = state()
    steps = snapshot(lab, collections_path, host, "firewalld", str(tmp_path / "steps.json"))
    other = dict(args, peers={"xencenter": args["peers"]["xencenter"]}, extra_rules=[
        {"name": "stray", "sources": ["198.18.77.99"], "ports": [9999]}])
    assert run_module(host, other)["changed"]
    probe(lab, [flow("outsider", host, "tcp", 9999, "open"), flow("pool-a1", host, "udp", 123, "refused")])
    done = run_restore(lab, host, steps)
    assert done.returncode == 0, done.stderr
    assert state() == before
    probe(lab, [flow("outsider", host, "tcp", 9999, "refused"), flow("pool-a1", host, "udp", 123, "open")])
    assert run_module(host, args, check=True)["changed"] is False
