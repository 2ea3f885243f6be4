# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/action/plan.py: one host's call from the run's estate, its arguments checked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleActionFail

from action_harness import make_action


def test_plan_returns_the_hosts_call_and_roles(run_tmp, inventory):
    result = make_action("plan", {}).run(task_vars=inventory.task_vars("lic"))
    assert not result.get("failed"), result
    plan = result["portmatrix"]
    assert plan["manage"] is True
    assert plan["served"] == ["license_server", "ntp_server"]
    assert plan["roles"] == ["license_server", "infra_service"]
    assert plan["role_groups"]["storage_filer"] == ["iscsi_targets", "nfs_filers", "smb_filers"]
    assert plan["args"]["peers"]["pool_host"] == ["198.18.5.11", "198.18.5.12", "198.18.5.21"]
    # the roles the playbooks include (playbooks/tasks/host_roles.yml), none on an unmanaged host
    assert result["ansible_facts"] == {"portmatrix_roles": ["license_server", "infra_service"]}


def test_plan_includes_no_role_on_an_unmanaged_host(run_tmp, inventory):
    inventory.hostvars["lic"]["portmatrix_manage_firewall"] = False
    unmanaged = make_action("plan", {}).run(task_vars=inventory.task_vars("lic"))
    assert unmanaged["portmatrix"]["roles"] and unmanaged["ansible_facts"] == {"portmatrix_roles": []}


def test_plan_names_the_bad_host_and_variable(run_tmp):
    from action_harness import Inventory
    bad = Inventory(hostvars=dict((h, dict(v)) for h, v in __import__("action_harness").INVENTORY.items()))
    bad.hostvars["b1"]["portmatrix_cluster_daemon_port"] = 70000
    result = make_action("plan", {}).run(task_vars=bad.task_vars("a1"))
    assert result["failed"] is True
    assert "b1: portmatrix_cluster_daemon_port" in result["msg"]


@pytest.mark.parametrize("args, message", [
    ({"refresh": "perhaps"}, "refresh"),
    ({"colour": "blue"}, "Unsupported parameters"),
])
def test_plan_checks_its_arguments(run_tmp, inventory, args, message):
    with pytest.raises(AnsibleActionFail, match=message):
        make_action("plan", args).run(task_vars=inventory.task_vars("a1"))
