#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's share of a `--check` site run, per host: the rollout task once, then for every
host of the rollout the plan task and the firewall_rules call (module execution stood in for, as in
tests/unit/plugins/action), in one process with the run's local tmp directory, on the synthetic
inventories of controller_bench.py.  Counts the estate builds and planner.build_plan calls; the
CPU time is the figure to compare on a shared machine.

    python3 benchmarks/site_controller_bench.py [--sizes 100,1000] [--harness DIR] [--root DIR]

Needs ansible-core; --harness is the directory of action_harness.py (default: this checkout's
tests/unit/plugins/action); --root the checkout to measure (default: this one).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import controller_bench  # noqa: E402 pylint: disable=wrong-import-position


def measure(size, harness):
    sys.path.insert(0, harness)
    from ansible import constants as C
    from ansible.playbook.play import Play
    from action_harness import FakeTarget, Inventory, make_action
    from ansible_collections.portmatrix.xenserver.plugins.module_utils import planner
    from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import engine

    _inventory, groups, hosts, clustered = controller_bench.synthetic_inventory(size)
    inventory = Inventory(groups=groups, hostvars=hosts, common={"portmatrix_clustered_pools": clustered})
    counts = {"estate": 0, "plan": 0}
    build_estate, build_plan = engine.build_estate, planner.build_plan

    def counting_estate(*args, **kwargs):
        counts["estate"] += 1
        return build_estate(*args, **kwargs)

    def counting_plan(*args, **kwargs):
        counts["plan"] += 1
        return build_plan(*args, **kwargs)

    engine.build_estate, planner.build_plan = counting_estate, counting_plan
    run_tmp = tempfile.mkdtemp(prefix="pmx-site-bench-")
    C.DEFAULT_LOCAL_TMP = run_tmp
    play_hosts = sorted(hosts)
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        rollout = make_action("rollout", {}, play=Play()).run(task_vars=inventory.task_vars(play_hosts[0], play_hosts=play_hosts))
        assert not rollout.get("failed"), rollout.get("msg")
        managed, play = 0, Play()  # the second play of site.yml
        for host in rollout["order"]:
            variables = inventory.task_vars(host, play_hosts=play_hosts)
            plan = make_action("plan", {}, play=play).run(task_vars=variables)
            assert not plan.get("failed"), plan.get("msg")
            if not plan["portmatrix"]["manage"]:
                continue
            managed += 1
            firewall = make_action("firewall_rules", {"from_inventory": True}, check_mode=True, play=play,
                                   target=FakeTarget({"changed": False, "backend": "iptables"})).run(task_vars=variables)
            assert not firewall.get("failed"), firewall.get("msg")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        engine.build_estate, planner.build_plan = build_estate, build_plan
        shutil.rmtree(run_tmp, ignore_errors=True)
    return seconds, cpu, managed, counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--harness", default=os.path.join(ROOT, "tests", "unit", "plugins", "action"))
    parser.add_argument("--root", default=ROOT)
    options = parser.parse_args()
    root = controller_bench.collections_tree(os.path.abspath(options.root))
    sys.path.insert(0, root)
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    _AnsibleCollectionFinder(paths=[root])._install()
    try:
        for size in [int(s) for s in options.sizes.split(",")]:
            seconds, cpu, managed, counts = measure(size, options.harness)
            print("%6d hosts: %.2f s, %.2f s of CPU (%.1f ms per host), %d managed; estate built %d time(s), "
                  "build_plan %d calls" % (size, seconds, cpu, 1000.0 * cpu / size, managed, counts["estate"],
                                           counts["plan"]))
    finally:
        shutil.rmtree(root)  # the temporary collections tree (a symlink to the checkout inside)


if __name__ == "__main__":
    main()
