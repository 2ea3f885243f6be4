# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/plugin_utils/plan_file.py: the estate's plan as an artifact, and a run over part of the estate."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os

import pytest

import action_harness
from action_harness import Inventory
from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import inventory, plan_file

# The estate of the action plugin tests (conftest.py puts action_harness on the path), and a
# workstation in no component group.
ESTATE = Inventory(groups=dict(action_harness.GROUPS, all=action_harness.GROUPS["all"] + ["ws"], ungrouped=["ws"]),
                   hostvars=dict(action_harness.INVENTORY, ws={"ansible_host": "198.18.5.99"}))
GROUPS, HOSTVARS = ESTATE.groups, ESTATE.hostvars
MANAGED = ["a1", "a2", "b1", "lic", "nas", "xc"]


def resolver(name):
    return []


def data_of(groups=None, hostvars=None):
    return json.loads(json.dumps(inventory.compute(groups or GROUPS, hostvars or HOSTVARS, None, {}, resolver)))


def sliced(hosts):
    """The inventory AWX gives one slice: the same groups, only these hosts in them."""
    return dict((g, [h for h in members if h in hosts]) for g, members in GROUPS.items())


@pytest.fixture
def plan():
    return plan_file.make(data_of(), GROUPS["all"], "1.2.3", now=0)


def test_the_plan_holds_every_call_the_estate_digest_version_and_time(plan):
    assert sorted(plan["calls"]) == MANAGED
    assert plan["inventory_hosts"] == sorted(MANAGED + ["ws"])
    assert (plan["version"], plan["created"]) == ("1.2.3", "1970-01-01T00:00:00Z")
    assert plan["collection"] == "portmatrix.xenserver"
    assert plan["digest"].startswith("sha256:") and len(plan["digest"]) == 7 + 64
    assert plan_file.checked(json.loads(json.dumps(plan)), "1.2.3") == plan


def test_the_digest_depends_on_what_the_hosts_get_and_the_version_not_on_the_time():
    data = data_of()
    assert plan_file.make(data, GROUPS["all"], "1.2.3", now=0)["digest"] == \
        plan_file.make(data, GROUPS["all"], "1.2.3", now=99999)["digest"]
    assert plan_file.make(data, GROUPS["all"], "1.2.4")["digest"] != plan_file.make(data, GROUPS["all"], "1.2.3")["digest"]
    moved = dict(HOSTVARS, a2=dict(HOSTVARS["a2"], ansible_host="198.18.5.13"))
    assert plan_file.make(data_of(hostvars=moved), GROUPS["all"], "1.2.3")["digest"] != \
        plan_file.make(data, GROUPS["all"], "1.2.3")["digest"]


def test_a_slice_alone_plans_its_pool_host_without_the_missing_members(plan):
    """Why a plan is needed: a1 planned from its slice does not accept a2, the plan's a1 does."""
    alone = data_of(sliced(["a1", "b1"]))
    assert "198.18.5.12" not in alone["calls"]["a1"]["args"]["pool_peers"]
    assert "198.18.5.12" in plan["calls"]["a1"]["args"]["pool_peers"]
    assert plan_file.as_data(plan)["calls"]["a1"] == plan["calls"]["a1"]


def test_a_plan_of_another_version_is_refused(plan):
    with pytest.raises(plan_file.PlanFileError, match="made by portmatrix.xenserver 1.2.3, this is 1.3.0"):
        plan_file.checked(plan, "1.3.0")


@pytest.mark.parametrize("spoil, message", [
    (lambda p: p.pop("calls"), "malformed \\(missing calls\\)"),
    (lambda p: p.update(calls=[]), "wrong type"),
    (lambda p: p["estate"].pop("pool_members"), "its estate lacks"),
    (lambda p: p["calls"]["a1"]["args"]["pool_peers"].append("198.18.9.9"), "do not match its digest"),
    (lambda p: p["inventory_hosts"].append("a9"), "do not match its digest"),
    (lambda p: p.update(format=2), "has format 2"),
    (lambda p: p.update(collection="other.thing"), "is not a plan of portmatrix.xenserver"),
])
def test_a_malformed_or_edited_plan_is_refused(plan, spoil, message):
    spoiled = copy.deepcopy(plan)
    spoil(spoiled)
    with pytest.raises(plan_file.PlanFileError, match=message):
        plan_file.checked(spoiled, "1.2.3")


def test_not_a_plan_at_all_is_refused():
    for value in (None, [], "plan.json", {"calls": {}}):
        with pytest.raises(plan_file.PlanFileError, match="is not a plan"):
            plan_file.checked(value, "1.2.3")


def test_covers_the_plans_hosts_only(plan):
    plan = plan_file.as_data(plan)["plan"]  # what a run keeps of a given plan
    assert plan_file.covers(plan, "a1") is None
    assert plan_file.covers(plan, "ws") is None  # in the inventory, in no component group: not managed
    assert "new1 is not in the plan" in plan_file.covers(plan, "new1")


def test_a_plan_file_round_trips_and_a_bad_file_says_why(plan, tmp_path):
    path = str(tmp_path / "sub" / "plan.json")
    plan_file.write(path, plan)
    assert plan_file.read(path, "1.2.3") == plan
    assert os.listdir(str(tmp_path / "sub")) == ["plan.json"]
    with pytest.raises(plan_file.PlanFileError, match="cannot read the plan file .*missing.json"):
        plan_file.read(str(tmp_path / "missing.json"), "1.2.3")
    (tmp_path / "half.json").write_text(u"{\"format\": 1,")
    with pytest.raises(plan_file.PlanFileError, match="is not JSON"):
        plan_file.read(str(tmp_path / "half.json"), "1.2.3")


def test_an_estate_with_errors_makes_no_plan():
    bad = dict(HOSTVARS, a2=dict(HOSTVARS["a2"], portmatrix_strict="sometimes"))
    with pytest.raises(plan_file.PlanFileError, match="portmatrix_strict"):
        plan_file.make(data_of(hostvars=bad), GROUPS["all"], "1.2.3")


def test_collection_version_from_manifest_then_galaxy_yml(tmp_path):
    (tmp_path / "galaxy.yml").write_text(u"namespace: portmatrix\nversion: '4.5.6'  # released\n")
    assert plan_file.collection_version(str(tmp_path)) == "4.5.6"
    (tmp_path / "MANIFEST.json").write_text(u'{"collection_info": {"version": "7.8.9"}}')
    assert plan_file.collection_version(str(tmp_path)) == "7.8.9"
    assert plan_file.collection_version(str(tmp_path / "nowhere")) == "unknown"
    assert plan_file.collection_version() != "unknown"  # this checkout's galaxy.yml


# ---- a run over part of the estate, without a plan -------------------------------------------

SLICE_VARS = {"awx_job_launch_type": "workflow", "awx_workflow_job_name": "firewall site",
              "awx_job_template_name": "firewall site", "tower_job_launch_type": "workflow",
              "tower_workflow_job_name": "firewall site", "tower_job_template_name": "firewall site"}


def test_an_awx_slice_is_recognised_by_its_workflow_named_as_its_template():
    assert "sliced job template 'firewall site'" in plan_file.awx_sliced(SLICE_VARS)
    only_tower = dict((k, v) for k, v in SLICE_VARS.items() if k.startswith("tower_"))
    assert plan_file.awx_sliced(only_tower)
    # a job template in a workflow of another name, a job launched by hand, no AWX at all: not a slice
    assert plan_file.awx_sliced(dict(SLICE_VARS, awx_workflow_job_name="nightly", tower_workflow_job_name="nightly")) \
        is None
    assert plan_file.awx_sliced({"awx_job_launch_type": "manual", "awx_job_template_name": "firewall site"}) is None
    assert plan_file.awx_sliced({}) is None


def test_partial_stops_a_slice_and_says_to_make_the_plan():
    problems = plan_file.partial(SLICE_VARS, {"a": ["a1", "a2"]}, {"a": [None, None]})
    assert len(problems) == 2 and "portmatrix.xenserver.plan" in problems[-1] and "nothing was changed" in problems[-1]
    assert plan_file.partial({}, {"a": ["a1", "a2"]}, {"a": [None, None]}) == []


def test_a_pool_with_missing_members_is_partial_a_whole_one_is_not():
    assert plan_file.partial({}, {"a": ["a1", "a2"], "b": ["b1"]}, {"a": [2, 2], "b": [1]}) == []
    problems = plan_file.partial({}, {"a": ["a1"]}, {"a": [2]})
    assert problems[0].startswith("pool a: portmatrix_pool_size says 2 hosts, the inventory has 1")
    assert "make the plan" in problems[-1]
    # more members than declared is a wrong size, not a partial inventory
    too_many = plan_file.partial({}, {"a": ["a1", "a2", "a3"]}, {"a": [2, 2, 2]})
    assert len(too_many) == 1 and "set portmatrix_pool_size" in too_many[0]
    # members that disagree: both sizes are named
    assert "says 2 or 3 hosts" in plan_file.partial({}, {"a": ["a1", "a2"]}, {"a": [2, 3]})[0]
