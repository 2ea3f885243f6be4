# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Between Ansible's variables and the engine: read what the engine needs, once per run.

Every host's task runs in its own worker process, so a result kept in memory would be
computed again by every host (quadratic in hosts).  The estate of a run is computed by
the first worker that needs it, under a file lock, and written as JSON into the run's
own temporary directory (Ansible's local tmp, removed when the run ends); the other
workers, of this play and of the next ones, read it.  No Ansible imports: the callers
pass mappings and paths.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import contextlib
import fcntl
import gc
import hashlib
import json
import os

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import engine, settings

HOST_VARS = tuple(settings.HOST_SETTINGS) + tuple(settings.RENAMED)


def pick(variables, names, template=None):
    """{name: value} for the names the mapping defines (Ansible's task vars or a host's
    hostvars); template(value) renders a raw task-vars value."""
    found = {}
    for name in names:
        if name in variables:
            value = variables[name]
            found[name] = template(value) if template else value
    return found


def options_or_variables(args, table, variables, template=None):
    """The task's options, each one it leaves out (None) taken from its variable, else its default.

    table: (option, variable, default, check) rows; check(value) returns the value to use,
    or raises ValueError/TypeError, and the ValueError raised names the variable (None: as is)."""
    args = dict(args)
    for option, variable, default, check in table:
        if args.get(option) is not None:
            continue
        value = pick(variables, (variable,), template).get(variable, default)
        if check is None or value is None:
            args[option] = value
            continue
        try:
            args[option] = check(value)
        except (TypeError, ValueError) as exc:
            raise ValueError("%s %s, not %r" % (variable, exc, value))
    return args


def estate_to_data(estate):
    return {
        "hosts": [[h.name, list(h.components), h.pool, list(h.addresses), h.managed, h.windows]
                  for h in estate.hosts.values()],
        "group_map": estate.group_map, "clustered_pools": estate.clustered_pools,
        "by_component": estate.by_component, "pool_members": estate.pool_members,
        "warnings": estate.warnings,
    }


def estate_from_data(data):
    hosts = collections.OrderedDict(
        (h[0], engine.Host(h[0], tuple(h[1]), h[2], tuple(h[3]), h[4], h[5])) for h in data["hosts"])
    return engine.Estate(hosts, collections.OrderedDict(data["group_map"]), data["clustered_pools"],
                         collections.OrderedDict(data["by_component"]), collections.OrderedDict(data["pool_members"]),
                         data["warnings"])


def component_hosts(groups, group_map):
    names = set()
    for group_names in group_map.values():
        for group in group_names:
            names.update(groups.get(group) or [])
    return sorted(names)


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector: the engine allocates many small objects, and each
    collection would walk Ansible's whole heap (a fifth of the engine's time at 5,000 hosts)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compute(groups, hostvars, play_hosts, extra, resolver=engine.resolve_name):
    """The estate and every play host's checked call, from Ansible's ``groups`` and
    ``hostvars`` (each host read once): {"estate": data, "calls": {host: call},
    "estate_errors": [...], "host_errors": {host: [...]}, "errors": [...]}.

    play_hosts None: every host of a component group.  extra: the estate-wide settings as
    the current task sees them (extra vars, play vars).  errors: the estate's problems and
    those of the play hosts' own settings (errors_for() picks them for other hosts)."""
    with gc_paused():
        data = _compute(groups, hostvars, play_hosts, extra, resolver)
    data["errors"] = errors_for(data, play_hosts)
    return data


def errors_for(data, hosts=None):
    """What stops a run over these hosts (None: every host): the estate's problems, and
    those of these hosts' own settings (a bad value outside a --limit stops nothing)."""
    found = list(data["estate_errors"])
    for host, messages in data["host_errors"].items():
        if hosts is None or host in hosts:
            found.extend(messages)
    return found


def _group_map(groups, extra, host_vars, checks):
    """component -> [inventory groups] from the one portmatrix_groups value of the run."""
    given = extra.get("portmatrix_groups")
    if given is None:  # the implicit localhost does not see group_vars/all: ask an inventory host
        for host in groups.get("all") or []:
            if "portmatrix_groups" in host_vars(host):
                given = host_vars(host)["portmatrix_groups"]
                break
    try:
        return settings.group_map(checks("portmatrix_groups", given or {}))
    except ValueError:
        return settings.group_map({})  # build_estate reports it, naming the host and the variable


def _compute(groups, hostvars, play_hosts, extra, resolver):
    seen = {}

    def host_vars(host):
        if host not in seen:
            seen[host] = hostvars[host]
        return seen[host]

    checks = engine.SettingChecks()  # portmatrix_groups and the other estate settings: each value checked once
    members = component_hosts(groups, _group_map(groups, extra, host_vars, checks))
    raw = collections.OrderedDict((host, pick(host_vars(host), engine.ESTATE_VARS)) for host in members)
    try:
        estate = engine.build_estate(groups, raw, extra, resolver, checks)
    except engine.EngineError as exc:
        return {"estate": None, "calls": {}, "estate_errors": exc.messages, "host_errors": {}}
    settings_by_host = collections.OrderedDict(
        (host, pick(host_vars(host), HOST_VARS)) for host in (members if play_hosts is None else play_hosts)
        if host in hostvars)
    calls, host_errors = engine.plan_each(estate, settings_by_host)
    estate.warnings.extend(unknown_variable_warnings((host, host_vars(host)) for host in members))
    return {"estate": estate_to_data(estate), "calls": calls, "estate_errors": [], "host_errors": host_errors}


def unknown_variable_warnings(hosts_variables):
    """One warning per portmatrix_* name no table knows (a typo is otherwise silently ignored),
    naming the closest known name and the hosts that have it. hosts_variables: (host, variables)."""
    hosts_of = collections.OrderedDict()
    for host, variables in hosts_variables:
        for name, close in settings.unknown_variables(n for n in variables if n.startswith("portmatrix_")):
            hosts_of.setdefault((name, close), []).append(host)
    warnings = []
    for (name, close), hosts in hosts_of.items():
        where = ", ".join(hosts[:3]) + (" and %d more hosts" % (len(hosts) - 3) if len(hosts) > 3 else "")
        warnings.append("%s (on %s) is not a variable of the collection and is ignored%s" % (
            name, where, "; did you mean %s?" % close if close else " (docs/settings.md lists them)"))
    return warnings


def cached(directory, key_parts, build):
    """build() once per key in this run, whatever the number of workers asking.

    Returns (data, built_here): built_here is True for the one worker that computed it
    (it shows the warnings)."""
    digest = hashlib.sha1(json.dumps(key_parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:20]
    path = os.path.join(directory, "portmatrix-estate-%s.json" % digest)
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if os.path.exists(path):
                with open(path) as handle:
                    return json.load(handle), False
            data = build()
            tmp = path + ".tmp"
            with open(tmp, "w") as handle:
                json.dump(data, handle)
            os.rename(tmp, path)
            return data, True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
