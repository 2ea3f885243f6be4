# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's call from the inventory, for the action plugins (firewall_rules, plan).

The whole play is checked first (once per play, plugin_utils/inventory.py), then the
host's own settings as its task sees them (inventory, play, role and extra vars).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible import constants as C
from ansible.utils.display import Display

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import engine, inventory, settings

display = Display()

# The roles of the collection and the components each serves (the site playbook includes them).
ROLES = (
    ("pool_host", ("pool_host",)),
    ("storage_filer", ("nfs_filer", "smb_filer", "iscsi_target")),
    ("license_server", ("license_server",)),
    ("infra_service", ("ntp_server", "dns_server", "domain_controller", "syslog_server", "linux_vm", "windows_vm",
                       "api_client", "monitoring_server", "sdn_controller")),
)


def plain(value):
    """Ansible's tagged or lazy values as plain JSON data."""
    return json.loads(json.dumps(value, default=str))


def estate_data(action, task_vars, refresh=False):
    """The play's estate and checked calls (computed once per play): the cached dict of inventory.compute()."""
    task = action._task
    play = task.get_play()
    play_hosts = list(task_vars.get("ansible_play_hosts_all") or [task_vars.get("inventory_hostname")])
    groups = task_vars.get("groups") or {}
    extra = inventory.pick(task_vars, settings.ESTATE_SETTINGS, action._templar.template)
    key = [getattr(play, "_uuid", ""), sorted((g, sorted(h)) for g, h in groups.items()), play_hosts,
           plain(extra), bool(refresh) and task._uuid]
    data, built_here = inventory.cached(
        C.DEFAULT_LOCAL_TMP, key, lambda: plain(inventory.compute(groups, task_vars["hostvars"], play_hosts, extra)))
    if built_here and data["estate"]:
        for warning in data["estate"]["warnings"]:
            display.warning("portmatrix.xenserver: %s" % warning)
    return data


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
    """(call, None) or (None, message)."""
    host = task_vars.get("inventory_hostname")
    data = estate_data(action, task_vars, refresh)
    if data["errors"]:
        return None, failure(data["errors"])
    estate = inventory.estate_from_data(data["estate"])
    own = inventory.pick(task_vars, inventory.HOST_VARS, action._templar.template)
    try:
        values = settings.read(host, own)
    except settings.SettingsError as exc:
        return None, failure(exc.messages)
    call = plain(engine.host_call(estate, host, values))
    problem = engine.check_call(call) if call["served"] else None
    if problem:
        return None, failure(["%s: %s" % (host, problem)])
    inventory_call = data["calls"].get(host)
    if inventory_call and inventory_call["args"] != call["args"]:
        seen = task_vars["hostvars"][host]
        differ = sorted(n for n in own if n in settings.SETTINGS and plain(own[n]) != plain(seen.get(n)))
        display.warning("portmatrix.xenserver: %s: %s set for this play only (play or role vars): the flows, verify "
                        "and drift playbooks read the inventory and will not see it; set it in the inventory "
                        "(group_vars, host_vars)" % (host, ", ".join(differ) or "a setting"))
    call["roles"] = [role for role, components in ROLES if set(components) & set(call["served"])]
    call["component_groups"] = dict(estate.group_map)
    return call, None


def summary(call):
    """What a task's result shows of a call (the roles act on settings)."""
    return dict((k, call[k]) for k in ("manage", "windows", "components", "served", "roles", "pool", "addresses",
                                       "settings", "args"))


def missing_component(call, expect):
    if not expect or set(expect) & set(call["components"]):
        return None
    groups = sorted(set(g for c in expect for g in call["component_groups"].get(c, [c])))
    return ("%s is in none of the groups %s (components %s); add it to one, or map your group with "
            "portmatrix_groups" % (call["host"], ", ".join(groups), ", ".join(expect)))
