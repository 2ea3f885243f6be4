# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""portmatrix.xenserver.rollout: check the whole inventory and order the hosts for a safe rollout."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import engine, from_inventory, inventory

ARGUMENT_SPEC = dict(
    hosts=dict(type="list", elements="str"),
    canary=dict(type="int"),
    staged=dict(type="bool"),
    max_fail_percentage=dict(type="int"),
    playbook=dict(type="str", choices=["site", "drift"], default="site"),
    enforce=dict(type="bool"),
    preflight=dict(type="bool"),
)


def _whole_number(value):
    if isinstance(value, bool) or not str(value).strip().isdigit():
        raise ValueError("must be a whole number, 0 or more")
    return int(str(value))


def _true_or_false(value):
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise ValueError("must be true or false")


def _percentage(value):
    if _whole_number(value) > 100:
        raise ValueError("must be a whole number from 0 to 100")
    return _whole_number(value)


# Options not given in the task come from these variables (-e portmatrix_rollout_canary=0), else the default.
FROM_VARIABLES = (("canary", "portmatrix_rollout_canary", 1, _whole_number),
                  ("staged", "portmatrix_rollout_staged", True, _true_or_false),
                  ("max_fail_percentage", "portmatrix_max_fail_percentage", 0, _percentage),
                  ("enforce", "portmatrix_enforce", False, _true_or_false),
                  ("preflight", "portmatrix_preflight", True, _true_or_false))


class ActionModule(ActionBase):

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        try:
            args = inventory.options_or_variables(self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1],
                                                  FROM_VARIABLES, task_vars, self._templar.template)
        except ValueError as exc:
            raise AnsibleActionFail(str(exc))
        if args["canary"] < 0:
            raise AnsibleActionFail("canary must be a whole number, 0 or more (got %s)" % args["canary"])
        if not 0 <= args["max_fail_percentage"] <= 100:
            raise AnsibleActionFail("max_fail_percentage must be 0 to 100 (got %s)" % args["max_fail_percentage"])
        hosts = args["hosts"] or list(task_vars.get("ansible_play_hosts_all") or [])
        data = from_inventory.load(self, task_vars, hosts)
        if data["errors"]:
            result.update(failed=True, msg=from_inventory.failure(data["errors"]))
            return result
        # a drift check that does not enforce changes nothing: every host at once, past the failing ones
        checking = args["playbook"] == "drift" and not args["enforce"]
        if args["staged"] and not checking:
            plan = engine.rollout(data["calls"], hosts, args["canary"])
        else:
            plan = {"order": list(hosts), "batches": [max(1, len(hosts))], "waves": [list(hosts)]}
        plan["max_fail_percentage"] = 100 if checking else args["max_fail_percentage"]
        # The hosts the preflight checks before the first change: every host the run contacts (none when
        # nothing changes: under --check, or a drift check that does not enforce).
        check = args["preflight"] and not checking and not self._play_context.check_mode
        plan["preflight"] = [h for h in hosts if (data["calls"].get(h) or {}).get("manage")] if check else []
        result.update(changed=False, ansible_facts={"portmatrix_rollout": plan}, **plan)
        return result
