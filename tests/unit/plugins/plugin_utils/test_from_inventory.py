# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/plugin_utils/from_inventory.py: one host's call from the run's estate, for the actions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible import constants as C

from ansible_collections.portmatrix.xenserver.plugins.module_utils import matrix
from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import from_inventory

from action_harness import Inventory, make_action


@pytest.fixture
def run_tmp(tmp_path, monkeypatch):
    monkeypatch.setattr(C, "DEFAULT_LOCAL_TMP", str(tmp_path))
    return tmp_path


def test_every_served_component_has_exactly_one_role():
    destinations = set(flow.destination for flow in matrix.FLOWS)
    owners = dict((c, [role for role, components in from_inventory.ROLES if c in components]) for c in destinations)
    assert dict((c, len(r)) for c, r in owners.items()) == dict((c, 1) for c in destinations)
    assert set(c for role, components in from_inventory.ROLES for c in components) <= set(matrix.COMPONENTS)


def test_roles_of_and_role_groups():
    assert from_inventory.roles_of(["ntp_server", "license_server"]) == ["license_server", "infra_service"]
    assert from_inventory.role_groups({"pool_host": ["xen"], "nfs_filer": ["nas"]}) == {
        "pool_host": ["xen"], "storage_filer": ["nas"], "license_server": [], "infra_service": []}


def test_play_settings_keep_only_what_the_inventory_does_not_say():
    inventory = Inventory(common={"portmatrix_clustered_pools": ["pool_a"]})
    same = inventory.task_vars("a1")
    assert from_inventory.play_settings(same) == {}
    other = inventory.task_vars("a1", portmatrix_clustered_pools=["pool_b"])
    assert from_inventory.play_settings(other) == {"portmatrix_clustered_pools": ["pool_b"]}


def test_failure_says_a_shared_problem_once():
    message = from_inventory.failure(["a1: x bad", "a2: x bad", "a3: x bad", "a4: x bad", "b1: y bad", "estate wide"])
    assert "nothing was changed" in message
    assert "a1, a2, a3 and 1 more hosts: x bad" in message
    assert "b1: y bad" in message and "\n  - estate wide" in message


def test_host_call_reuses_the_runs_call_and_warns_for_play_vars(run_tmp, monkeypatch):
    warnings = []
    monkeypatch.setattr(from_inventory.display, "warning", warnings.append)
    inventory = Inventory()
    action = make_action("plan", {})
    call, problem = from_inventory.host_call(action, inventory.task_vars("a1"))
    assert problem is None and call["roles"] == ["pool_host"] and warnings == []
    strict, problem = from_inventory.host_call(action, inventory.task_vars("a1", portmatrix_strict=True))
    assert strict["args"]["public_ports"] == [] and "public_ports" not in call["args"]
    assert len(warnings) == 1 and "a1: portmatrix_strict set for this play only" in warnings[0]


def test_host_call_of_a_bad_play_var_names_it(run_tmp):
    call, problem = from_inventory.host_call(make_action("plan", {}), Inventory().task_vars("a1", portmatrix_pool=[]))
    assert call is None and "a1: portmatrix_pool must be a name" in problem


def test_missing_role():
    call = {"host": "nas", "roles": ["storage_filer"], "role_groups": {"pool_host": ["xen_a", "xen_b"]}}
    assert from_inventory.missing_role(call, "storage_filer") is None
    assert from_inventory.missing_role(call, None) is None
    assert from_inventory.missing_role(call, "pool_host") == (
        "nas is in none of the groups xen_a, xen_b of the role portmatrix.xenserver.pool_host; add it to one, "
        "or map your group with portmatrix_groups")
    assert "role must be one of pool_host, storage_filer" in from_inventory.missing_role(call, "web")
