# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan once, apply anywhere (issue 15): plan with estate=true writes the plan; firewall_rules,
plan and rollout given a plan take each host's call from it, refuse one that does not cover the
host or was made by another version before anything is sent, and without a plan a run over part
of the estate (an AWX slice, a pool short of its portmatrix_pool_size) is stopped; --limit is not."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from action_harness import GROUPS, INVENTORY, FakeTarget, Inventory, make_action

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import plan_file

FIREWALL = "firewall_rules"
SLICE = {"awx_job_launch_type": "workflow", "awx_workflow_job_name": "fw", "awx_job_template_name": "fw"}


def sliced(hosts, hostvars=None):
    """One slice's inventory as AWX gives it: the same groups and variables, only these hosts."""
    return Inventory(groups=dict((g, [h for h in m if h in hosts]) for g, m in GROUPS.items()),
                     hostvars=dict((h, v) for h, v in (hostvars or INVENTORY).items() if h in hosts))


@pytest.fixture
def plan_path(run_tmp, inventory, tmp_path):
    path = str(tmp_path / "plans" / "plan.json")
    result = make_action("plan", {"estate": True, "path": path}).run(task_vars=inventory.task_vars("a1"))
    assert not result.get("failed"), result
    assert result["digest"] == result["plan"]["digest"] and "written to %s" % path in result["msg"]
    return path


def test_the_plan_covers_every_host_of_the_inventory(plan_path):
    with open(plan_path) as handle:
        plan = json.load(handle)
    assert plan["inventory_hosts"] == sorted(GROUPS["all"]) and sorted(plan["calls"]) == sorted(GROUPS["all"])
    assert plan["version"] == plan_file.collection_version()


def test_a_slice_given_the_plan_applies_the_whole_estates_call_with_its_digest(plan_path, run_tmp):
    target = FakeTarget({"changed": True, "backend": "iptables"})
    result = make_action(FIREWALL, {"from_inventory": True}, target=target).run(
        task_vars=sliced(["a1", "b1"]).task_vars("a1", portmatrix_plan_file=plan_path, **SLICE))
    assert not result.get("failed"), result
    sent = target.calls[0][1]
    assert sent["pool_peers"] == ["198.18.5.12"]  # a2 is in another slice: the plan still has it
    with open(plan_path) as handle:
        assert sent["plan_digest"] == json.load(handle)["digest"]


def test_the_plan_as_an_extra_var_as_awx_hands_it_on(plan_path, run_tmp):
    with open(plan_path) as handle:
        plan = json.load(handle)
    target = FakeTarget({"changed": False, "backend": "iptables"})
    result = make_action(FIREWALL, {"from_inventory": True}, target=target).run(
        task_vars=sliced(["a2"]).task_vars("a2", portmatrix_plan_data=plan, **SLICE))
    assert not result.get("failed"), result
    assert target.calls[0][1]["pool_peers"] == ["198.18.5.11"]


def test_the_rollout_of_a_slice_orders_its_own_hosts_from_the_plan(plan_path, run_tmp):
    result = make_action("rollout", {}).run(task_vars=sliced(["a1", "a2", "nas"]).task_vars(
        "a1", play_hosts=["a1", "a2", "nas"], portmatrix_plan_file=plan_path, **SLICE))
    assert not result.get("failed"), result
    assert result["waves"] == [["a1"], ["a2", "nas"]]  # a1 and a2 share a pool: never in one wave


@pytest.mark.parametrize("spoil, message", [
    (lambda plan: plan.update(version="0.0.1"), "was made by portmatrix.xenserver 0.0.1"),
    (lambda plan: plan["inventory_hosts"].append("zz9"), "do not match its digest"),
    (lambda plan: plan["calls"]["a1"]["args"]["pool_peers"].append("198.18.9.9"), "do not match its digest"),
    (lambda plan: plan.pop("estate"), "malformed"),
])
def test_a_plan_of_another_version_or_malformed_is_refused_before_anything_is_sent(plan_path, run_tmp, spoil,
                                                                                   message):
    with open(plan_path) as handle:
        plan = json.load(handle)
    spoil(plan)
    target = FakeTarget()
    result = make_action(FIREWALL, {"from_inventory": True}, target=target).run(
        task_vars=sliced(["a1"]).task_vars("a1", portmatrix_plan_data=plan))
    assert result["failed"] is True and message in result["msg"], result
    assert "the given plan cannot be applied; nothing was changed" in result["msg"]
    assert target.calls == []


def test_a_host_the_plan_does_not_cover_is_refused(plan_path, run_tmp):
    hostvars = dict(INVENTORY, a9={"ansible_host": "198.18.5.19", "portmatrix_pool": "pool_a"})
    groups = dict(GROUPS, all=GROUPS["all"] + ["a9"], pool_hosts=GROUPS["pool_hosts"] + ["a9"])
    target = FakeTarget()
    result = make_action(FIREWALL, {"from_inventory": True}, target=target).run(
        task_vars=Inventory(groups, hostvars).task_vars("a9", portmatrix_plan_file=plan_path))
    assert result["failed"] is True and "a9 is not in the plan" in result["msg"], result
    assert target.calls == []


def test_a_missing_plan_file_is_refused(run_tmp, inventory, tmp_path):
    target = FakeTarget()
    result = make_action(FIREWALL, {"from_inventory": True}, target=target).run(
        task_vars=inventory.task_vars("a1", portmatrix_plan_file=str(tmp_path / "none.json")))
    assert result["failed"] is True and "cannot read the plan file" in result["msg"]
    assert target.calls == []


def test_an_awx_slice_without_a_plan_is_stopped_before_anything_is_sent(run_tmp):
    for action in ("rollout", "plan", FIREWALL):
        target = FakeTarget()
        result = make_action(action, {"from_inventory": True} if action == FIREWALL else {}, target=target).run(
            task_vars=sliced(["a1", "b1"]).task_vars("a1", play_hosts=["a1", "b1"], **SLICE))
        assert result["failed"] is True, result
        assert "one slice of the AWX / AAP sliced job template 'fw'" in result["msg"]
        assert "portmatrix.xenserver.plan" in result["msg"]
        assert target.calls == []


def test_a_pool_short_of_its_declared_size_is_stopped_a_limit_is_not(run_tmp):
    sized = dict((h, dict(v, portmatrix_pool_size=2 if v.get("portmatrix_pool") == "pool_a" else 1))
                 for h, v in INVENTORY.items())
    # --limit a1: the inventory is whole, only the play is limited
    limited = Inventory(hostvars=sized).task_vars("a1", play_hosts=["a1"])
    target = FakeTarget()
    result = make_action(FIREWALL, {"from_inventory": True}, target=target).run(task_vars=limited)
    assert not result.get("failed"), result
    assert len(target.calls) == 1
    # an inventory without a2
    target = FakeTarget()
    result = make_action(FIREWALL, {"from_inventory": True}, target=target).run(
        task_vars=sliced(["a1", "b1", "nas"], sized).task_vars("a1"))
    assert result["failed"] is True
    assert "pool pool_a: portmatrix_pool_size says 2 hosts, the inventory has 1" in result["msg"]
    assert target.calls == []


def test_without_a_plan_the_host_records_the_digest_a_plan_would_have(plan_path, run_tmp, inventory):
    with open(plan_path) as handle:
        digest = json.load(handle)["digest"]
    target = FakeTarget()
    make_action(FIREWALL, {"from_inventory": True}, target=target).run(task_vars=inventory.task_vars("b1"))
    assert target.calls[0][1]["plan_digest"] == digest


def test_verify_given_the_plan_tries_the_plans_flows_and_refuses_a_host_it_does_not_cover(plan_path, run_tmp):
    """verify reads its flows as site reads the calls: a slice given the plan tries a1's pool flows to
    a2 of another slice; without the plan the slice is stopped; a play host the plan lacks is refused."""
    flows = make_action("inventory_flows", {"targets": True})
    result = flows.run(task_vars=sliced(["a1", "b1"]).task_vars("a1", portmatrix_plan_file=plan_path, **SLICE))
    assert not result.get("failed"), result
    assert "198.18.5.12" in [p["address"] for p in result["probes"]["a1"] if p["expect"] == "open"]
    assert sorted(result["probes"]) == ["a1", "a2", "b1", "lic", "nas", "xc"]  # the plan's hosts, not the slice's
    result = flows.run(task_vars=sliced(["a1", "b1"]).task_vars("a1", **SLICE))
    assert result["failed"] is True and "one slice of the AWX / AAP sliced job template" in result["msg"]
    hostvars = dict(INVENTORY, a9={"ansible_host": "198.18.5.19", "portmatrix_pool": "pool_a"})
    groups = dict(GROUPS, all=GROUPS["all"] + ["a9"], pool_hosts=GROUPS["pool_hosts"] + ["a9"])
    result = flows.run(task_vars=Inventory(groups, hostvars).task_vars("a1", portmatrix_plan_file=plan_path))
    assert result["failed"] is True and "a9 is not in the plan" in result["msg"], result
    assert "the given plan cannot be applied" in result["msg"]
