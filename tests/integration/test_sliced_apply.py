# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An apply in 3 slices, as AWX / AAP runs a sliced job template (issue 15): three ansible-playbook
processes at once, each with the pared-down inventory of its slice and the variables AWX gives a
slice job, on the session's lab.  With the plan of the whole inventory the hosts end up as after one
unsliced run (running rules, saved files, recorded plan digest, reachability); without it every
slice is refused and no host changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys

import yaml

from test_baselines import matrix_flows

SLICES = 3
# What AWX gives every job of a sliced job template "firewall site" (plugin_utils/plan_file.py cites the
# sources): launched by the workflow job the template became, which is named after the template.
AWX_SLICE_VARS = dict((prefix + key, value) for prefix in ("awx", "tower") for key, value in (
    ("_job_launch_type", "workflow"), ("_workflow_job_name", "firewall site"),
    ("_job_template_name", "firewall site"), ("_workflow_job_id", 41), ("_job_id", 42)))

# Each host's firewall as it runs and as it is saved, and the plan digest it records. Comment lines
# of saved files are left out (iptables-save writes the time in them); the refused run compares raw.
STATE = r"""
strip() { if [ "$1" = raw ]; then cat; else grep -v '^#'; fi; }
for save in iptables-save ip6tables-save; do $save -t filter 2>/dev/null | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]/[0:0]/'; done
nft -s list ruleset 2>/dev/null
for f in /etc/sysconfig/iptables /etc/sysconfig/ip6tables /etc/iptables/rules.v4 /etc/iptables/rules.v6 \
         /etc/portmatrix/nftables.nft /etc/nftables.conf /etc/sysconfig/nftables.conf /etc/nfs.conf \
         /etc/sysconfig/nfs /etc/portmatrix/plan-digest; do
  if [ -e "$f" ]; then echo "== $f $(strip "$MODE" < "$f" | sha256sum)"; fi
done
if [ -d /etc/firewalld ]; then find /etc/firewalld -type f | sort | while read -r f; do echo "== $f $(sha256sum < "$f")"; done; fi
"""


def states(lab, hosts, raw=False):
    return dict((h, lab.exec(h, ["env", "MODE=%s" % ("raw" if raw else "strip"), "sh", "-c", STATE],
                             check=True).stdout) for h in hosts)


def slice_inventories(lab, directory):
    """The inventories AWX gives the slices: hosts sorted by name, slice n gets [n-1::SLICES]
    (ansible/awx awx/main/models/inventory.py, get_sliced_hosts), every group and variable kept."""
    with open(lab.inventory_path) as handle:
        whole = yaml.safe_load(handle)
    names = sorted(whole["all"]["hosts"])
    paths = []
    for number in range(1, SLICES + 1):
        mine = set(names[number - 1::SLICES])
        part = {"all": dict(whole["all"], hosts=dict((h, v) for h, v in whole["all"]["hosts"].items() if h in mine),
                            children=dict((g, dict(body, hosts=dict((h, v) for h, v in (body.get("hosts") or {}).items()
                                                                    if h in mine)))
                                          for g, body in (whole["all"].get("children") or {}).items()))}
        path = os.path.join(directory, "slice%d.yml" % number)
        with open(path, "w") as handle:
            yaml.safe_dump(part, handle)
        paths.append((path, sorted(mine)))
    return paths, names


def run_slices(run_playbook, inventories, extra_vars, playbook="portmatrix.xenserver.site", args=()):
    """The slices' ansible-playbook processes, all at once (AWX runs them side by side), each with
    its own inventory only."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=run_playbook.collections, ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    running = [subprocess.Popen([run_playbook.binary, "-i", path, playbook, "-e", "@" + extra] + list(args),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, env=env)
               for (path, _hosts), extra in zip(inventories, extra_vars)]
    done = []
    for process in running:
        out, _ = process.communicate(timeout=600)
        done.append((process.returncode, out))
    return done


def write_json(path, data):
    with open(path, "w") as handle:
        json.dump(data, handle)
    return path


def observed(results):
    return sorted((r["src"], r["dst"], r["proto"], r["port"], r["family"], r["observed"]) for r in results)


def test_an_apply_in_three_slices_with_the_plan_equals_one_run_and_without_it_changes_nothing(lab, run_playbook,
                                                                                              tmp_path):
    inventories, hosts = slice_inventories(lab, str(tmp_path))
    pools = [set(h for h in hosts if h.startswith(p)) for p in ("pool-a", "pool-c")]
    assert all(len(set(i for i, (_path, mine) in enumerate(inventories) if pool & set(mine))) > 1 for pool in pools)
    flows = matrix_flows(lab, hosts)

    # one unsliced run: what the slices must reach
    lab.reset()
    done = run_playbook("portmatrix.xenserver.site")
    assert done.returncode == 0, done.stdout[-5000:]
    whole = states(lab, hosts)
    reached = observed(lab.probe(flows)[0])
    assert "/etc/portmatrix/plan-digest" in whole["pool-a1"]

    # the slices without a plan: every one refused before any host changed
    lab.reset()
    stock = states(lab, hosts, raw=True)
    awx = write_json(str(tmp_path / "awx.json"), AWX_SLICE_VARS)
    for rc, out in run_slices(run_playbook, inventories, [awx] * SLICES):
        assert rc != 0, out[-3000:]
        assert "looks like one slice of the AWX / AAP sliced job template 'firewall site'" in out, out[-3000:]
        assert "portmatrix.xenserver.plan" in out and "nothing was changed" in out
        assert "PLAY [Open exactly" not in out  # stopped in the first play, on the controller
    assert states(lab, hosts, raw=True) == stock
    for host in hosts:  # lab.reset() keeps /etc/portmatrix: the slices must write their own record
        lab.exec(host, ["rm", "-f", "/etc/portmatrix/plan-digest"], check=True)

    # the plan of the whole inventory, then the slices with it: slices 1 and 2 get it as AWX hands
    # set_stats on (the extra var portmatrix_plan_data), slice 3 as a file
    plan_path = str(tmp_path / "plan.json")
    done = run_playbook("portmatrix.xenserver.plan", "-e", "portmatrix_plan_file=" + plan_path)
    assert done.returncode == 0, done.stdout[-5000:]
    assert "changed=0" in done.stdout and "unreachable=0" in done.stdout
    with open(plan_path) as handle:
        plan = json.load(handle)
    handed = write_json(str(tmp_path / "artifact.json"), dict(AWX_SLICE_VARS, portmatrix_plan_data=plan))
    as_file = write_json(str(tmp_path / "file.json"), dict(AWX_SLICE_VARS, portmatrix_plan_file=plan_path))
    for rc, out in run_slices(run_playbook, inventories, [handed, handed, as_file]):
        assert rc == 0, out[-5000:]
        assert "applying the plan %s" % plan["digest"] in out
    sliced = states(lab, hosts)
    for host in hosts:
        assert sliced[host] == whole[host], host
    assert lab.exec("pool-a1", ["cat", "/etc/portmatrix/plan-digest"], check=True).stdout.strip() == plan["digest"]
    assert observed(lab.probe(flows)[0]) == reached

    # drift from one slice with the plan: nothing drifted, every host set from this plan
    report = str(tmp_path / "drift.json")
    [(rc, out)] = run_slices(run_playbook, inventories[:1], [handed], "portmatrix.xenserver.drift",
                             ["-e", "portmatrix_drift_report=" + report])
    assert rc == 0, out[-5000:]
    with open(report) as handle:
        rows = json.load(handle)["hosts"]
    assert rows and all(r["plan_digest"] == plan["digest"] and r["plan_current"] for r in rows), rows
    lab.reset()
    for host in hosts:
        lab.exec(host, ["rm", "-f", "/etc/portmatrix/plan-digest"], check=True)
