# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""portmatrix.xenserver.inventory_flows: the run's estate as flows and files, its arguments checked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import json
import os

import pytest

from ansible.errors import AnsibleActionFail

from action_harness import make_action
from module_docs import documented_and_checked


def test_documented_options_are_the_checked_ones():
    documented, checked = documented_and_checked("inventory_flows")
    assert documented == checked


def test_targets_per_source_host(run_tmp, inventory):
    result = make_action("inventory_flows", {"targets": True}).run(task_vars=inventory.task_vars("localhost"))
    assert result["managed"] == ["a1", "a2", "b1", "lic", "nas"]
    to_lic = [t for t in result["targets"]["a1"] if t["dst"] == "lic" and t["proto"] == "tcp"]
    assert to_lic and 27000 in to_lic[0]["ports"] and to_lic[0]["addresses"] == ["198.18.5.34"]
    assert "a1" not in [t["dst"] for t in result["targets"]["a1"]]


def test_files_written_and_not_in_check_mode(run_tmp, inventory, tmp_path):
    dest = str(tmp_path / "flows")
    checked = make_action("inventory_flows", {"dest": dest}, check_mode=True).run(
        task_vars=inventory.task_vars("localhost"))
    assert checked["changed"] is False and not os.path.exists(dest)
    written = make_action("inventory_flows", {"dest": dest}).run(task_vars=inventory.task_vars("localhost"))
    assert written["changed"] is True and sorted(os.listdir(dest)) == sorted(written["files"])
    with open(os.path.join(dest, "flows.json")) as handle:
        rows = json.load(handle)
    assert rows["pairs"] and written["flows"] >= len(rows["pairs"])  # a row per pair and port


def test_dest_that_is_a_file_fails(run_tmp, inventory, tmp_path):
    path = tmp_path / "a-file"
    path.write_text(u"x")
    result = make_action("inventory_flows", {"dest": str(path)}).run(task_vars=inventory.task_vars("localhost"))
    assert result["failed"] is True and "is not a directory" in result["msg"]


def test_bad_argument(run_tmp, inventory):
    with pytest.raises(AnsibleActionFail, match="targets"):
        make_action("inventory_flows", {"targets": "some"}).run(task_vars=inventory.task_vars("localhost"))


class CountedHostvars(dict):
    """hostvars that count the reads of each host's variables (each costs a VariableManager call in Ansible)."""

    def __init__(self, *args, **kwargs):
        super(CountedHostvars, self).__init__(*args, **kwargs)
        self.reads = collections.Counter()

    def __getitem__(self, host):
        self.reads[host] += 1
        return dict.__getitem__(self, host)

    def get(self, host, default=None):
        return self[host] if host in self else default


@pytest.mark.parametrize("named", ["a1", "ws", None])  # an estate host, a host in no component group, none
def test_inventory_name_found_with_each_hosts_vars_read_once(run_tmp, inventory, tmp_path, named):
    inventory.groups = dict(inventory.groups, all=inventory.groups["all"] + ["ws"], ungrouped=["ws"])
    inventory.hostvars = CountedHostvars(inventory.hostvars, ws={"ansible_host": "198.18.5.99"})
    if named:
        inventory.hostvars[named]["portmatrix_inventory_name"] = "east"
    inventory.hostvars.reads.clear()
    variables = dict(inventory.task_vars("localhost"), ansible_inventory_sources=["/srv/inventories/west/hosts"])
    result = make_action("inventory_flows", {"dest": str(tmp_path / "flows")}).run(task_vars=variables)
    assert result["inventory"] == ("east" if named else "west")
    # the estate's hosts once (the flows action read each again for the name); ws, outside the estate,
    # is read again when no host of the estate names the inventory
    estate = [h for h in inventory.groups["all"] if h != "ws"]
    assert [inventory.hostvars.reads[h] for h in estate] == [1] * len(estate), inventory.hostvars.reads
