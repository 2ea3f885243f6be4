# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Safety on the lab: snapshots restored by the standalone runner, loopback, one run at
a time, nothing applied that cannot be saved.  Real netfilter, firewalld and SSH."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import flow, peers_of, probe, run_restore, saved, snapshot

LOCK = "/run/lock/portmatrix.firewall_rules.lock"


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


def nftables_state(lab, host):
    return [lab.exec(host, argv, check=True).stdout for argv in (
        ["nft", "list", "ruleset"], ["cat", "/etc/nftables.conf"], ["cat", "/etc/portmatrix/nftables.nft"])]


def firewalld_state(lab, host):
    return [lab.exec(host, ["sh", "-c", script], check=True).stdout for script in (
        "firewall-cmd --info-policy=pmx-input",
        "for s in $(firewall-cmd --get-ipsets); do firewall-cmd --info-ipset=$s; done",
        "cd /etc/firewalld && for f in policies/* ipsets/*; do echo \"== $f\"; cat $f; done")]


@pytest.mark.parametrize("host, kind, state, other, changed, restored", [
    ("license2", "nftables", nftables_state, lambda a: dict(a, public_ports=[], peers={"pool_host": a["peers"]["xencenter"]}),
     [flow("pool-a1", "license2", "tcp", 27000, "refused"), flow("xencenter", "license2", "tcp", 27000, "open")],
     [flow("pool-a1", "license2", "tcp", 27000, "open"), flow("xencenter", "license2", "tcp", 27000, "refused")]),
    ("infra", "firewalld", firewalld_state, lambda a: dict(a, peers={"xencenter": a["peers"]["xencenter"]}, extra_rules=[
        {"name": "stray", "sources": ["198.18.77.99"], "ports": [9999]}]),
     [flow("outsider", "infra", "tcp", 9999, "open"), flow("pool-a1", "infra", "udp", 123, "refused")],
     [flow("outsider", "infra", "tcp", 9999, "refused"), flow("pool-a1", "infra", "udp", 123, "open")]),
])
def test_snapshot_restored_by_the_standalone_runner(lab, run_module, collections_path, tmp_path,
                                                    host, kind, state, other, changed, restored):
    """nftables (ruleset, nftables.conf, our included file) and firewalld (policy, ipsets, files)."""
    lab.reset([host])
    args = peers_of(lab.info(), host)
    assert run_module(host, args)["changed"]
    before = state(lab, host)
    steps = snapshot(lab, collections_path, host, kind, str(tmp_path / "steps.json"))
    assert run_module(host, other(args))["changed"]
    probe(lab, changed)
    done = run_restore(lab, host, steps)
    assert done.returncode == 0, done.stderr
    assert state(lab, host) == before
    probe(lab, restored)
    assert run_module(host, args, check=True)["changed"] is False


LOCAL_CONNECT = r"""
import socket, sys
address, proto, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
family = socket.AF_INET6 if ":" in address else socket.AF_INET
sock = socket.socket(family, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
sock.settimeout(2)
try:
    if proto == "tcp":
        sock.connect((address, port))
    else:
        sock.sendto(b"ping", (address, port))
        sock.recvfrom(64)
except (OSError, socket.timeout) as exc:
    print(exc)
    sys.exit(1)
"""


def local_flows(lab, host, flows):
    """{(address, proto, port): True when a connection from host to itself on that address works}."""
    return dict(((a, proto, port), lab.exec(host, ["python3", "-c", LOCAL_CONNECT, a, proto, str(port)]).returncode == 0)
                for a in ("127.0.0.1", "::1") for proto, port in flows)


def test_loopback_reaches_restricted_ports_iptables(lab, run_module):
    host = "pool-a1"
    lab.reset([host])
    args = peers_of(lab.info(), host)
    wanted = [("tcp", 8892), ("tcp", 21064), ("tcp", 443), ("udp", 5405)]
    for case in (args, dict(args, public_ports=[])):
        assert run_module(host, case)["changed"]
        probe(lab, [flow("outsider", host, "tcp", 21064, "refused"), flow("outsider", host, "tcp", 21064, "refused", 6)])
        reached = local_flows(lab, host, wanted)
        assert all(reached.values()), reached
    probe(lab, [flow("outsider", host, "tcp", 443, "refused")])   # the strict case did apply


def test_loopback_reaches_restricted_ports_firewalld(lab, run_module):
    host = "filer"
    lab.reset([host])
    assert run_module(host, dict(peers_of(lab.info(), host), public_ports=[]))["changed"]
    probe(lab, [flow("outsider", host, "tcp", 2049, "refused"), flow("outsider", host, "udp", 111, "refused", 6)])
    reached = local_flows(lab, host, [("tcp", 2049), ("tcp", 445), ("udp", 111)])
    assert all(reached.values()), reached


def jumps(lab, host):
    return [len([l for l in saved(lab, host, family) if l == "-A INPUT -j PMX-INPUT"]) for family in (4, 6)]


def test_two_runs_at_once_both_succeed_with_one_jump(lab, run_module):
    host = "pool-a2"
    lab.reset([host])
    args = peers_of(lab.info(), host)
    results = {}
    start = threading.Barrier(2)

    def one(name):
        start.wait()
        results[name] = run_module(host, args)
    threads = [threading.Thread(target=one, args=(n,)) for n in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(200)
    assert sorted(r["changed"] for r in results.values()) == [False, True], results
    assert jumps(lab, host) == [1, 1]
    probe(lab, [flow("pool-a1", host, "tcp", 21064, "open"), flow("outsider", host, "tcp", 21064, "refused")])


def test_a_run_waits_for_the_lock_held_by_another(lab, run_module):
    """Another run holds the lock and writes at its end (a stray jump, as two unlocked runs
    made): this run must read only after that, so the stray jump is seen and removed."""
    host = "pool-a2"
    lab.reset([host])
    assert run_module(host, peers_of(lab.info(), host))["changed"]
    holder = subprocess.Popen(lab.exec_argv(host, ["flock", LOCK, "sh", "-c", "sleep 8; iptables -I INPUT 1 -j PMX-INPUT"]))
    try:
        for _attempt in range(50):   # until the lock is taken (bounded: 5 s)
            if lab.exec(host, ["flock", "-n", LOCK, "true"]).returncode != 0:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the holder never took the lock")
        started = time.monotonic()
        result = run_module(host, dict(peers_of(lab.info(), host), public_ports=[]))
        waited = time.monotonic() - started
    finally:
        holder.wait(30)
    assert result["changed"] and waited > 7, waited
    assert jumps(lab, host) == [1, 1]
    assert any("PMX-INPUT" in line for line in result["rules_removed"]["4"])


@pytest.mark.parametrize("how", ["read-only", "missing"])
def test_saved_rules_directory_not_writable_fails_before_any_change(lab, run_module, how):
    host = "pool-b1"
    lab.reset([host])
    before = iptables_state(lab, host)
    spoil = {"read-only": "mount --bind /etc/sysconfig /etc/sysconfig && mount -o remount,ro,bind /etc/sysconfig",
             "missing": "mv /etc/sysconfig /etc/sysconfig.away"}[how]
    mend = {"read-only": "umount /etc/sysconfig", "missing": "mv /etc/sysconfig.away /etc/sysconfig"}[how]
    lab.exec(host, ["sh", "-c", spoil], check=True)
    try:
        rules = (saved(lab, host, 4), saved(lab, host, 6))
        result = run_module(host, peers_of(lab.info(), host), expect_failure=True)
        assert "cannot save the rules for the next boot, nothing was changed" in result["msg"], result["msg"]
        assert (saved(lab, host, 4), saved(lab, host, 6)) == rules
        assert "PMX" not in "".join(rules[0] + rules[1])
    finally:
        lab.exec(host, ["sh", "-c", mend], check=True)
    assert iptables_state(lab, host) == before


def test_a_save_that_fails_puts_the_running_rules_back(lab, run_module):
    host = "pool-b1"
    lab.reset([host])
    args = peers_of(lab.info(), host)
    assert run_module(host, args)["changed"]
    before = iptables_state(lab, host)
    # a bind mount over the IPv6 file: writable, but the rename onto it fails (EBUSY)
    lab.exec(host, ["sh", "-c", "cp -p /etc/sysconfig/ip6tables /run/ip6tables.pinned && "
                    "mount --bind /run/ip6tables.pinned /etc/sysconfig/ip6tables"], check=True)
    try:
        result = run_module(host, dict(args, public_ports=[]), expect_failure=True)
    finally:
        lab.exec(host, ["umount", "/etc/sysconfig/ip6tables"], check=True)
    # the save (at the change's confirmation) failed on the IPv6 file, and the change was undone
    assert "/etc/sysconfig/ip6tables" in result["msg"], result["msg"]
    assert "put back as it was before" in result["msg"], result["msg"]
    assert iptables_state(lab, host) == before
    probe(lab, [flow("outsider", host, "tcp", 443, "open")])     # not the strict plan
    assert run_module(host, args, check=True)["changed"] is False


def session_processes(sshd_pid):
    """Every process below the host's sshd listener: the sessions of its open SSH connections."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (IOError, OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], list(children.get(sshd_pid, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def test_a_stalled_ssh_session_fails_at_the_host_timeout_naming_host_and_step(lab, run_module):
    """A stalled live SSH session (its sshd stopped) left the SSH guard's read waiting for ever:
    the play hung with no time limit (issue 18, item 4)."""
    host = "pool-c2"
    lab.reset([host])
    args = {"from_inventory": True}
    opened = subprocess.run([run_module.ansible, host, "-i", lab.inventory_path, "-m", "ansible.builtin.ping"], env=run_module.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
    assert "pong" in opened.stdout, opened.stdout  # the multiplexed connection stays open (ControlPersist)
    sessions = session_processes(lab.info()["hosts"][host]["pids"]["sshd"])
    assert sessions
    started = time.time()
    try:
        for pid in sessions:
            os.kill(pid, signal.SIGSTOP)
        done = subprocess.run(run_module.argv(host, args, check=True) + ["-e", "portmatrix_host_timeout=5"],
                              env=run_module.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=90)
    finally:
        for pid in sessions:
            try:
                os.kill(pid, signal.SIGCONT)
            except OSError:
                pass
    took = time.time() - started
    assert done.returncode != 0
    assert ("%s: no answer from the host within 5s (portmatrix_host_timeout) while reading the address of its "
            "SSH connection (the SSH guard); its SSH session is stalled" % host) in done.stdout, done.stdout
    assert took < 30, took
    lab.reset([host])
