# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""portmatrix.xenserver.plan: one host's firewall call from the inventory, on the controller.

Checks the whole inventory once per run (like firewall_rules with from_inventory, which
reuses it) and returns what the engine works out for this host; never contacts it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible import constants as C
from ansible.plugins.action import ActionBase

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import from_inventory

ARGUMENT_SPEC = dict(
    refresh=dict(type="bool", default=False),
)


class ActionModule(ActionBase):

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        call, problem = from_inventory.host_call(self, task_vars, args["refresh"])
        if problem:
            result.update(failed=True, msg=problem)
            return result
        result.update(changed=False, portmatrix=from_inventory.summary(call), run=C.DEFAULT_LOCAL_TMP,
                      ansible_facts={"portmatrix_roles": call["roles"] if call["manage"] else []})
        return result
