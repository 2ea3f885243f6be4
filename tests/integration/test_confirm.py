# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit confirmed on the lab: the controller's SSH comes from the lab's controller namespace
over the lab network, so a plan can really cut it off; the host must then put its previous
rules back by itself, byte for byte, and SSH must work again."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import subprocess
import time

import pytest

from conftest import peers_of

WINDOW = 8  # seconds: short windows keep the tests fast


def state_of(lab, host):
    """Everything the collection could touch on host, read inside it: running rules of every
    kind (counters left out), the saved files, firewalld's permanent files."""
    script = ("for t in iptables ip6tables; do $t-save 2>/dev/null | grep -v '^#' | sed -E 's/\\[[0-9]+:[0-9]+\\]//'; done; "
              "nft -s list ruleset 2>/dev/null | grep -v 'table ip filter\\|table ip6 filter' | sha256sum; "
              "for f in /etc/sysconfig/iptables /etc/sysconfig/ip6tables /etc/iptables/rules.v4 /etc/iptables/rules.v6 "
              "/etc/nftables.conf /etc/portmatrix/*; do [ -f \"$f\" ] && sha256sum \"$f\"; done; "
              "[ -d /etc/firewalld ] && find /etc/firewalld -name '*.xml' | sort | xargs -r sha256sum; true")
    return lab.exec(host, ["sh", "-c", script], check=True).stdout


def confirm_files(lab, host):
    """Commit-confirmed files under /run/portmatrix in the host."""
    return lab.exec(host, ["sh", "-c", "ls /run/portmatrix 2>/dev/null | grep confirm- || true"], check=True).stdout.split()


def waiters(lab, host):
    """Commit-confirmed waiter processes in the host. The lab's hosts share the machine's process list
    (each has a mount namespace of its own), so only processes in the host's mount namespace count: another
    lab's (another test run's) waiters are not this host's."""
    script = ("me=$(readlink /proc/self/ns/mnt); for p in /proc/[0-9]*; do "
              "[ \"$(readlink $p/ns/mnt 2>/dev/null)\" = \"$me\" ] && tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; "
              "done | grep '[c]onfirm-' || true")
    return lab.exec(host, ["sh", "-c", script], check=True).stdout.splitlines()


def leftovers(lab, host):
    return confirm_files(lab, host) + waiters(lab, host)


def reaches(lab, host):
    """A new SSH connection from the controller gets in (the probe, by a real connection)."""
    results, summary = lab.probe([{"src": "controller", "dst": host, "proto": "tcp", "port": 22, "expect": "open"}])
    return summary["mismatches"] == 0


def cutting_args(lab, host):
    """A plan that cuts the controller off: no SSH guard, and 22 served to the matrix's sources only."""
    args = dict(peers_of(lab.info(), host), ssh_guard=False, public_ports=[], confirm_timeout=WINDOW)
    if "pool_host" not in args["components"]:  # 22 is in no flow to this host: make it one
        args["extra_rules"] = [{"name": "admins", "sources": [lab.info()["hosts"]["xencenter"]["ipv4"]], "ports": [22]}]
    return args


@pytest.mark.parametrize("host", ["pool-b1", "filer", "license2"])
def test_a_plan_that_cuts_the_controller_off_rolls_back(lab, run_module, host):
    lab.reset([host])
    assert run_module(host, dict(peers_of(lab.info(), host), confirm_timeout=WINDOW))["confirm"]["confirmed"]
    before = state_of(lab, host)
    started = time.time()
    result = run_module(host, cutting_args(lab, host), expect_failure=True)
    assert "the change was rolled back" in result["msg"], result["msg"]
    assert result.get("rolled_back") is True
    assert WINDOW <= time.time() - started < WINDOW + 60  # it had to wait for the host: really cut off
    assert state_of(lab, host) == before            # byte for byte: running, saved, permanent
    assert reaches(lab, host)                       # and SSH gets in again
    assert leftovers(lab, host) == []
    assert run_module(host, dict(peers_of(lab.info(), host), confirm_timeout=WINDOW))["changed"] is False


def test_a_normal_apply_is_confirmed_persisted_and_leaves_nothing_behind(lab, run_module):
    host = "license"
    lab.reset([host])
    result = run_module(host, dict(peers_of(lab.info(), host), confirm_timeout=WINDOW))
    assert result["changed"] and result["confirm"]["confirmed"] and result["persisted"]
    assert result["confirm"]["seconds"] < 10
    assert "PMX-INPUT" in lab.exec(host, ["cat", "/etc/iptables/rules.v4"], check=True).stdout
    assert leftovers(lab, host) == []
    time.sleep(WINDOW + 2)  # past the window: still there
    assert "-A INPUT -j PMX-INPUT" in lab.exec(host, ["iptables", "-S"], check=True).stdout


def test_a_killed_controller_leaves_the_host_to_roll_back_by_itself(lab, run_module):
    host = "pool-a3"
    lab.reset([host])
    args = peers_of(lab.info(), host)
    assert run_module(host, dict(args, confirm_timeout=WINDOW))["changed"]
    before = state_of(lab, host)
    saved = lab.exec(host, ["cat", "/etc/sysconfig/iptables"], check=True).stdout
    change = dict(args, confirm_timeout=WINDOW, features=["ha"])  # a harmless change: 694/udp between members
    # The controller waits before confirming (a test-only subclass of the action plugin, in
    # action_plugins/) and is killed with SIGKILL meanwhile.
    late = os.path.join(os.path.dirname(os.path.abspath(__file__)), "action_plugins")
    controller = subprocess.Popen(run_module.argv(host, change, module="firewall_rules_confirming_late"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env=run_module.env(ANSIBLE_ACTION_PLUGINS=late), start_new_session=True)
    try:
        for _attempt in range(150):  # until the change is armed: 30 s at most
            if [f for f in confirm_files(lab, host) if f.endswith(".pending")]:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the change was never armed")
        changed = state_of(lab, host)
        assert changed != before                                        # the change is in place ...
        assert lab.exec(host, ["cat", "/etc/sysconfig/iptables"], check=True).stdout == saved  # ... not saved yet
    finally:
        os.killpg(controller.pid, signal.SIGKILL)
        controller.wait(timeout=30)
    for _attempt in range(int((WINDOW + 10) / 0.5)):
        if state_of(lab, host) == before:
            break
        time.sleep(0.5)
    assert state_of(lab, host) == before
    # the record of the rollback, alone: the waiter removed its pid file
    assert [f for f in confirm_files(lab, host) if not f.endswith(".rolled-back")] == [] and waiters(lab, host) == []
    [record] = confirm_files(lab, host)
    # reported by every check-mode run (drift) until a run applies, which reports it once and removes it
    for check in (True, True, False):
        result = run_module(host, dict(args, confirm_timeout=WINDOW), check=check)
        [since] = result["rolled_back_since"]
        assert since["token"] in record and "no confirmation came within %ss" % WINDOW == since["why"]
    assert confirm_files(lab, host) == []
    assert run_module(host, dict(args, confirm_timeout=WINDOW))["rolled_back_since"] == []
