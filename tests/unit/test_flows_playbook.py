# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real ansible-playbook runs that touch no host: the flows playbook (its change request named
after the inventory, dated, and `changed` only when a file changed) and the reachability
filters' documented examples, pasted into a play as they are."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import datetime
import json
import os
import re
import subprocess
import sys

import yaml

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
INVENTORY = """\
pool_hosts:
  hosts:
    xa1: {ansible_host: 198.18.10.11, portmatrix_pool: pool_a, portmatrix_addresses: [198.18.10.11, "fd00::11"]}
    xa2: {ansible_host: 198.18.10.12, portmatrix_pool: pool_a, portmatrix_addresses: [198.18.10.12, "fd00::12"]}
nfs_filers:
  hosts:
    netapp1: {ansible_host: 198.18.10.40, portmatrix_manage_firewall: false}
xencenters:
  hosts:
    xc1: {ansible_host: 198.18.10.50}
"""


def _run(args, cwd):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    result = subprocess.run([PLAYBOOK] + args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-4000:]
    return result.stdout


def _recap_changed(output):
    return int(re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)", output).group(1))


def test_flows_playbook_names_the_inventory_dates_the_request_and_reports_changed_only_on_change(tmp_path):
    inventory = tmp_path / "lab-east"
    inventory.mkdir()
    (inventory / "hosts.yml").write_text(INVENTORY)
    args = ["-i", str(inventory / "hosts.yml"), "portmatrix.xenserver.flows", "-e", "portmatrix_flows_dir=out",
            "-e", '{"portmatrix_flows_formats": ["csv", "json", "md", "aerleon"]}']
    first = _run(args, str(tmp_path))
    assert _recap_changed(first) == 1
    assert "netapp1: NFSv3 side ports assumed" in first  # the warning, in the run's output
    request = json.loads((tmp_path / "out" / "change-request.json").read_text())
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    assert request["inventory"] == "lab-east" and request["generated"] == today
    rows = list(csv.DictReader((tmp_path / "out" / "change-request.csv").open()))
    assert set((r["inventory"], r["generated"]) for r in rows) == {("lab-east", today)}
    assert [r for r in rows if "netapp1" in r["destination_hosts"] and "ASSUMED" in r["note"]]

    # the same inventory again: nothing to change, and no file is rewritten
    assert os.path.isdir(str(tmp_path / "out" / "aerleon"))
    stamps = dict((os.path.join(top, name), os.stat(os.path.join(top, name)).st_mtime_ns)
                  for top, _dirs, names in os.walk(str(tmp_path / "out")) for name in names)
    second = _run(args, str(tmp_path))
    assert _recap_changed(second) == 0, second
    assert stamps == dict((path, os.stat(path).st_mtime_ns) for path in stamps)

    # a change in the inventory: changed again; the name setting wins over the directory's
    (inventory / "hosts.yml").write_text(INVENTORY.replace("portmatrix_manage_firewall: false",
                                                           "portmatrix_manage_firewall: false, "
                                                           "portmatrix_nfs_appliance: netapp_ontap"))
    third = _run(args + ["-e", "portmatrix_inventory_name=east-datacentre"], str(tmp_path))
    assert _recap_changed(third) == 1 and "NFSv3 side ports assumed" not in third
    request = json.loads((tmp_path / "out" / "change-request.json").read_text())
    assert request["inventory"] == "east-datacentre" and request["warnings"] == []
    assert [r for r in request["flows"] if r["destination_hosts"] == ["netapp1"] and 635 in r["ports"]]


def _examples(name):
    with open(os.path.join(COLLECTION, "plugins", "filter", name + ".yml")) as handle:
        return yaml.safe_load(handle)["EXAMPLES"]


def test_reachability_filter_examples_run_as_pasted(tmp_path):
    tasks = yaml.safe_load(_examples("reachability_html")) + yaml.safe_load(_examples("reachability_text"))
    play = [{"name": "pasted examples", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    output = _run(["-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable, "play.yml"],
                  str(tmp_path))
    page = (tmp_path / "reachability.html").read_text()
    assert "reachability: 1 passed, 0 failed" in page
    assert "reachability: 0 passed, 1 failed" in output


def test_a_misspelt_portmatrix_variable_is_named_in_a_real_run(tmp_path):
    """portmatrix_migration_pool (no s) was ignored without a word (issue 18 item 11); here through
    Ansible's own hostvars, on the inventory and as an extra var."""
    (tmp_path / "hosts.yml").write_text(INVENTORY.replace("portmatrix_pool: pool_a,", "portmatrix_pool: pool_a, "
                                                          "portmatrix_migration_pool: {pool_b: [pool_a]},", 1))
    output = " ".join(_run(["-i", str(tmp_path / "hosts.yml"), "portmatrix.xenserver.flows", "-e",
                            "portmatrix_flows_dir=out", "-e", "portmatrix_enforse=true"], str(tmp_path)).split())
    assert ("portmatrix_migration_pool (on xa1) is not a variable of the collection and is ignored; did you mean "
            "portmatrix_migration_pools?") in output
    assert "portmatrix_enforse (on netapp1, xa1, xa2 and 1 more hosts)" in output
    assert "did you mean portmatrix_enforce?" in output
