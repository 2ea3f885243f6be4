# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""portmatrix.xenserver.rollout: check the whole inventory and order the hosts for a safe rollout."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import engine, from_inventory, inventory, settings


class ActionModule(ActionBase):

    _VALID_ARGS = frozenset(("hosts", "canary", "staged"))

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        hosts = self._task.args.get("hosts") or task_vars.get("ansible_play_hosts_all") or []
        if isinstance(hosts, str):
            hosts = [hosts]
        try:
            canary = int(self._task.args.get("canary", 1))
            if canary < 0:
                raise ValueError
        except (TypeError, ValueError):
            result.update(failed=True, msg="canary must be a whole number, 0 or more")
            return result
        staged = boolean(self._task.args.get("staged", True), strict=False)
        extra = inventory.pick(task_vars, settings.ESTATE_SETTINGS, self._templar.template)
        data = inventory.compute(task_vars.get("groups") or {}, task_vars["hostvars"], list(hosts), extra)
        if data["errors"]:
            result.update(failed=True, msg=from_inventory.failure(data["errors"]))
            return result
        if staged:
            plan = engine.rollout(data["calls"], list(hosts), canary)
        else:
            plan = {"order": list(hosts), "batches": [max(1, len(hosts))], "waves": [list(hosts)]}
        result.update(changed=False, ansible_facts={"portmatrix_rollout": plan}, **plan)
        return result
