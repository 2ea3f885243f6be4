# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""portmatrix.xenserver.rollout: the order and batches of a run, its arguments checked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleActionFail

from action_harness import make_action
from module_docs import documented_and_checked

HOSTS = ["a1", "a2", "b1", "nas", "lic", "xc"]


def test_documented_options_are_the_checked_ones():
    documented, checked = documented_and_checked("rollout")
    assert documented == checked


def test_canary_then_one_host_per_pool_then_the_unmanaged(run_tmp, inventory):
    result = make_action("rollout", {}).run(task_vars=inventory.task_vars("a1", play_hosts=HOSTS))
    assert result["waves"] == [["a1"], ["a2", "b1", "nas", "lic"], ["xc"]]
    assert result["batches"] == [1, 4, 1]
    assert result["ansible_facts"]["portmatrix_rollout"]["order"] == result["order"]


def test_not_staged_is_one_batch_of_the_hosts_given(run_tmp, inventory):
    result = make_action("rollout", {"staged": False, "hosts": "a1,b1"}).run(task_vars=inventory.task_vars("a1"))
    assert result["order"] == ["a1", "b1"] and result["batches"] == [2]


def test_a_bad_value_outside_the_hosts_stops_nothing(run_tmp, inventory):
    inventory.hostvars["b1"]["portmatrix_strict"] = "very"
    ok = make_action("rollout", {"hosts": ["a1", "a2"]}).run(task_vars=inventory.task_vars("a1"))
    assert not ok.get("failed") and ok["order"] == ["a1", "a2"]
    bad = make_action("rollout", {}).run(task_vars=inventory.task_vars("a1", play_hosts=HOSTS))
    assert bad["failed"] is True and "b1: portmatrix_strict" in bad["msg"]


@pytest.mark.parametrize("args, message", [
    ({"canary": -1}, "canary must be a whole number, 0 or more"),
    ({"canary": "first"}, "canary"),
    ({"staged": "maybe"}, "staged"),
    ({"waves": 3}, "Unsupported parameters"),
])
def test_bad_arguments(run_tmp, inventory, args, message):
    with pytest.raises(AnsibleActionFail, match=message):
        make_action("rollout", args).run(task_vars=inventory.task_vars("a1"))


def test_canary_and_staged_come_from_their_variables_when_not_given(run_tmp, inventory):
    """The playbooks no longer template them into the task: -e portmatrix_rollout_canary=0 and
    portmatrix_rollout_staged=false reach the rollout by themselves; the task's own value wins."""
    no_canary = make_action("rollout", {}).run(
        task_vars=inventory.task_vars("a1", play_hosts=HOSTS, portmatrix_rollout_canary="0"))
    assert no_canary["waves"][0] != ["a1"] and no_canary["batches"][0] > 1
    flat = make_action("rollout", {}).run(
        task_vars=inventory.task_vars("a1", play_hosts=HOSTS, portmatrix_rollout_staged="false"))
    assert flat["batches"] == [len(HOSTS)]
    given = make_action("rollout", {"staged": True}).run(
        task_vars=inventory.task_vars("a1", play_hosts=HOSTS, portmatrix_rollout_staged=False))
    assert given["batches"] == [1, 4, 1]
    bad = inventory.task_vars("a1", play_hosts=HOSTS, portmatrix_rollout_canary="some")
    with pytest.raises(AnsibleActionFail, match="portmatrix_rollout_canary"):
        make_action("rollout", {}).run(task_vars=bad)


def test_a_drift_check_is_one_batch_past_failures_and_enforcing_rolls_out(run_tmp, inventory):
    """The drift playbook worked out its batches and max_fail_percentage in Jinja (issue 16)."""
    check = make_action("rollout", {"playbook": "drift"}).run(task_vars=inventory.task_vars("a1", play_hosts=HOSTS))
    assert check["batches"] == [len(HOSTS)] and check["max_fail_percentage"] == 100
    enforce = make_action("rollout", {"playbook": "drift"}).run(task_vars=inventory.task_vars(
        "a1", play_hosts=HOSTS, portmatrix_enforce="true", portmatrix_max_fail_percentage="20"))
    assert enforce["batches"] == [1, 4, 1] and enforce["max_fail_percentage"] == 20
    assert enforce["ansible_facts"]["portmatrix_rollout"]["max_fail_percentage"] == 20
    site = make_action("rollout", {}).run(task_vars=inventory.task_vars("a1", play_hosts=HOSTS))
    assert site["batches"] == [1, 4, 1] and site["max_fail_percentage"] == 0
    with pytest.raises(AnsibleActionFail, match="portmatrix_max_fail_percentage must be a whole number from 0 to 100"):
        make_action("rollout", {}).run(task_vars=inventory.task_vars("a1", portmatrix_max_fail_percentage="150"))


def test_preflight_lists_every_managed_host_unless_switched_off_or_in_check_mode(run_tmp, inventory):
    """The site playbook checks these hosts, read-only and all at once, before the canary changes
    anything (issue 18: a backend mismatch failed only after the earlier hosts were changed)."""
    inventory.hostvars["nas"]["portmatrix_manage_firewall"] = False
    on = make_action("rollout", {}).run(task_vars=inventory.task_vars("a1", play_hosts=HOSTS))
    assert on["preflight"] == ["a1", "a2", "b1", "lic"]   # nas (unmanaged) and xc (a source only) are never contacted
    assert on["ansible_facts"]["portmatrix_rollout"]["preflight"] == on["preflight"]
    off = make_action("rollout", {}).run(task_vars=inventory.task_vars("a1", play_hosts=HOSTS, portmatrix_preflight="false"))
    assert off["preflight"] == [] and off["waves"] == on["waves"]
    checking = make_action("rollout", {}, check_mode=True).run(task_vars=inventory.task_vars("a1", play_hosts=HOSTS))
    assert checking["preflight"] == []
    drift = make_action("rollout", {"playbook": "drift"}).run(task_vars=inventory.task_vars("a1", play_hosts=HOSTS))
    assert drift["preflight"] == []   # a drift check changes nothing
    enforcing = make_action("rollout", {"playbook": "drift"}).run(
        task_vars=inventory.task_vars("a1", play_hosts=HOSTS, portmatrix_enforce="true"))
    assert enforcing["preflight"] == on["preflight"]
    with pytest.raises(AnsibleActionFail, match="portmatrix_preflight"):
        make_action("rollout", {}).run(task_vars=inventory.task_vars("a1", play_hosts=HOSTS, portmatrix_preflight="soon"))
