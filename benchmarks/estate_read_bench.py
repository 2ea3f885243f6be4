#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one host's worker pays to read the run's estate: from_inventory.host_call(), the path of
every host's plan and firewall_rules task, once the estate is stored (the first worker built it).

    python3 benchmarks/estate_read_bench.py [--sizes 200,1000,5000] [--root CHECKOUT] [--json]

On the synthetic inventories of controller_bench.py: the estate is built once (timed apart),
then host_call() runs in this process for a sample of hosts of every group (pool hosts, the
filers whose calls list every pool host, license servers, VMs...), each call as a new worker
would make it (nothing kept in memory between calls; the files are in the page cache, as in
a run).  Reported: the CPU milliseconds of one call for a pool host and the group's largest,
and the CPU seconds of one task over every host (each group's mean times its hosts).
--root: the checkout whose collection is measured (another checkout gives the "before"
figures); the action harness is this checkout's tests/unit/plugins/action.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import controller_bench  # noqa: E402 pylint: disable=wrong-import-position


def collections_tree(root):
    tree = tempfile.mkdtemp(prefix="pmx-bench-collections-")
    os.makedirs(os.path.join(tree, "ansible_collections", "portmatrix"))
    os.symlink(root, os.path.join(tree, "ansible_collections", "portmatrix", "xenserver"))
    return tree


def sample(groups, per_group):
    """Up to per_group hosts of each group, spread over the group (first, last, between)."""
    picked = {}
    for group, names in sorted(groups.items()):
        if group == "all" or not names:
            continue
        step = max(1, len(names) // per_group)
        picked[group] = names[::step][:per_group]
    return picked


def measure(size, count):
    from ansible import constants as C
    from action_harness import Inventory, make_action
    from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import from_inventory

    _inventory, groups, hosts, clustered = controller_bench.synthetic_inventory(size)
    inventory = Inventory(groups=groups, hostvars=hosts, common={"portmatrix_clustered_pools": clustered})
    run_tmp = tempfile.mkdtemp(prefix="pmx-read-bench-")
    C.DEFAULT_LOCAL_TMP = run_tmp
    play_hosts = sorted(hosts)
    try:
        started = time.process_time()
        call, problem = from_inventory.host_call(make_action("plan", {}), inventory.task_vars(play_hosts[0], play_hosts))
        assert problem is None, problem
        build = time.process_time() - started
        per_group = dict((g, []) for g in groups)  # CPU seconds of each sampled host's call
        for group, names in sample(groups, count).items():
            for host in names:
                action, variables = make_action("plan", {}), inventory.task_vars(host, play_hosts)
                started = time.process_time()
                call, problem = from_inventory.host_call(action, variables)
                per_group[group].append(time.process_time() - started)
                assert problem is None, problem
        stored = sum(os.path.getsize(os.path.join(top, n)) for top, _d, names in os.walk(run_tmp) for n in names)
    finally:
        shutil.rmtree(run_tmp, ignore_errors=True)
    means = dict((g, sum(t) / len(t)) for g, t in per_group.items() if t)
    # a host in two groups (an SMB filer is an NFS filer too) counts once, with its first group's mean
    counted, task_s = set(), 0.0
    for group in sorted(means, key=lambda g: -means[g]):
        for host in groups[group]:
            if host not in counted:
                counted.add(host)
                task_s += means[group]
    return {"hosts": len(hosts), "build_s": round(build, 3), "stored_mb": round(stored / 1e6, 1),
            "pool_host_ms": round(1000 * means["pool_hosts"], 2),
            "largest_ms": round(1000 * max(max(t) for t in per_group.values() if t), 2),
            "largest_group": max(means, key=lambda g: means[g]),
            "one_task_every_host_s": round(task_s, 2)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,1000,5000")
    parser.add_argument("--per-group", type=int, default=8, help="hosts sampled per inventory group")
    parser.add_argument("--root", default=os.path.dirname(HERE), help="the checkout to measure")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    tree = collections_tree(os.path.abspath(args.root))
    sys.path.insert(0, tree)
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "unit", "plugins", "action"))
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    _AnsibleCollectionFinder(paths=[tree])._install()
    results = []
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            entry = measure(size, args.per_group)
            results.append(entry)
            if not args.json:
                print("%6d hosts: estate built in %.2f s of CPU (%.1f MB stored); one host's read: pool host %.2f ms, "
                      "largest %.2f ms (%s); one task over every host: %.2f s of CPU" % (
                          entry["hosts"], entry["build_s"], entry["stored_mb"], entry["pool_host_ms"],
                          entry["largest_ms"], entry["largest_group"], entry["one_task_every_host_s"]))
    finally:
        shutil.rmtree(tree)
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
