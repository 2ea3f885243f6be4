# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""portmatrix.xenserver.inventory_flows: the flows of the whole inventory, on the controller.

Every host's call from the engine (checked first, naming host and variable), expanded to
flows per host pair and merged per group for change requests; written as files when asked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

from ansible.plugins.action import ActionBase

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import aerleon
from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import engine, flows_output, from_inventory, inventory, settings
from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import plan_file
from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import verify_report

PAIR_FILES = ("flows.json", "flows.csv", "flows.md")
MERGED_FILES = ("change-request.json", "change-request.csv", "change-request.md")


ARGUMENT_SPEC = dict(
    dest=dict(type="path"),
    targets=dict(type="bool", default=False),
)


class ActionModule(ActionBase):

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        dest, targets = args["dest"], args["targets"]
        extra = inventory.pick(task_vars, settings.ESTATE_SETTINGS, self._templar.template)
        data = from_inventory.load(self, task_vars)
        if data["errors"]:
            result.update(failed=True, msg=from_inventory.failure(data["errors"]))
            return result
        uncovered = self._not_in_plan(data, task_vars) if targets else []
        if uncovered:
            result.update(failed=True, msg=from_inventory.failure(uncovered))
            return result
        estate = inventory.estate_from_data(data["estate"])
        calls = data["calls"]
        with inventory.gc_paused():
            dest_flows = engine.destination_flows(estate, calls)
            merged = engine.merged_flows(estate, calls, dest_flows, task_vars.get("groups") or {})
        outbound = engine.outbound_flows(estate)
        result.update(changed=False, hosts=len(estate.hosts), merged=len(merged), outbound=len(outbound),
                      managed=sorted(h for h, c in calls.items() if c["manage"]),
                      unmanaged=sorted(h for h, c in calls.items() if c["served"] and not c["manage"]))
        warnings = flows_output.nfsv3_warnings(calls)
        if warnings:
            result["warnings"] = warnings
        if targets:
            result["targets"] = verify_report.targets(estate, calls, dest_flows)
            result["probes"] = verify_report.probes(estate, calls, dest_flows, result["targets"])
            result["not_contacted"] = sorted(h for h, info in estate.hosts.items() if not info.managed)
        if dest:
            directory = os.path.abspath(os.path.expanduser(str(dest)))
            try:
                options = dict((n, settings.check(n, v)) for n, v in inventory.pick(
                    task_vars, settings.FLOWS_SETTINGS, self._templar.template).items())
            except ValueError as exc:
                result.update(failed=True, msg="portmatrix_flows_formats / portmatrix_aerleon_*: %s" % exc)
                return result
            formats = options.get("portmatrix_flows_formats", settings.SETTINGS["portmatrix_flows_formats"].default)
            files = [n for n in PAIR_FILES + MERGED_FILES if n.rsplit(".", 1)[1] in formats]
            export = aerleon.export(estate, dest_flows, options.get("portmatrix_aerleon_zones"),
                                    options.get("portmatrix_aerleon_targets")) if "aerleon" in formats else {}
            result.update(dest=directory, files=files + ["aerleon/" + n for n in export])
            if not self._play_context.check_mode:
                if os.path.exists(directory) and not os.path.isdir(directory):
                    result.update(failed=True, msg="%s exists and is not a directory" % directory)
                    return result
                header = {"inventory": self._inventory_name(task_vars, extra, data),
                          "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
                          "warnings": warnings}
                with inventory.gc_paused():
                    result["flows"], replaced = self._write(directory, estate, calls, dest_flows, merged, outbound,
                                                            header, files)
                if export and self._export_differs(os.path.join(directory, "aerleon"), export):
                    aerleon.write_export(os.path.join(directory, "aerleon"), export)
                    replaced.append("aerleon/")
                result.update(changed=bool(replaced), replaced=replaced, inventory=header["inventory"])
            result["summary"] = self._summary(result)
        return result

    @staticmethod
    def _not_in_plan(data, task_vars):
        """Given a plan, the flows tried are the plan's: a host of the play it does not cover would go
        untried, so it is refused as site refuses it (from_inventory._planned_call)."""
        if not data.get("plan"):
            return []
        found = (plan_file.covers(data["plan"], h) for h in task_vars.get("ansible_play_hosts_all") or [])
        return [from_inventory.Refusal(problem) for problem in found if problem]

    @staticmethod
    def _summary(result):
        """One line on what was written where (the flows playbook prints it)."""
        return ("%s host pairs and protocols between %d hosts (%d change-request rows) in %s/: %s (%s changed, "
                "change request for inventory %s)" % (
                    result.get("flows", "-"), result["hosts"], result["merged"], result["dest"], ", ".join(result["files"]),
                    len(result["replaced"]) if "replaced" in result else "none", result.get("inventory", "-")))

    @staticmethod
    def _inventory_name(task_vars, extra, data):
        """portmatrix_inventory_name (the play's, else an inventory host's: the implicit localhost
        does not see group_vars/all), else the inventory source's name (flows_output).  The
        estate's hosts were read with the estate (data); only the others are read here."""
        name = extra.get("portmatrix_inventory_name") or data.get("inventory_name")
        if not name:
            hostvars = task_vars.get("hostvars") or {}
            read = set(h[0] for h in data["estate"]["hosts"])
            for host in [h for h in (task_vars.get("groups") or {}).get("all") or [] if h not in read]:
                name = (hostvars.get(host) or {}).get("portmatrix_inventory_name")
                if name:
                    break
        return str(name or flows_output.inventory_name(task_vars.get("ansible_inventory_sources") or []))

    @staticmethod
    def _export_differs(directory, export):
        """Whether writing the Aerleon export would change a file (or remove an earlier policy)."""
        for relative, text in export.items():
            path = os.path.join(directory, relative)
            if not os.path.isfile(path):
                return True
            with open(path) as handle:
                if handle.read() != text:
                    return True
        policies = os.path.join(directory, aerleon.POLICY_DIR)
        return any(name.startswith("portmatrix-") and "%s/%s" % (aerleon.POLICY_DIR, name) not in export
                   for name in (os.listdir(policies) if os.path.isdir(policies) else []))

    @staticmethod
    def _write(directory, estate, calls, dest_flows, merged, outbound, header, wanted):
        """Every file written beside its name, then renamed into place unless it says what the
        file there says (a change request's date aside); only the wanted ones are kept. Returns
        the pair count and the names of the files replaced."""
        os.makedirs(directory, exist_ok=True)
        paths = dict((name, os.path.join(directory, name)) for name in PAIR_FILES + MERGED_FILES)
        with open(paths["flows.csv"] + ".tmp", "w", newline="") as csv_file, \
                open(paths["flows.json"] + ".tmp", "w") as json_file, \
                open(paths["flows.md"] + ".tmp", "w") as md_file:
            managed = dict((h, c["manage"]) for h, c in calls.items())
            count = flows_output.write_pairs(engine.pair_groups(estate, calls, dest_flows), estate.hosts, managed,
                                             csv_file, json_file, md_file)
        dated = [("change-request.json", flows_output.merged_json),
                 ("change-request.csv", flows_output.merged_csv),
                 ("change-request.md", flows_output.merged_markdown)]
        for name, render in dated:
            with open(paths[name] + ".tmp", "w", newline="") as handle:
                handle.write(render(merged, outbound, **header))
        replaced = []
        for name, path in sorted(paths.items()):
            if name not in wanted or flows_output.same_content(path + ".tmp", path, dated=name in MERGED_FILES):
                os.remove(path + ".tmp")
            else:
                os.rename(path + ".tmp", path)
                replaced.append(name)
        return count, replaced
