# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""portmatrix.xenserver.plan: one host's firewall call from the inventory, on the controller.

Checks the whole inventory once per run (like firewall_rules with from_inventory, which
reuses it) and returns what the engine works out for this host; never contacts it.
With estate=true: the plan of every host (plugin_utils/plan_file.py), written to path.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible import constants as C
from ansible.plugins.action import ActionBase

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import from_inventory, plan_file

ARGUMENT_SPEC = dict(
    refresh=dict(type="bool", default=False),
    estate=dict(type="bool", default=False),
    path=dict(type="path"),
)


class ActionModule(ActionBase):

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        if args["estate"]:
            return self._estate_plan(result, task_vars, args)
        call, problem = from_inventory.host_call(self, task_vars, args["refresh"])
        if problem:
            result.update(failed=True, msg=problem)
            return result
        result.update(changed=False, portmatrix=from_inventory.summary(call), run=C.DEFAULT_LOCAL_TMP,
                      ansible_facts={"portmatrix_roles": call["roles"] if call["manage"] else []})
        return result

    def _estate_plan(self, result, task_vars, args):
        """Every host's call from the whole inventory (a plan given to the run is not read: this makes one)."""
        data = from_inventory.load(self, task_vars, None, args["refresh"], apply_plan=False)
        inventory_hosts = (task_vars.get("groups") or {}).get("all") or []
        try:
            plan = plan_file.make(data, inventory_hosts, plan_file.collection_version())
            if args["path"]:
                plan_file.write(args["path"], plan)
        except plan_file.PlanFileError as exc:
            result.update(failed=True, msg=from_inventory.failure(data["errors"]) if data["errors"] else str(exc))
            return result
        except (IOError, OSError) as exc:
            result.update(failed=True, msg="cannot write the plan file %s: %s" % (args["path"], exc))
            return result
        managed = sum(1 for call in plan["calls"].values() if call["manage"])
        result.update(changed=False, plan=plan, path=args["path"], digest=plan["digest"], msg=(
            "plan %s of %s %s, made %s: %d inventory hosts, %d managed%s" % (
                plan["digest"], plan["collection"], plan["version"], plan["created"], len(inventory_hosts), managed,
                ", written to %s" % args["path"] if args["path"] else "")))
        return result
