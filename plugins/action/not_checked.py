# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""portmatrix.xenserver.not_checked: mark a host that could not be checked, on the controller.

Ansible's exit status has one code per kind of host outcome (2 failed, 4 unreachable); the
drift report marks a host it could not check as unreachable, so that a scheduler tells
"not checked" (4) from "drifted" (2) by the exit status alone."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import drift_report


class ActionModule(ActionBase):

    _VALID_ARGS = frozenset(("reason", "report"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        if result.get("failed"):
            return result
        task_vars = task_vars or {}
        reason = self._task.args.get("reason")
        report = self._task.args.get("report")
        if reason is None and isinstance(report, dict):
            host = task_vars.get("inventory_hostname")
            if host not in (report.get("no_result") or []):
                result.update(changed=False, skipped=True, skip_reason="%s was checked" % host)
                return result
            reason = drift_report.cause_of(report, host)
        result.update(changed=False, unreachable=True, not_checked=True,
                      msg="not checked: %s" % (reason or "no reason given"))
        return result
