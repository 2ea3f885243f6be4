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
    preflight=dict(type="bool"),
)
# Options not given in the task come from these variables (-e portmatrix_rollout_canary=0), else the default.
FROM_VARIABLES = (("canary", "portmatrix_rollout_canary", 1), ("staged", "portmatrix_rollout_staged", True),
                  ("preflight", "portmatrix_preflight", True))


class ActionModule(ActionBase):

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._from_variables(self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1], task_vars)
        if args["canary"] < 0:
            raise AnsibleActionFail("canary must be a whole number, 0 or more (got %s)" % args["canary"])
        hosts = args["hosts"] or list(task_vars.get("ansible_play_hosts_all") or [])
        data = from_inventory.load(self, task_vars, hosts)
        if data["errors"]:
            result.update(failed=True, msg=from_inventory.failure(data["errors"]))
            return result
        if args["staged"]:
            plan = engine.rollout(data["calls"], hosts, args["canary"])
        else:
            plan = {"order": list(hosts), "batches": [max(1, len(hosts))], "waves": [list(hosts)]}
        # The hosts the preflight checks before the first change: every host the run contacts (none
        # under --check, which changes nothing anyway).
        check = args["preflight"] and not self._play_context.check_mode
        plan["preflight"] = [h for h in hosts if (data["calls"].get(h) or {}).get("manage")] if check else []
        result.update(changed=False, ansible_facts={"portmatrix_rollout": plan}, **plan)
        return result

    def _from_variables(self, args, task_vars):
        """The options the task does not give, from their portmatrix_rollout_* variables or defaults."""
        args = dict(args)
        for option, variable, default in FROM_VARIABLES:
            if args[option] is not None:
                continue
            value = inventory.pick(task_vars, (variable,), self._templar.template).get(variable, default)
            try:
                args[option] = int(str(value)) if option == "canary" else boolean(value, strict=True)
            except (TypeError, ValueError):
                raise AnsibleActionFail("%s must be %s, not %r" % (
                    variable, "a whole number, 0 or more" if option == "canary" else "true or false", value))
        return args
