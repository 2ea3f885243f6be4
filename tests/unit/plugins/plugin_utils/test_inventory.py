# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/plugin_utils/inventory.py: Ansible's groups and hostvars to the engine, once per run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
import json
import os

import pytest

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import engine, inventory

GROUPS = {"all": ["a1", "a2", "nas", "ws"], "pool_hosts": ["a1", "a2"], "nfs_filers": ["nas"], "ungrouped": ["ws"]}
HOSTVARS = {
    "a1": {"ansible_host": "198.18.5.11", "portmatrix_pool": "p"},
    "a2": {"ansible_host": "198.18.5.12", "portmatrix_pool": "p", "portmatrix_strict": "sometimes"},
    "nas": {"ansible_host": "198.18.5.31"},
    "ws": {"ansible_host": "198.18.5.99"},
}


def resolver(name):
    return []


def test_pick_takes_only_the_names_defined_and_templates_them():
    variables = {"portmatrix_pool": "{{ pool }}", "other": 1}
    assert inventory.pick(variables, ("portmatrix_pool", "portmatrix_strict"), lambda v: v.replace("{{ pool }}", "p")) \
        == {"portmatrix_pool": "p"}


def test_estate_survives_the_json_of_the_run_cache():
    estate = engine.build_estate(GROUPS, dict((h, HOSTVARS[h]) for h in ("a1", "a2", "nas")), {}, resolver)
    again = inventory.estate_from_data(json.loads(json.dumps(inventory.estate_to_data(estate))))
    assert again == estate


def test_compute_keeps_each_hosts_problems_apart():
    data = inventory.compute(GROUPS, HOSTVARS, None, {}, resolver)
    assert data["estate_errors"] == []
    assert list(data["host_errors"]) == ["a2"] and "portmatrix_strict" in data["host_errors"]["a2"][0]
    assert sorted(data["calls"]) == ["a1", "nas"]
    assert data["errors"] == data["host_errors"]["a2"]        # every host: a2's problem stops the run
    assert inventory.errors_for(data, ["a1", "nas"]) == []      # a --limit without a2 goes on
    assert inventory.errors_for(data, ["a2"]) == data["host_errors"]["a2"]


def test_compute_reports_an_estate_problem_for_every_host():
    hostvars = dict(HOSTVARS, nas={"portmatrix_addresses": "no.such.name.invalid"})
    data = inventory.compute(GROUPS, hostvars, ["a1"], {}, resolver)
    assert data["estate"] is None and data["calls"] == {}
    assert inventory.errors_for(data, ["a1"]) == data["estate_errors"]
    assert "nas: 'no.such.name.invalid' (from portmatrix_addresses)" in data["estate_errors"][0]


def test_compute_finds_portmatrix_groups_on_an_inventory_host():
    """The implicit localhost does not see group_vars/all: the groups come from a host that does."""
    groups = dict(GROUPS, xen=["a1", "a2"], pool_hosts=[])
    hostvars = dict((h, dict(v, portmatrix_groups={"pool_host": "xen"})) for h, v in HOSTVARS.items())
    hostvars["a2"].pop("portmatrix_strict")
    data = inventory.compute(groups, hostvars, None, {}, resolver)
    assert data["errors"] == [] and sorted(data["calls"]) == ["a1", "a2", "nas"]


def test_compute_checks_the_one_portmatrix_groups_value_once(monkeypatch):
    seen = []
    check = engine.settings_mod.check

    def counting(name, value):
        if name == "portmatrix_groups":
            seen.append(value)
        return check(name, value)

    monkeypatch.setattr(engine.settings_mod, "check", counting)
    monkeypatch.setattr(inventory.settings, "check", counting)
    groups = dict(GROUPS, xen=["a1", "a2"], pool_hosts=[])
    hostvars = dict((h, dict(v, portmatrix_groups={"pool_host": "xen"})) for h, v in HOSTVARS.items())
    inventory.compute(groups, hostvars, None, {}, resolver)
    assert seen == [{"pool_host": "xen"}]  # not once per host, nor again in build_estate


def test_cached_builds_once_per_key_across_processes(tmp_path):
    built = []
    marker = str(tmp_path / "built")

    def build():
        with open(marker, "a") as handle:
            handle.write("x")
        built.append(1)
        return {"n": 1}

    pid = os.fork()
    if pid == 0:  # a worker of the same run
        inventory.cached(str(tmp_path), ["k"], build)
        os._exit(0)
    os.waitpid(pid, 0)
    data, built_here = inventory.cached(str(tmp_path), ["k"], build)
    assert data == {"n": 1} and built_here is False and built == []
    with open(marker) as handle:
        assert handle.read() == "x"
    assert inventory.cached(str(tmp_path), ["other"], build) == ({"n": 1}, True)


def test_gc_paused_puts_the_collector_back():
    assert gc.isenabled()
    with inventory.gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_options_or_variables_fills_only_what_the_task_leaves_out():
    # One helper for the rollout and perimeter_check actions (the loop was written out in each).
    table = (("canary", "portmatrix_rollout_canary", 1, int), ("policy", "portmatrix_perimeter_policy", None, None),
             ("staged", "portmatrix_rollout_staged", True, None))
    variables = {"portmatrix_rollout_canary": "{{ 0 }}", "portmatrix_perimeter_policy": "/srv/policy"}
    found = inventory.options_or_variables({"canary": None, "policy": None, "staged": False}, table, variables,
                                           template=lambda value: value.replace("{{ 0 }}", "0"))
    assert found == {"canary": 0, "policy": "/srv/policy", "staged": False}  # staged: the task's own value
    assert inventory.options_or_variables({"canary": 3}, table[:1], variables)["canary"] == 3
    assert inventory.options_or_variables({}, table[:1], {})["canary"] == 1  # the default


def test_options_or_variables_names_the_variable_of_a_bad_value():
    def whole(value):
        if not str(value).isdigit():
            raise ValueError("must be a whole number, 0 or more")
        return int(value)
    with pytest.raises(ValueError) as caught:
        inventory.options_or_variables({"canary": None}, (("canary", "portmatrix_rollout_canary", 1, whole),),
                                       {"portmatrix_rollout_canary": "two"})
    assert str(caught.value) == "portmatrix_rollout_canary must be a whole number, 0 or more, not 'two'"


def test_compute_warns_once_of_a_misspelt_variable_naming_its_hosts():
    hostvars = {h: dict(v, portmatrix_migration_pool={"p": ["q"]}) for h, v in HOSTVARS.items()}
    data = inventory.compute(GROUPS, hostvars, None, {}, resolver)
    warnings = [w for w in data["estate"]["warnings"] if "portmatrix_migration_pool " in w]
    assert warnings == ["portmatrix_migration_pool (on a1, a2, nas) is not a variable of the collection and is "
                        "ignored; did you mean portmatrix_migration_pools?"]
