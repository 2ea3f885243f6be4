# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate's plan as an artifact: made once from the whole inventory, applied anywhere.

A plan holds every component host's firewall_rules call (the engine's, plugin_utils/engine.py),
the estate they were computed from, the names of every inventory host, the collection's
version, the time it was made and a digest of what the hosts get.  The plan playbook writes
it (portmatrix_plan_file) and hands it to AWX / AAP (set_stats: portmatrix_plan_data); the
site, drift and remove playbooks apply a given plan instead of reading the inventory (verify
tries its flows), so that a run over part of the estate (an AWX sliced job, an inventory
filtered per site) gives every host the rules the whole estate gives it.

Without a plan, partial() names the evidence that a run's inventory is part of the estate.
Controller-only and pure: no Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import time

FORMAT = 1
COLLECTION = "portmatrix.xenserver"
PLAN_FILE = "portmatrix_plan_file"
PLAN_DATA = "portmatrix_plan_data"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
HOW = ("make the plan from the whole inventory first (ansible-playbook -i <whole inventory> "
       "portmatrix.xenserver.plan -e portmatrix_plan_file=plan.json), then run this with "
       "-e portmatrix_plan_file=plan.json (AWX / AAP: a plan node before this one hands it over as "
       "portmatrix_plan_data; docs/guides/awx.md)")


class PlanFileError(ValueError):
    """A plan that cannot be applied: unreadable, malformed, or made by another version."""


def collection_version(root=ROOT):
    """The installed collection's version (MANIFEST.json of a built collection), else galaxy.yml's."""
    try:
        with open(os.path.join(root, "MANIFEST.json")) as handle:
            return str(json.load(handle)["collection_info"]["version"])
    except (IOError, OSError, ValueError, KeyError, TypeError):
        pass
    try:
        with open(os.path.join(root, "galaxy.yml")) as handle:
            for line in handle:
                found = re.match(r"^version:\s*['\"]?([^'\"\s#]+)", line)
                if found:
                    return found.group(1)
    except (IOError, OSError):
        pass
    return "unknown"


def digest(version, estate, calls, inventory_hosts):
    """What the hosts get, made from the whole estate by this version: the same inventory gives the
    same digest, whenever it is computed (a run without a plan records the one a plan would have)."""
    text = json.dumps({"version": version, "estate": dict(estate, warnings=[]), "calls": calls,
                       "inventory_hosts": sorted(inventory_hosts)}, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def make(data, inventory_hosts, version, now=None):
    """The plan of a run's estate (from_inventory.load()'s data, computed over every host)."""
    if data.get("errors"):
        raise PlanFileError("the inventory cannot be planned:\n  - " + "\n  - ".join(data["errors"]))
    return {
        "format": FORMAT,
        "collection": COLLECTION,
        "version": version,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now)),
        "digest": digest(version, data["estate"], data["calls"], inventory_hosts),
        "inventory_hosts": sorted(inventory_hosts),
        "estate": data["estate"],
        "calls": data["calls"],
    }


def checked(plan, version, origin="the plan"):
    """The plan, when this version may apply it; PlanFileError saying why not otherwise."""
    if not isinstance(plan, dict) or plan.get("collection") != COLLECTION or "format" not in plan:
        raise PlanFileError("%s is not a plan of %s (made by its plan playbook)" % (origin, COLLECTION))
    if plan["format"] != FORMAT:
        raise PlanFileError("%s has format %r; this version reads format %d" % (origin, plan["format"], FORMAT))
    if plan.get("version") != version:
        raise PlanFileError("%s was made by %s %s, this is %s: make the plan again with this version"
                            % (origin, COLLECTION, plan.get("version"), version))
    missing = [k for k in ("digest", "inventory_hosts", "estate", "calls", "created") if k not in plan]
    shapes = (("inventory_hosts", list), ("estate", dict), ("calls", dict))
    if missing or not all(isinstance(plan[k], kind) for k, kind in shapes):
        raise PlanFileError("%s is malformed (%s)" % (origin, "missing " + ", ".join(missing) if missing else
                                                      "inventory_hosts, estate or calls of the wrong type"))
    if not all(k in plan["estate"] for k in ("hosts", "group_map", "pool_members", "by_component")):
        raise PlanFileError("%s is malformed (its estate lacks hosts, group_map, pool_members or by_component)"
                            % origin)
    if digest(version, plan["estate"], plan["calls"], plan["inventory_hosts"]) != plan["digest"]:
        raise PlanFileError("%s is malformed: its calls do not match its digest %s (edited after it was made?)"
                            % (origin, plan["digest"]))
    return plan


def read(path, version):
    """The checked plan of a file."""
    try:
        with open(path) as handle:
            plan = json.load(handle)
    except (IOError, OSError) as exc:
        raise PlanFileError("cannot read the plan file %s: %s" % (path, exc.strerror or exc))
    except ValueError as exc:
        raise PlanFileError("the plan file %s is not JSON: %s" % (path, exc))
    return checked(plan, version, "the plan file %s" % path)


def write(path, plan):
    """Write the plan next to its final name, then rename it there (no half-written plan is read)."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory)
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "w") as handle:
        json.dump(plan, handle, sort_keys=True)
    os.rename(tmp, path)


def covers(plan, host):
    """None when the plan was made for an inventory with this host, else why it may not be applied."""
    if host in plan["inventory_hosts"]:  # every host with a call is one of them
        return None
    return ("%s is not in the plan (made %s from an inventory of %d hosts, %s): make the plan again from an "
            "inventory that has it" % (host, plan["created"], len(plan["inventory_hosts"]), plan["digest"]))


def as_data(plan):
    """The plan as from_inventory.load()'s data: the run applies it instead of reading the inventory."""
    kept = dict((k, plan[k]) for k in ("created", "digest", "inventory_hosts"))
    return {"estate": plan["estate"], "calls": plan["calls"], "estate_errors": [], "host_errors": {},
            "errors": [], "digest": plan["digest"], "plan": kept}


# ---- a run over part of the estate, without a plan ---------------------------------------------

# AWX / AAP put no slice number or count in a job's variables: the meta variables (awx_* and their
# tower_* twins) are awx_meta_vars() of ansible/awx awx/main/models/unified_jobs.py and jobs.py.  A
# sliced job template runs as a workflow job named after the template (JobTemplate.create_unified_job,
# awx/main/models/jobs.py: is_sliced_job) whose slice jobs are launched by that workflow
# (WorkflowJobNode.get_job_kwargs, awx/main/models/workflow.py: launch_type "workflow"), each with
# the inventory's hosts [slice_number - 1::slice_count] by name (Inventory.get_sliced_hosts,
# awx/main/models/inventory.py).  So a slice job's variables say: launched by a workflow named as
# its own job template.
AWX_PREFIXES = ("awx", "tower")


def awx_sliced(variables):
    """Why the run looks like one slice of an AWX / AAP sliced job (None when it does not)."""
    for prefix in AWX_PREFIXES:
        launch = variables.get(prefix + "_job_launch_type")
        workflow = variables.get(prefix + "_workflow_job_name")
        template = variables.get(prefix + "_job_template_name")
        if launch == "workflow" and workflow and workflow == template:
            return ("this job looks like one slice of the AWX / AAP sliced job template %r (%s_job_launch_type is "
                    "workflow and %s_workflow_job_name is the job template's name): a slice's inventory has only "
                    "its own hosts" % (template, prefix, prefix))
    return None


def short_pools(pool_members, declared):
    """pool -> (declared, found) for the pools whose portmatrix_pool_size differs from the pool
    members the inventory has.  declared: pool -> the sizes its members declare."""
    found = {}
    for pool, sizes in sorted(declared.items()):
        members = len(pool_members.get(pool, []))
        sizes = sorted(set(s for s in sizes if s is not None))
        if sizes and sizes != [members]:
            found[pool] = (sizes, members)
    return found


def partial(variables, pool_members, declared):
    """The messages that stop a run without a plan whose inventory is part of the estate."""
    problems, short = [], False
    sliced = awx_sliced(variables)
    if sliced:
        problems.append(sliced)
    for pool, (sizes, members) in short_pools(pool_members, declared).items():
        short = short or members < max(sizes)
        problems.append("pool %s: portmatrix_pool_size says %s host%s, the inventory has %d%s" % (
            pool, " or ".join(str(s) for s in sizes), "" if sizes == [1] else "s", members,
            " (its other members are missing: its hosts would refuse their traffic)" if members < max(sizes) else
            " (more than declared: set portmatrix_pool_size to the pool's size)"))
    if sliced or short:
        problems.append("the inventory of this run is part of the estate; nothing was changed: " + HOW)
    return problems
