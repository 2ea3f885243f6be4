# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans and partial inventories on the lab (issue 15): site, verify and remove given one plan; a plan
without a host or edited is refused before any host changes; a pool short of its
portmatrix_pool_size stops site on the controller, before any host changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from test_baselines import matrix_flows
from test_sliced_apply import observed, run_slices, slice_inventories, states, write_json


def test_a_pool_short_of_its_declared_size_stops_site_before_any_host_changes(lab, run_playbook):
    hosts = sorted(lab.info()["hosts"])
    stock = states(lab, hosts, raw=True)
    declared = os.path.join(lab.state_dir, "pool-size.json")
    with open(declared, "w") as handle:  # pool_a has 3 hosts in the lab: declared 4, one is "missing"
        json.dump({"all": {"hosts": dict((h, {"portmatrix_pool_size": 4}) for h in hosts if h.startswith("pool-a"))}},
                  handle)
    done = run_playbook("portmatrix.xenserver.site", inventories=[declared])
    assert done.returncode != 0, done.stdout[-3000:]
    assert "pool pool_a: portmatrix_pool_size says 4 hosts, the inventory has 3" in done.stdout, done.stdout[-3000:]
    assert "portmatrix.xenserver.plan" in done.stdout and "nothing was changed" in done.stdout
    assert "PLAY [Open exactly" not in done.stdout  # stopped in the first play, on the controller
    assert states(lab, hosts, raw=True) == stock


def test_site_verify_and_remove_given_one_plan(lab, run_playbook, tmp_path):
    hosts = sorted(lab.info()["hosts"])
    lab.reset()
    flows = [f for f in matrix_flows(lab, hosts) if f["expect"] == "open"]
    stock, before = states(lab, hosts), observed(lab.probe(flows)[0])
    plan_path = str(tmp_path / "plan.json")
    assert run_playbook("portmatrix.xenserver.plan", "-e", "portmatrix_plan_file=" + plan_path).returncode == 0
    with_plan = ("-e", "portmatrix_plan_file=" + plan_path)
    done = run_playbook("portmatrix.xenserver.site", *with_plan)
    assert done.returncode == 0, done.stdout[-5000:]
    applied = observed(lab.probe(flows)[0])
    assert applied != before and all(r[-1] == "open" for r in applied)  # the matrix opened flows stock refused
    done = run_playbook("portmatrix.xenserver.verify", "-e", "portmatrix_verify_report=%s" % (tmp_path / "v.html"),
                        *with_plan)
    assert done.returncode == 0 and "applying the plan" in done.stdout, done.stdout[-4000:]
    # refused before any host changes: a plan without most hosts (made from one slice's inventory), an edited plan
    inventories, _names = slice_inventories(lab, str(tmp_path))
    small = str(tmp_path / "small.json")
    [(rc, out)] = run_slices(run_playbook, inventories[:1], [write_json(str(tmp_path / "s.json"), {
        "portmatrix_plan_file": small})], "portmatrix.xenserver.plan")
    assert rc == 0, out[-3000:]
    with open(plan_path) as handle:
        plan = json.load(handle)
    plan["calls"]["pool-a1"]["args"]["pool_peers"].append("198.18.77.250")
    edited = str(tmp_path / "edited.json")
    with open(edited, "w") as handle:
        json.dump(plan, handle)
    applied_state = states(lab, hosts, raw=True)
    done = run_playbook("portmatrix.xenserver.remove", "-e", "portmatrix_plan_file=" + small)
    assert done.returncode != 0 and "is not in the plan" in done.stdout, done.stdout[-3000:]
    assert "PLAY RECAP" in done.stdout and "TASK [Remove everything the collection owns" not in done.stdout
    done = run_playbook("portmatrix.xenserver.remove", "-e", "portmatrix_plan_file=" + edited)
    assert done.returncode != 0 and "do not match its digest" in done.stdout, done.stdout[-3000:]
    done = run_playbook("portmatrix.xenserver.verify", "-e", "portmatrix_plan_file=" + edited)
    assert done.returncode != 0 and "do not match its digest" in done.stdout, done.stdout[-3000:]
    assert states(lab, hosts, raw=True) == applied_state
    # remove given the plan: the flows stock refused are refused again, the running rules are stock
    done = run_playbook("portmatrix.xenserver.remove", *with_plan)
    assert done.returncode == 0, done.stdout[-5000:]
    assert observed(lab.probe(flows)[0]) == before
    now = states(lab, hosts)
    for host in hosts:
        assert now[host].split("== ")[0] == stock[host].split("== ")[0], host
    lab.reset()
