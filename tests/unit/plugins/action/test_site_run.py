# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a --check run of the site playbook costs on the controller, counted: the rollout task,
then per host the plan task and the one firewall_rules call (as in playbooks/site.yml), in
worker processes that share the run's local tmp directory.  The estate is built once per
run, each host's call planned (checked with planner.build_plan) once."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import os

import pytest

from ansible_collections.portmatrix.xenserver.plugins.module_utils import planner
from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import engine
from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import inventory as inventory_utils

from action_harness import FakeTarget, make_action


@pytest.fixture
def counted(monkeypatch):
    """Calls of engine.build_estate and of planner.build_plan (by the components planned)."""
    counts = collections.Counter()
    build_estate, build_plan = engine.build_estate, planner.build_plan

    def counting_estate(*args, **kwargs):
        counts["estate"] += 1
        return build_estate(*args, **kwargs)

    def counting_plan(*args, **kwargs):
        counts[("plan",) + tuple(kwargs.get("components") or args[0])] += 1
        return build_plan(*args, **kwargs)

    monkeypatch.setattr(engine, "build_estate", counting_estate)
    monkeypatch.setattr(planner, "build_plan", counting_plan)
    return counts


def at_once(functions):
    """Run each function in a child process of its own, all started together (as Ansible's forks
    start the first hosts of a play), and return what each returned."""
    go_read, go_write = os.pipe()
    children = []
    for function in functions:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover (the child)
            os.close(read)
            os.close(go_write)
            os.read(go_read, 1)  # returns at the parent's close: every child starts now
            try:
                outcome = repr(function())
            except BaseException as exc:  # pylint: disable=broad-except
                outcome = "ERROR %r" % exc
            os.write(write, outcome.encode())
            os._exit(0)
        os.close(write)
        children.append((pid, read))
    os.close(go_read)
    os.close(go_write)
    results = []
    for pid, read in children:
        chunks = []
        while True:
            chunk = os.read(read, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(read)
        os.waitpid(pid, 0)
        results.append(b"".join(chunks).decode())
    return results


def in_worker(function):
    """Run function() in a child process, as Ansible runs each host's task (nothing shared in memory)."""
    return at_once([function])[0]


def site_check_run(inventory, hosts, counts, workers):
    """The controller's part of `ansible-playbook portmatrix.xenserver.site --check`."""
    results = []

    def rollout():
        result = make_action("rollout", {"canary": 1, "staged": True}).run(
            task_vars=inventory.task_vars(hosts[0], play_hosts=hosts))
        return result, dict(counts)

    run = in_worker if workers else (lambda f: f())
    results.append(run(rollout))
    for host in hosts:
        results.append(run(lambda: host_tasks(inventory, hosts, host, counts)[:3] + (dict(counts),)))
    return results


def test_site_check_run_builds_the_estate_once_and_each_plan_once(run_tmp, inventory, counted):
    hosts = ["a1", "a2", "b1", "nas", "lic", "xc"]
    results = site_check_run(inventory, hosts, counted, workers=False)
    assert all(r[0] is None and r[1] is None for r in results[1:]), results
    assert counted["estate"] == 1
    plans = dict((k[1:], n) for k, n in counted.items() if k[0] == "plan")
    # one per managed host: a1, a2, b1 (pool_host), nas, lic; xc serves nothing (a source only)
    assert plans == {("pool_host",): 3, ("nfs_filer",): 1, ("license_server", "ntp_server"): 1}


def test_site_check_run_in_worker_processes_builds_the_estate_once(run_tmp, inventory, counted):
    hosts = ["a1", "a2", "b1", "nas", "lic", "xc"]
    results = site_check_run(inventory, hosts, counted, workers=True)
    assert not any("ERROR" in r for r in results), results
    # every worker starts from the parent's counts (0): only the first (the rollout task) built it
    assert "'estate': 1" in results[0]
    assert all("'estate'" not in r for r in results[1:]), results
    assert len(stored_estates(run_tmp)) == 1


def stored_estates(run_tmp):
    return [n for n in os.listdir(str(run_tmp)) if n.startswith("portmatrix-estate-") and "." not in n]


def host_tasks(inventory, hosts, host, counts):
    """One host's plan task and firewall_rules call in check mode (site.yml's second play)."""
    variables = inventory.task_vars(host, play_hosts=hosts)
    plan = make_action("plan", {}).run(task_vars=variables)
    firewall = make_action("firewall_rules", {"from_inventory": True}, check_mode=True,
                           target=FakeTarget({"changed": False, "backend": "iptables"})).run(task_vars=variables)
    return plan.get("failed"), firewall.get("failed"), firewall.get("skipped"), counts.get("estate", 0)


def test_workers_started_together_build_the_estate_once(run_tmp, inventory, counted):
    hosts = ["a1", "a2", "b1", "nas", "lic", "xc"]
    results = at_once([lambda h=h: host_tasks(inventory, hosts, h, counted) for h in hosts for _twice in (1, 2)])
    assert all(r.startswith("(None, None, ") for r in results), results
    # each worker says how many times it built the estate: one of the twelve did, once
    assert sorted(r.rsplit(", ", 1)[1] for r in results) == ["0)"] * 11 + ["1)"]
    assert len(stored_estates(run_tmp)) == 1


def test_a_hosts_tasks_read_the_summary_and_their_own_call_only(run_tmp, inventory, counted):
    hosts = ["a1", "a2", "b1", "nas", "lic", "xc"]
    rollout = make_action("rollout", {"canary": 1, "staged": True}).run(task_vars=inventory.task_vars("a1", play_hosts=hosts))
    assert not rollout.get("failed") and counted["estate"] == 1
    path = os.path.join(str(run_tmp), stored_estates(run_tmp)[0])
    keep = set(["summary.json", "calls", inventory_utils.call_file("a1")])
    for top, _dirs, names in os.walk(path):
        for name in names:
            if name not in keep:
                os.remove(os.path.join(top, name))
    # the worker starts from the parent's count (1): it builds nothing more and fails nothing
    assert in_worker(lambda: host_tasks(inventory, hosts, "a1", counted)) == "(None, None, None, 1)"
    # the other hosts' calls are gone: their tasks cannot have read them without noticing
    assert "FileNotFoundError" in in_worker(lambda: host_tasks(inventory, hosts, "a2", counted))


def test_play_vars_of_another_play_get_their_own_call_not_a_new_estate(run_tmp, inventory, counted):
    make_action("plan", {}).run(task_vars=inventory.task_vars("a1"))
    strict = make_action("plan", {}).run(task_vars=inventory.task_vars("a1", portmatrix_strict=True))
    assert strict["portmatrix"]["settings"]["strict"] is True
    assert counted["estate"] == 1
    assert counted[("plan", "pool_host")] == 3 + 1  # the run's a1, a2, b1, and a1's for this play
