# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's call from the inventory, for the action plugins (firewall_rules, plan).

The whole inventory is checked first, once per run (load(), plugin_utils/inventory.py), then
the host's own settings as its task sees them (inventory, play, role and extra vars).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible import constants as C
from ansible.utils.display import Display

from ansible_collections.portmatrix.xenserver.plugins.module_utils import matrix
from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import engine, inventory, settings

display = Display()

# Which role a host gets: matrix.ROLES, beside matrix.COMPONENTS.
ROLES = matrix.ROLES


def plain(value):
    """Ansible's tagged or lazy values as plain JSON data."""
    return json.loads(json.dumps(value, default=str))


def play_settings(task_vars, template=None):
    """The estate-wide settings this task sees that the inventory does not say (play vars,
    role vars): what the inventory says is read from every host by the engine, so that a
    run's plays, and its rollout task on the controller, share one estate."""
    host = task_vars.get("inventory_hostname")
    hostvars = task_vars.get("hostvars") or {}
    inventory_vars = hostvars[host] if host in hostvars else {}
    found = {}
    for name, value in inventory.pick(task_vars, settings.ESTATE_SETTINGS, template).items():
        if name not in inventory_vars or plain(inventory_vars[name]) != plain(value):
            found[name] = value
    return found


def load(action, task_vars, hosts=None, refresh=False):
    """The run's estate and every component host's checked call: the dict of
    inventory.compute(), worked out once per ansible-playbook run (not per play) for every
    action of the collection, whatever the number of plays, hosts and worker processes.
    Its errors are those that stop a run over `hosts` (None: every host)."""
    groups = task_vars.get("groups") or {}
    extra = plain(play_settings(task_vars, action._templar.template))
    key = [sorted((g, sorted(h)) for g, h in groups.items()), extra, bool(refresh) and action._task._uuid]
    data, built_here = inventory.cached(
        C.DEFAULT_LOCAL_TMP, key, lambda: plain(inventory.compute(groups, task_vars["hostvars"], None, extra)))
    if built_here and data["estate"]:
        for warning in data["estate"]["warnings"]:
            display.warning("portmatrix.xenserver: %s" % warning)
    return dict(data, errors=inventory.errors_for(data, hosts))


def failure(messages):
    """One message for every problem; the same problem on many hosts (an extra var) is said once."""
    hosts_of, order = {}, []
    for message in messages:
        host, sep, rest = message.partition(": ")
        if not sep or " " in host:
            host, rest = "", message
        if rest not in hosts_of:
            hosts_of[rest] = []
            order.append(rest)
        if host:
            hosts_of[rest].append(host)
    lines = []
    for rest in order:
        hosts = hosts_of[rest]
        if len(hosts) > 3:
            lines.append("%s and %d more hosts: %s" % (", ".join(hosts[:3]), len(hosts) - 3, rest))
        else:
            lines.append("%s: %s" % (", ".join(hosts), rest) if hosts else rest)
    return "portmatrix.xenserver: the inventory cannot be planned; nothing was changed:\n  - " + "\n  - ".join(lines)


def host_call(action, task_vars, refresh=False):
    """(call, None) or (None, message): the host's call as the run's estate has it, worked out
    again only when this task sees other settings than the inventory (play or role vars)."""
    host = task_vars.get("inventory_hostname")
    play_hosts = list(task_vars.get("ansible_play_hosts_all") or [host])
    data = load(action, task_vars, play_hosts, refresh)
    if data["errors"]:
        return None, failure(data["errors"])
    own = plain(inventory.pick(task_vars, inventory.HOST_VARS, action._templar.template))
    hostvars = task_vars["hostvars"]
    seen = plain(inventory.pick(hostvars[host], inventory.HOST_VARS)) if host in hostvars else None
    call = data["calls"].get(host)
    if call is None or own != seen:  # only then the estate is read back (linear in hosts, per host)
        call, problem = _own_call(inventory.estate_from_data(data["estate"]), host, own)
        if problem:
            return None, problem
        if host in data["calls"] and data["calls"][host]["args"] != call["args"]:
            differ = sorted(n for n in own if n in settings.SETTINGS and own[n] != (seen or {}).get(n))
            display.warning("portmatrix.xenserver: %s: %s set for this play only (play or role vars): the flows, "
                            "verify and drift playbooks read the inventory and will not see it; set it in the "
                            "inventory (group_vars, host_vars)" % (host, ", ".join(differ) or "a setting"))
    call = dict(call)
    call["roles"] = roles_of(call["served"])
    call["role_groups"] = role_groups(data["estate"]["group_map"])
    call["component_groups"] = dict(data["estate"]["group_map"])
    return call, None


def _own_call(estate, host, own):
    """(call, None) or (None, message) for settings the run's estate did not plan."""
    try:
        values = settings.read(host, own)
    except settings.SettingsError as exc:
        return None, failure(exc.messages)
    call = plain(engine.host_call(estate, host, values))
    problem = engine.check_call(call) if call["served"] else None
    if problem:
        return None, failure(["%s: %s" % (host, problem)])
    return call, None


def roles_of(served):
    """The collection's roles a host gets, from the components it serves (ROLES)."""
    return [role for role, components in ROLES if set(components) & set(served)]


def role_groups(group_map):
    """role -> the inventory groups that give it (for the roles' messages)."""
    return dict((role, sorted(set(g for c in components for g in group_map.get(c, [])))) for role, components in ROLES)


def summary(call):
    """What a task's result shows of a call (the roles act on settings)."""
    return dict((k, call[k]) for k in ("manage", "windows", "components", "served", "roles", "role_groups", "pool",
                                       "addresses", "settings", "args"))


def failure_summary(summary):
    """What a failed task's result keeps of summary(): which host it is, not its plan (the
    module's arguments, a few KB that the failure's printout would repeat)."""
    return dict((k, summary[k]) for k in ("manage", "components", "served", "roles", "pool") if k in summary)


def missing_component(call, expect):
    if not expect or set(expect) & set(call["components"]):
        return None
    groups = sorted(set(g for c in expect for g in call["component_groups"].get(c, [c])))
    return ("%s is in none of the groups %s (components %s); add it to one, or map your group with "
            "portmatrix_groups" % (call["host"], ", ".join(groups), ", ".join(expect)))


def missing_role(call, role):
    """Why the host does not get the collection's role `role` (None when it does, or no role is named)."""
    if not role or role in call["roles"]:
        return None
    if role not in call["role_groups"]:
        return "role must be one of %s, not %r" % (", ".join(name for name, served in ROLES), role)
    if set(dict(ROLES)[role]) & set(call.get("components") or []):
        return None  # in the role's groups but a source only (an API client): skipped as not managed
    return ("%s is in none of the groups %s of the role portmatrix.xenserver.%s; add it to one, or map your "
            "group with portmatrix_groups" % (call.get("host") or "the host", ", ".join(call["role_groups"][role]),
                                              role))
