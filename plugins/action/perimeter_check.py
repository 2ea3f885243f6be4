# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""portmatrix.xenserver.perimeter_check: a network team's Aerleon policy against the inventory's flows.

Read-only: reads the policy directory, writes nothing there, contacts no host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.plugins.action import ActionBase

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import aerleon, engine, from_inventory, inventory
from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import report, settings


ARGUMENT_SPEC = dict(
    policy=dict(type="path"),
    report=dict(type="path"),
)
# Options not given in the task come from these variables (the perimeter playbook's -e).
FROM_VARIABLES = (("policy", "portmatrix_perimeter_policy", None, None),
                  ("report", "portmatrix_perimeter_report", None, None))


class ActionModule(ActionBase):

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        args = inventory.options_or_variables(self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1],
                                              FROM_VARIABLES, task_vars, self._templar.template)
        if not args["policy"]:
            result.update(failed=True, msg="policy: the network team's Aerleon policy directory (def/ and policies/); "
                                           "set it, or -e portmatrix_perimeter_policy=DIR")
            return result
        directory = os.path.abspath(os.path.expanduser(str(args["policy"])))
        data = from_inventory.load(self, task_vars)  # the run's estate, shared with every action
        if data["errors"]:
            result.update(failed=True, msg=from_inventory.failure(data["errors"]))
            return result
        estate = inventory.estate_from_data(data["estate"])
        zones = inventory.pick(task_vars, ("portmatrix_aerleon_zones",), self._templar.template)
        try:
            zones = settings.check("portmatrix_aerleon_zones", zones["portmatrix_aerleon_zones"]) if zones else {}
            with inventory.gc_paused():
                expected = aerleon.expected_atoms(estate, engine.destination_flows(estate, data["calls"]), zones)
            found = aerleon.check(directory, expected)
        except (ValueError, aerleon.PolicyError) as exc:
            result.update(failed=True, msg=str(exc))
            return result
        text = aerleon.check_text(found)
        result.update(changed=False, missing=found["missing"], extra=found["extra"], flows=found["flows"],
                      terms=found["terms"], policy=directory, text=text.splitlines())
        report_to = args["report"]
        if report_to and not self._play_context.check_mode:
            base = os.path.abspath(os.path.expanduser(str(report_to)))
            for suffix, body in ((".json", aerleon.check_json(found)), (".txt", text),
                                 (".html", report.render_perimeter_html(found))):
                with open(base + suffix + ".tmp", "w") as handle:
                    handle.write(body)
                os.rename(base + suffix + ".tmp", base + suffix)
            result["report"] = [base + ".json", base + ".txt", base + ".html"]
        if found["missing"] or found["extra"]:
            result.update(failed=True, msg="the perimeter policy differs from the estate's flows: %d missing, %d extra"
                          % (len(found["missing"]), len(found["extra"])))
        return result
