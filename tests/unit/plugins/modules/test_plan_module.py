# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""portmatrix.xenserver.plan: documented as its action plugin checks it; refresh works the estate out again."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from action_harness import make_action
from module_docs import documented_and_checked


def test_documented_options_are_the_checked_ones():
    documented, checked = documented_and_checked("plan")
    assert documented == checked


def test_refresh_reads_the_inventory_again(run_tmp, inventory):
    make_action("plan", {}).run(task_vars=inventory.task_vars("a1"))
    inventory.hostvars["a2"]["portmatrix_addresses"] = ["198.18.5.112"]
    stale = make_action("plan", {}).run(task_vars=inventory.task_vars("a1"))
    fresh = make_action("plan", {"refresh": True}).run(task_vars=inventory.task_vars("a1"))
    assert stale["portmatrix"]["args"]["pool_peers"] == ["198.18.5.12"]  # the run's estate
    assert fresh["portmatrix"]["args"]["pool_peers"] == ["198.18.5.112"]
    assert len([n for n in os.listdir(str(run_tmp)) if n.startswith("portmatrix-estate-") and "." not in n]) == 2
