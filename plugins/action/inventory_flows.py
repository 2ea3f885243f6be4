# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""portmatrix.xenserver.inventory_flows: the flows of the whole inventory, on the controller.

Every host's call from the engine (checked first, naming host and variable), expanded to
flows per host pair and merged per group for change requests; written as files when asked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.plugins.action import ActionBase

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import engine, flows_output, from_inventory, inventory

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
        data = from_inventory.load(self, task_vars)
        if data["errors"]:
            result.update(failed=True, msg=from_inventory.failure(data["errors"]))
            return result
        estate = inventory.estate_from_data(data["estate"])
        calls = data["calls"]
        with inventory.gc_paused():
            dest_flows = engine.destination_flows(estate, calls)
            merged = engine.merged_flows(estate, calls, dest_flows)
        outbound = engine.outbound_flows(estate)
        result.update(changed=False, hosts=len(estate.hosts), merged=len(merged), outbound=len(outbound),
                      managed=sorted(h for h, c in calls.items() if c["manage"]),
                      unmanaged=sorted(h for h, c in calls.items() if c["served"] and not c["manage"]))
        if targets:
            result["targets"] = self._targets(estate, calls, dest_flows)
        if dest:
            directory = os.path.abspath(os.path.expanduser(str(dest)))
            result.update(dest=directory, files=list(PAIR_FILES + MERGED_FILES))
            if not self._play_context.check_mode:
                if os.path.exists(directory) and not os.path.isdir(directory):
                    result.update(failed=True, msg="%s exists and is not a directory" % directory)
                    return result
                with inventory.gc_paused():
                    result["flows"] = self._write(directory, estate, calls, dest_flows, merged, outbound)
                result["changed"] = True
        return result

    @staticmethod
    def _targets(estate, calls, dest_flows):
        """Per source host, what it must reach (the verify playbook)."""
        by_source = {}
        for pair in engine.pairs(estate, calls, dest_flows):
            if pair.src:
                by_source.setdefault(pair.src, []).append(
                    {"dst": pair.dst, "addresses": list(estate.hosts[pair.dst].addresses), "proto": pair.proto,
                     "ports": list(pair.ports), "flows": list(pair.flows)})
        return by_source

    @staticmethod
    def _write(directory, estate, calls, dest_flows, merged, outbound):
        """Every file written beside its name, then renamed into place; returns the pair count."""
        os.makedirs(directory, exist_ok=True)
        paths = dict((name, os.path.join(directory, name)) for name in PAIR_FILES + MERGED_FILES)
        with open(paths["flows.csv"] + ".tmp", "w", newline="") as csv_file, \
                open(paths["flows.json"] + ".tmp", "w") as json_file, \
                open(paths["flows.md"] + ".tmp", "w") as md_file:
            managed = dict((h, c["manage"]) for h, c in calls.items())
            count = flows_output.write_pairs(engine.pairs(estate, calls, dest_flows), estate.hosts, managed,
                                             csv_file, json_file, md_file)
        for name, text in (("change-request.json", flows_output.as_json({"flows": merged, "outbound": outbound})),
                           ("change-request.csv", flows_output.merged_csv(merged, outbound)),
                           ("change-request.md", flows_output.merged_markdown(merged, outbound))):
            with open(paths[name] + ".tmp", "w") as handle:
                handle.write(text)
        for path in paths.values():
            os.rename(path + ".tmp", path)
        return count
