# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller engine: the inventory in, every host's firewall call and the flows out.

Pure functions over plain data, no Ansible: the action plugins gather the inventory's
groups and each host's variables, this module does the rest, once per run.

- build_estate(): who plays what (groups -> components), each host's pool and addresses
  (names resolved here), who is managed; every problem of every host at once.
- host_call() / plan_hosts(): each host's firewall_rules arguments, checked as the module
  will plan them.
- destination_flows(): every flow into every destination with its source hosts (shared,
  not copied); pairs() expands them to (source host, destination host, protocol) as the
  flows playbook streams them out; merged_flows(): per (source group, destination group,
  protocol, ports), for perimeter change requests; outbound_flows(): by DNS name.
- rollout(): batches in which a bad plan reaches at most one host per pool.

Everything but the per-pair expansion is linear in hosts: peers per component and pool
members are indexed once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import difflib
import ipaddress
import json
import socket

from ansible_collections.portmatrix.xenserver.plugins.module_utils import matrix, planner
from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import settings as settings_mod

WINDOWS_CONNECTIONS = ("winrm", "psrp")
# What build_estate reads of every host (besides the estate-wide settings).
ESTATE_VARS = ("portmatrix_addresses", "ansible_host", "portmatrix_pool", "portmatrix_manage_firewall",
               "ansible_connection", "ansible_shell_type") + settings_mod.ESTATE_SETTINGS
POOL_SCOPES = ("same_pool", "clustered_pool")


class EngineError(ValueError):
    """The inventory cannot be planned; messages name the host and the variable."""

    def __init__(self, messages):
        self.messages = list(messages)
        ValueError.__init__(self, "\n".join(self.messages))


Host = collections.namedtuple("Host", ["name", "components", "pool", "addresses", "managed", "windows"])
Estate = collections.namedtuple("Estate", [
    "hosts",            # OrderedDict name -> Host, for every host of a component group
    "group_map",        # component -> [inventory groups]
    "clustered_pools",  # sorted list of pool names
    "by_component",     # component -> [addresses of every host playing it]
    "pool_members",     # pool -> [pool host names]
    "warnings",         # [str]
])


# ---- addresses ---------------------------------------------------------------------------

def resolve_name(name):
    """getaddrinfo, IPv4 and IPv6: the addresses of a name, [] when it does not resolve."""
    try:
        infos = socket.getaddrinfo(name, None, 0, socket.SOCK_STREAM)
    except (socket.gaierror, socket.herror, UnicodeError, OSError):
        return []
    found = []
    for info in infos:
        try:
            address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        except ValueError:
            continue
        if address.version == 6 and address.ipv4_mapped:
            address = address.ipv4_mapped
        if address.is_link_local:
            continue
        if str(address) not in found:
            found.append(str(address))
    return found


def address_entry(entry, resolver=resolve_name):
    """An address, network or name -> canonical addresses/networks; [] when a name does not resolve."""
    text = str(entry).strip()
    try:
        return [str(ipaddress.ip_address(text))]
    except ValueError:
        pass
    try:
        return [str(ipaddress.ip_network(text, strict=False))]
    except ValueError:
        pass
    if not text or "/" in text or " " in text:
        return []
    return resolver(text)


def family(address):
    return 6 if ":" in address else 4


# ---- the estate --------------------------------------------------------------------------

def _is_windows(raw):
    return (str(raw.get("ansible_connection") or "") in WINDOWS_CONNECTIONS
            or str(raw.get("ansible_shell_type") or "") == "powershell")


class SettingChecks(object):
    """settings.check() once per distinct value: the same group_vars/all value, seen on
    every host, is checked once per run, not once per host."""

    def __init__(self):
        self._seen = {}

    def __call__(self, name, value):
        key = (name, json.dumps(value, sort_keys=True, default=str))
        if key not in self._seen:
            try:
                self._seen[key] = (settings_mod.check(name, value), None)
            except ValueError as exc:
                self._seen[key] = (None, exc)
        value, error = self._seen[key]
        if error is not None:
            raise error
        return value  # shared: the engine only reads checked values


EstateSettings = collections.namedtuple("EstateSettings", [
    "values",   # name -> checked value (the default where no host sets it)
    "errors",   # [str]
])


def _estate_settings(hosts_raw, extra, checks):
    """The estate-wide settings: every host that sets one must agree (they belong in group_vars/all)."""
    values, seen_on, errors = {}, {}, []
    for name in settings_mod.ESTATE_SETTINGS:
        for host, raw in list(hosts_raw.items()) + [("(the play)", extra)]:
            if name not in raw:
                continue
            try:
                value = checks(name, raw[name])
            except ValueError as exc:
                errors.append("%s: %s %s" % (host, name, exc))
                continue
            if name in values and values[name] != value:
                errors.append("%s differs between %s and %s: set it once for the whole inventory "
                              "(group_vars/all)" % (name, seen_on[name], host))
                continue
            values.setdefault(name, value)
            seen_on.setdefault(name, host)
        values.setdefault(name, settings_mod.SETTINGS[name].default)
    return EstateSettings(values, errors)


def _unknown_groups(user_groups, groups):
    """portmatrix_groups naming a group the inventory does not have (with close matches)."""
    errors = []
    for component, names in user_groups.items():
        for group in names:
            if group not in groups:
                close = difflib.get_close_matches(group, [g for g in groups if g not in ("all", "ungrouped")], 3)
                errors.append("portmatrix_groups: %s -> %r: no such inventory group%s"
                              % (component, group, " (did you mean %s?)" % ", ".join(close) if close else ""))
    return errors


def _components_of(groups, group_map):
    """host -> [components it plays], in group_map order."""
    components_of = collections.OrderedDict()
    for component, names in group_map.items():
        for group in names:
            for host in groups.get(group) or []:
                played = components_of.setdefault(host, [])
                if component not in played:
                    played.append(component)
    return components_of


HostReading = collections.namedtuple("HostReading", [
    "host",         # Host
    "problems",     # [str]
    "pool_given",   # whether portmatrix_pool is set (a pool host without it is an error)
])


def _address_entries(name, raw):
    """(entries, where they come from, problems): portmatrix_addresses, else ansible_host,
    else the inventory name."""
    if "portmatrix_addresses" in raw:
        try:
            return settings_mod.check("portmatrix_addresses", raw["portmatrix_addresses"]), "portmatrix_addresses", []
        except ValueError as exc:
            return [], "portmatrix_addresses", ["%s: portmatrix_addresses %s" % (name, exc)]
    if raw.get("ansible_host") not in (None, ""):
        return [str(raw["ansible_host"]).strip()], "ansible_host", []
    return [name], "the inventory name", []


def _host_addresses(name, raw, resolve):
    """(addresses, problems); resolve(entry) is memoised by the caller."""
    entries, source, problems = _address_entries(name, raw)
    addresses = []
    for entry in entries:
        found = resolve(entry)
        if not found:
            problems.append("%s: %r (from %s) is neither an IPv4/IPv6 address or network nor a name that "
                            "resolves on the controller" % (name, entry, source))
        for address in found:
            if address not in addresses:
                addresses.append(address)
    if not entries and not problems:
        problems.append("%s: no address (%s is empty)" % (name, source))
    return addresses, problems


def _checked_or(name, host, raw, default, fallback, problems):
    """The checked value of a host variable, the default when unset, fallback (and a problem) when bad."""
    if name not in raw:
        return default
    try:
        return settings_mod.check(name, raw[name])
    except ValueError as exc:
        problems.append("%s: %s %s" % (host, name, exc))
        return fallback


def _read_host(name, components, raw, resolve):
    """One host of a component group: its Host record and every problem of its variables."""
    addresses, problems = _host_addresses(name, raw, resolve)
    pool = _checked_or("portmatrix_pool", name, raw, settings_mod.SETTINGS["portmatrix_pool"].default, None,
                       problems)
    manage = _checked_or("portmatrix_manage_firewall", name, raw, True, False, problems)
    windows = _is_windows(raw)
    host = Host(name, tuple(components), pool, tuple(addresses), bool(manage and not windows), windows)
    return HostReading(host, problems, "portmatrix_pool" in raw)


def _memoised(resolver):
    resolved = {}

    def resolve(entry):
        if entry not in resolved:
            resolved[entry] = address_entry(entry, resolver)
        return resolved[entry]
    return resolve


def _index(hosts, group_map):
    """(component -> addresses of its hosts, pool -> pool host names)."""
    by_component = collections.OrderedDict((c, []) for c in group_map)
    pool_members = collections.OrderedDict()
    for host in hosts.values():
        for component in host.components:
            by_component[component].extend(host.addresses)
        if "pool_host" in host.components:
            pool_members.setdefault(host.pool, []).append(host.name)
    for component in by_component:  # host-name order, IPv4 before IPv6 (no numeric sort: n log n)
        addresses = _unique(by_component[component])
        by_component[component] = [a for a in addresses if ":" not in a] + [a for a in addresses if ":" in a]
    return by_component, pool_members


def _pool_errors(unpooled, clustered, hosts, group_map, groups):
    """A pool host without portmatrix_pool, or a clustered pool no pool host is in, would open the
    wrong flows on live pools (80/443 lost to the real pool; the cluster ports rejected, and a GFS2
    pool's hosts fence): both stop the run, naming the pools the inventory has."""
    pools = sorted(set(h.pool for h in hosts.values()
                       if "pool_host" in h.components and h.name not in unpooled and h.pool is not None))
    known = "known pools: %s" % (", ".join(pools) if pools else "none, no pool host sets portmatrix_pool")
    pool_groups = group_map.get("pool_host", [])
    errors = []
    for name in unpooled:
        in_groups = [g for g in pool_groups if name in (groups.get(g) or [])]
        errors.append("%s: a pool host (group %s) without portmatrix_pool: set the pool it is in (%s)"
                      % (name, ", ".join(in_groups), known))
    for pool in clustered:
        if pool not in pools:
            close = difflib.get_close_matches(pool, pools, 3)
            errors.append("portmatrix_clustered_pools names %r, which no pool host is in%s (%s)"
                          % (pool, "; did you mean %s?" % ", ".join(repr(c) for c in close) if close else "", known))
    return errors


def _estate_warnings(clustered, pool_members, user_groups, groups):
    warnings = []
    for pool in clustered:
        members = pool_members.get(pool, [])
        if len(members) == 1:
            warnings.append("clustered pool %r has one member (%s): clustering needs at least two" % (pool, members[0]))
    for component, names in user_groups.items():
        if all(not groups.get(g) for g in names if g in groups) and all(g in groups for g in names):
            warnings.append("component %s: group(s) %s have no hosts" % (component, ", ".join(names)))
    return warnings


def build_estate(groups, hosts_raw, extra=None, resolver=resolve_name, checks=None):
    """The estate of an inventory.

    groups: inventory group -> [host names] (Ansible's ``groups``).  hosts_raw: host ->
    {variable: value} holding at least the ESTATE_VARS a host defines, for every host
    of a component group.  extra: estate-wide settings of the play (extra vars).
    checks: a SettingChecks shared with the caller (each distinct value checked once).
    Raises EngineError with every problem found."""
    checks = checks or SettingChecks()
    estate_settings = _estate_settings(hosts_raw, extra or {}, checks)
    user_groups = estate_settings.values["portmatrix_groups"]
    group_map = settings_mod.group_map(user_groups)
    errors = estate_settings.errors + _unknown_groups(user_groups, groups)
    components_of = _components_of(groups, group_map)
    resolve = _memoised(resolver)
    hosts, unpooled = collections.OrderedDict(), []
    for name in sorted(components_of):
        reading = _read_host(name, components_of[name], hosts_raw.get(name, {}), resolve)
        errors.extend(reading.problems)
        hosts[name] = reading.host
        if "pool_host" in reading.host.components and not reading.pool_given:
            unpooled.append(name)
    clustered = sorted(set(estate_settings.values["portmatrix_clustered_pools"]))
    errors.extend(_pool_errors(unpooled, clustered, hosts, group_map, groups))
    if errors:
        raise EngineError(errors)
    by_component, pool_members = _index(hosts, group_map)
    warnings = _estate_warnings(clustered, pool_members, user_groups, groups)
    return Estate(hosts, group_map, clustered, by_component, pool_members, warnings)


# ---- cross-pool migration (portmatrix_migration_pools) -----------------------------------

def migration_source_pools(migration_pools, pool):
    """The pools whose hosts migrate to `pool`, sorted."""
    return sorted(p for p, targets in migration_pools.items() if pool in targets and p != pool)


def migration_peers(estate, info, values):
    """(pools, addresses) of the hosts migrating to this pool host's pool; ([], []) for other hosts."""
    if "pool_host" not in info.components or "cross_pool_migration" in values["portmatrix_skip_features"]:
        return [], []
    pools = migration_source_pools(values["portmatrix_migration_pools"], info.pool)
    addresses = [a for p in pools for m in estate.pool_members.get(p, []) for a in estate.hosts[m].addresses]
    return pools, _by_family(_unique(addresses), values["portmatrix_address_families"])


def platform_args(values, served):
    """The platform argument of a pool host (the module detects it when auto); nothing for other hosts."""
    if "pool_host" in served and values["portmatrix_platform"] != "auto":
        return {"platform": values["portmatrix_platform"]}
    return {}


def _unique(items):
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _some(names, limit=10):
    names = sorted(names)
    return ", ".join(names[:limit]) + (" and %d more" % (len(names) - limit) if len(names) > limit else "")


# ---- one host's call ---------------------------------------------------------------------

def _by_family(addresses, families):
    if 4 in families and 6 in families:
        return addresses  # shared, not copied: the lists of the estate are read only
    return [a for a in addresses if family(a) in families]


def nfsv3_port_specs(ports):
    """portmatrix_nfsv3_ports -> the module's PORT/PROTOCOL list (lockd's TCP and UDP ports differ)."""
    specs = []
    for protocol, keys in (("tcp", ("mountd", "statd", "lockd_tcp")), ("udp", ("mountd", "statd", "lockd_udp"))):
        for port in sorted(set(ports[k] for k in keys if ports.get(k) is not None)):
            specs.append("%d/%s" % (port, protocol))
    return specs


def nfsv3_ports_of(values, managed):
    """A filer's NFSv3 side ports and where they come from: "stated" (portmatrix_nfsv3_ports
    differs from its default), an appliance profile's name (portmatrix_nfs_appliance), "pinned"
    (a managed filer: the storage_filer role pins the defaults) or "assumed" (an unmanaged filer
    with neither: the Linux pins, which a NAS appliance does not use; the exports warn)."""
    stated = values["portmatrix_nfsv3_ports"]
    appliance = values.get("portmatrix_nfs_appliance")
    if stated != settings_mod.SETTINGS["portmatrix_nfsv3_ports"].default:
        return stated, "stated"
    if appliance:
        return settings_mod.nfs_appliance_ports(appliance), appliance
    return stated, "pinned" if managed else "assumed"


def host_call(estate, host, values):
    """The firewall_rules arguments of one host, and what the roles need to know of it.

    values: the host's checked settings (settings.read()).  Returns a dict with
    ``manage`` (whether a call is made), ``args`` (the module's arguments), ``served``
    (the components it serves as a destination), ``pool``, ``addresses`` and
    ``settings`` (the resolved values the roles act on)."""
    info = estate.hosts.get(host) or Host(host, (), values["portmatrix_pool"], (), False, False)
    features = list(values["portmatrix_features"])
    skip = list(values["portmatrix_skip_features"])
    migration_from, migrating = migration_peers(estate, info, values)
    if migration_from and "cross_pool_migration" not in features:
        features.append("cross_pool_migration")
    clustered = info.pool in estate.clustered_pools and "pool_host" in info.components
    active = planner.active_flows(info.components, features, skip, clustered=True)
    served = [c for c in info.components if any(f.destination == c for f in active)]
    families = values["portmatrix_address_families"]
    strict = values["portmatrix_strict"] and "pool_host" in served
    https_only = values["portmatrix_https_only"] and "pool_host" in served
    sources = _unique(f.source for f in active
                      if not (f.source == "pool_host" and f.scope in POOL_SCOPES))
    peers = collections.OrderedDict(
        (c, _by_family(estate.by_component.get(c, []), families)) for c in sources)
    pool_peers = []
    if "pool_host" in served:
        for member in estate.pool_members.get(info.pool, []):
            if member != host:
                pool_peers.extend(estate.hosts[member].addresses)
    nfsv3, nfsv3_origin = nfsv3_ports_of(values, info.managed)
    nfs_pinned = "nfs_filer" in served and "nfsv3" not in skip and bool(nfsv3)
    extra = []
    if strict and values["portmatrix_admin_sources"]:
        extra.append({"name": "admin", "sources": list(values["portmatrix_admin_sources"]), "protocol": "tcp",
                      "ports": [22, 443] + ([] if https_only else [80])})
    if ("license_server" in served and "license_admin" in features
            and values["portmatrix_license_admin_sources"]):
        extra.append({"name": "license_admin", "sources": list(values["portmatrix_license_admin_sources"]),
                      "protocol": "tcp", "ports": [8082, 8083]})
    extra.extend(values["portmatrix_extra_rules"])
    args = collections.OrderedDict([
        ("components", served),
        ("peers", peers),
        ("pool_peers", _by_family(_unique(pool_peers), families)),
        ("migration_peers", migrating),
        ("clustered", clustered),
        ("features", features),
        ("skip_features", skip),
        ("https_only", https_only),
    ] + [(name, values["portmatrix_" + name]) for name in matrix.PORT_OPTIONS] + [
        ("nfsv3_ports", nfsv3_port_specs(nfsv3) if nfs_pinned else []),
        ("extra_rules", extra),
        ("backend", values["portmatrix_firewall_backend"]),
        ("persist", values["portmatrix_firewall_persist"]),
        ("confirm_timeout", values["portmatrix_confirm_timeout"]),
    ])
    if strict:
        args["public_ports"] = []
    args.update(platform_args(values, served))
    return {
        "host": host,
        "manage": bool(info.managed and served),
        "windows": info.windows,
        "components": list(info.components),
        "served": served,
        "pool": info.pool,
        "addresses": list(info.addresses),
        "args": args,
        "settings": {
            "https_only": https_only,
            "strict": strict,
            "nfsv3_ports": dict(nfsv3) if nfs_pinned else {},
            "nfsv3_origin": nfsv3_origin if nfs_pinned else "",
            "license_vendor_daemon_port": values["portmatrix_license_vendor_daemon_port"],
            "families": list(families),
            "controllers": list(values["portmatrix_controllers"]),
            "migration_from": migration_from,
        },
    }


def port_options(args):
    """The planner's port_options from a call's (or the module's) arguments: one argument per
    matrix.PORT_OPTIONS name, the single definition the module's argument_spec is made from too."""
    return dict((name, args.get(name)) for name in matrix.PORT_OPTIONS)


def check_call(call):
    """Plan the call as the module will (planner.build_plan), so that a bad value fails on
    the controller before any host changes.  Returns the planner's error text or None.

    Peer addresses are left out: build_estate made them, canonical, from checked entries,
    and parsing every peer again for every host would make the check quadratic."""
    args = call["args"]
    origin = call["settings"].get("nfsv3_origin")
    if call["manage"] and origin in settings_mod.NFS_APPLIANCES and origin != "linux":
        return ("portmatrix_nfs_appliance %s is for filers the collection does not manage: set "
                "portmatrix_manage_firewall: false, or leave the appliance out" % origin)
    try:
        planner.build_plan(
            components=args["components"], peers=dict((c, []) for c in args["peers"]), pool_peers=[],
            clustered=args["clustered"], features=args["features"], skip_features=args["skip_features"],
            https_only=args["https_only"], port_options=port_options(args),
            nfsv3_ports=args["nfsv3_ports"], extra_rules=args["extra_rules"],
            public_ports=args.get("public_ports", planner.DEFAULT_PUBLIC_PORTS))
    except planner.PlanError as exc:
        return str(exc)
    return None


def plan_each(estate, settings_by_host):
    """Every host's call, each checked once: ({host: call}, {host: [problems]}).
    settings_by_host: host -> raw variables."""
    calls, problems = collections.OrderedDict(), collections.OrderedDict()
    for host, raw in settings_by_host.items():
        try:
            values = settings_mod.read(host, raw)
        except settings_mod.SettingsError as exc:
            problems[host] = list(exc.messages)
            continue
        call = host_call(estate, host, values)
        problem = check_call(call) if call["manage"] or call["served"] else None
        if problem:
            problems[host] = ["%s: %s" % (host, problem)]
            continue
        calls[host] = call
    return calls, problems


def plan_hosts(estate, settings_by_host):
    """Every host's call: {host: call}.  settings_by_host: host -> raw variables.
    Raises EngineError naming every host with a bad setting or an unplannable call."""
    calls, problems = plan_each(estate, settings_by_host)
    if problems:
        raise EngineError([message for messages in problems.values() for message in messages])
    return calls


# ---- flows -------------------------------------------------------------------------------

DestinationFlow = collections.namedtuple("DestinationFlow", [
    "flow", "feature", "purpose", "scope", "dst", "dst_component", "src_component", "sources", "proto", "ports"])
# One matrix flow (or extra rule) into one destination host, with every source of it:
# sources is a tuple of host names, or for an extra rule ("", addresses...).


def destination_flows(estate, calls):
    """Every flow into every destination host with its source hosts, from each call: linear
    in hosts (the sources of a component or a pool are shared, not copied per pair)."""
    by_component = dict((c, tuple(h.name for h in estate.hosts.values() if c in h.components))
                        for c in estate.group_map)
    by_pool = dict((pool, tuple(members)) for pool, members in estate.pool_members.items())
    found = []
    for dst, call in calls.items():
        if not call["served"]:
            continue
        args = call["args"]
        info = estate.hosts.get(dst)
        migration_sources = _migration_sources(by_pool, call["settings"].get("migration_from"))
        planned = planner.planned_flows(
            args["components"], args["clustered"], args["features"], args["skip_features"], args["https_only"],
            port_options(args), args["nfsv3_ports"])
        for flow, by_protocol in planned:
            if flow.source == "pool_host" and flow.scope in POOL_SCOPES:
                sources = by_pool.get(info.pool if info else None, ())
            elif flow.scope == "migrating_pools":
                sources = migration_sources
            else:
                sources = by_component.get(flow.source, ())
            for proto, ports in by_protocol.items():
                found.append(DestinationFlow(flow.id, flow.feature, flow.purpose, flow.scope, dst, flow.destination,
                                             flow.source, sources, proto, tuple(ports)))
        for rule in args["extra_rules"]:
            if rule["sources"]:
                found.append(DestinationFlow("extra:" + rule["name"], "extra", "extra rule " + rule["name"], "any",
                                             dst, "", "", ("",) + tuple(rule["sources"]), rule["protocol"],
                                             tuple(sorted(set(rule["ports"])))))
    return found


def _migration_sources(by_pool, pools):
    """The hosts of the migrating pools, one shared tuple per set of pools (cached in by_pool)."""
    key = ("migration",) + tuple(pools or ())
    if key not in by_pool:
        by_pool[key] = tuple(h for p in pools or () for h in by_pool.get(p, ()))
    return by_pool[key]


def _is_extra(flow):
    return flow.sources[:1] == ("",)


Pair = collections.namedtuple("Pair", [
    "src", "src_component", "dst", "dst_component", "proto", "ports", "flows", "purpose", "addresses"])
# One source host (src "" for an extra rule, whose addresses are in `addresses`), one
# destination host and protocol, with the ports and flows between them.


_Merged = collections.namedtuple("_Merged", ["first", "ports", "flow_ids", "purposes"])
# The flows into one destination that share their source hosts and protocol: the first of
# them (its sources, components), and the ports, flow ids and purposes of all of them.


PairGroup = collections.namedtuple("PairGroup", [
    "dst", "dst_component", "src_component", "proto", "ports", "flows", "purpose", "sources", "addresses"])
# The pairs into one destination that share their source hosts, protocol, ports and flows:
# sources is the flows' shared tuple of source hosts (it may hold dst itself, which is no
# pair), or () for an extra rule, whose source addresses are in `addresses`.


def pair_groups(estate, calls, dest_flows=None):
    """pairs() before the expansion to one entry per source host: each group once per
    destination, so that a writer renders what the group's pairs share once."""
    by_dst = collections.OrderedDict()
    for f in dest_flows if dest_flows is not None else destination_flows(estate, calls):
        by_dst.setdefault(f.dst, []).append(f)
    for dst, items in by_dst.items():
        groups = collections.OrderedDict()  # (id of the source tuple, protocol, extra rule) -> _Merged
        for f in items:
            key = (id(f.sources), f.proto, f.flow if _is_extra(f) else "")
            entry = groups.get(key)
            if entry is None:
                entry = groups[key] = _Merged(f, set(), [], [])
            entry.ports.update(f.ports)
            if f.flow not in entry.flow_ids:
                entry.flow_ids.append(f.flow)
                entry.purposes.append(f.purpose)
        for f, ports, flow_ids, purposes in groups.values():
            extra = _is_extra(f)
            yield PairGroup(dst, f.dst_component, "" if extra else f.src_component, f.proto, tuple(sorted(ports)),
                            tuple(flow_ids), "; ".join(purposes), () if extra else f.sources,
                            f.sources[1:] if extra else None)


def pairs(estate, calls, dest_flows=None):
    """Every (source host, destination host, protocol), ports and flows merged, destination by
    destination (a generator: its size grows with sources times destinations).  Flows into a
    destination that share their source hosts are merged first (pair_groups()), so each
    source host is visited once per set of sources."""
    for g in pair_groups(estate, calls, dest_flows):
        if g.addresses is not None:
            yield Pair("", "", g.dst, g.dst_component, g.proto, g.ports, g.flows, g.purpose, g.addresses)
            continue
        for src in g.sources:
            if src != g.dst:
                yield Pair(src, g.src_component, g.dst, g.dst_component, g.proto, g.ports, g.flows, g.purpose, None)


def merged_flows(estate, calls, dest_flows=None, inventory_groups=None):
    """Flows merged for a perimeter change request: one row per (source group, destination
    group, protocol, ports, pool) and address family, with every source and destination
    address of that family (a rule never mixes IPv4 and IPv6).  Ports are first gathered per
    destination host, so that hosts serving the same ports share a row; same-pool flows stay
    per pool, so a request never opens them between pools.  Each row carries the matrix's
    purpose of its flows and a note when a filer's NFSv3 side ports are assumed, not stated.

    inventory_groups (Ansible's ``groups``): rows are labelled with the groups that hold
    their hosts, not every group of the component.  Rows come sorted by destination group,
    ports, source group.  Linear in hosts: sources are taken per component or pool, never
    per pair."""
    group_of = dict((c, "/".join(gs)) for c, gs in estate.group_map.items())
    per_host = collections.OrderedDict()  # (source group, dst, dst component, protocol, pool) -> entry
    purpose_of = {}
    for f in dest_flows if dest_flows is not None else destination_flows(estate, calls):
        dst = estate.hosts.get(f.dst)
        pool = _pool_label(f, dst)
        extra = _is_extra(f)
        src_group = "(extra rule %s)" % f.flow[6:] if extra else group_of.get(f.src_component, "")
        key = (src_group, f.dst, f.dst_component, f.proto, pool)
        entry = per_host.get(key)
        if entry is None:
            entry = per_host[key] = {"ports": set(), "flows": [], "sources": {}, "src_component": f.src_component}
        entry["ports"].update(f.ports)
        if f.flow not in entry["flows"]:
            entry["flows"].append(f.flow)
            purpose_of.setdefault(f.flow, f.purpose)
        entry["sources"][id(f.sources)] = f.sources  # the shared tuples of destination_flows()
    merged = collections.OrderedDict()
    for (src_group, dst, dst_component, proto, pool), entry in per_host.items():
        ports = tuple(sorted(entry["ports"]))
        key = (src_group, group_of.get(dst_component, ""), proto, ports, pool)
        row = merged.get(key)
        if row is None:
            row = merged[key] = {
                "source_group": key[0], "destination_group": key[1], "protocol": proto, "ports": list(ports),
                "pool": pool, "flows": [], "source_sets": {}, "destination_hosts": set(),
                "components": (entry["src_component"], dst_component)}
        row["flows"].extend(f for f in entry["flows"] if f not in row["flows"])
        for key_id, sources in entry["sources"].items():
            row["source_sets"].setdefault(key_id, (sources, set()))[1].add(dst)
        row["destination_hosts"].add(dst)
    labels = _GroupLabels(estate, inventory_groups)
    split_cache = {}

    def of_family(name, version):  # a host's addresses of one family, split once per host
        split = split_cache.get(name)
        if split is None:
            addresses = estate.hosts[name].addresses
            split = split_cache[name] = ([a for a in addresses if ":" not in a], [a for a in addresses if ":" in a])
        return split[version == 6]

    rows = []
    for row in merged.values():
        hosts, extra_addresses = set(), set()
        for sources, dsts in row.pop("source_sets").values():
            if sources[:1] == ("",):
                extra_addresses.update(sources[1:])
                continue
            # a host is never its own source: sources used for one destination lose that one
            hosts.update(sources if len(dsts) > 1 else set(sources) - dsts)
        if not hosts and not extra_addresses:
            continue
        src_component, dst_component = row.pop("components")
        dst_hosts = sorted(row.pop("destination_hosts"))
        row["purpose"] = "; ".join(_unique(purpose_of[f] for f in row["flows"]))
        row["note"] = _nfsv3_note(calls, dst_hosts) if "nfsv3_ancillary" in row["flows"] else ""
        for version in (4, 6):
            src_hosts = sorted(h for h in hosts if of_family(h, version))
            sources = set(a for a in extra_addresses if _address_key(a)[0] == version)
            for name in src_hosts:
                sources.update(of_family(name, version))
            these_dsts = [d for d in dst_hosts if d in estate.hosts and of_family(d, version)]
            destinations = set(a for d in these_dsts for a in of_family(d, version))
            if not sources or not destinations:
                continue
            split = dict(row)
            split.update(
                family="IPv%d" % version,
                source_group=labels.label(src_component, src_hosts) if src_hosts else row["source_group"],
                destination_group=labels.label(dst_component, these_dsts) or row["destination_group"],
                sources=sorted(sources, key=_address_key), destinations=sorted(destinations, key=_address_key),
                source_hosts=src_hosts, destination_hosts=these_dsts, flows=list(row["flows"]))
            rows.append(split)
    rows.sort(key=lambda r: (r["destination_group"], r["ports"][:1], r["ports"], r["protocol"], r["source_group"],
                             r["pool"], r["family"]))
    return rows


class _GroupLabels:
    """The inventory groups of a component that hold some of the given hosts, joined by "/"
    (every group of the component when the inventory's groups are not known)."""

    def __init__(self, estate, inventory_groups):
        self.group_map = estate.group_map
        self.members = dict((g, set(inventory_groups.get(g) or ())) for gs in estate.group_map.values() for g in gs) \
            if inventory_groups is not None else None

    def label(self, component, hosts):
        groups = self.group_map.get(component, [])
        if self.members is not None:
            groups = [g for g in groups if not self.members[g].isdisjoint(hosts)] or groups
        return "/".join(groups)


def _nfsv3_note(calls, dst_hosts):
    assumed = [d for d in dst_hosts if (calls.get(d) or {}).get("settings", {}).get("nfsv3_origin") == "assumed"]
    if not assumed:
        return ""
    return ("NFSv3 side ports ASSUMED (the Linux pins) on %s, not managed by the collection: state the filer's "
            "ports (portmatrix_nfsv3_ports) or its appliance (portmatrix_nfs_appliance: netapp_ontap, linux)"
            % ", ".join(assumed))


def _pool_label(flow, dst):
    """The pool column of a merged row: same-pool flows stay per pool, and cross-pool migration into a
    pool is a row of its own (never merged with the intra-pool 80/443 of the same pool)."""
    if not dst:
        return ""
    if flow.scope in POOL_SCOPES:
        return dst.pool
    return "%s (cross-pool migration in)" % dst.pool if flow.scope == "migrating_pools" else ""


_ADDRESS_KEYS = {}


def _address_key(text):
    """Sort key of an address or network (IPv4 first, numerically); cached, since the same
    addresses are sorted again in every merged row."""
    key = _ADDRESS_KEYS.get(text)
    if key is None:
        network = ipaddress.ip_network(u"%s" % text, strict=False)
        key = _ADDRESS_KEYS[text] = (network.version, int(network.network_address), network.prefixlen)
    return key


# ---- rollout -----------------------------------------------------------------------------

def failure_domain(call):
    """Hosts that must not change together: a pool's members, or the hosts serving the same
    components (every NFS filer, every license server, ...)."""
    if "pool_host" in call["served"]:
        return "pool " + str(call["pool"])
    return "components " + ",".join(sorted(call["served"]))


def rollout(calls, hosts, canary=1):
    """Batches for a safe rollout over `hosts` (in this order of preference): first `canary`
    host(s) alone, then waves that take at most one host of each failure domain (a pool, or
    the hosts of the same components), so that a bad plan stops after one host per pool.
    Hosts without a managed call change nothing and come last, in one batch.

    Returns {"order": [hosts], "batches": [sizes], "waves": [[hosts]]}."""
    domains = collections.OrderedDict()
    idle = []
    for host in hosts:
        call = calls.get(host)
        if call and call["manage"]:
            domains.setdefault(failure_domain(call), []).append(host)
        else:
            idle.append(host)
    waves = []
    queues = [list(members) for members in domains.values()]
    if queues and canary:
        first = []
        for queue in queues:  # the canaries come from different domains
            if len(first) < canary and queue:
                first.append(queue.pop(0))
        waves.append(first)
    while any(queues):
        waves.append([queue.pop(0) for queue in queues if queue])
    if idle:
        waves.append(idle)
    order = [host for wave in waves for host in wave]
    return {"order": order, "batches": [len(wave) for wave in waves] or [1], "waves": waves}


# ---- outbound, by name -------------------------------------------------------------------

def outbound_flows(estate):
    """The matrix's outbound connections to vendor services, by DNS name, with the addresses
    of the hosts that make them (for perimeter firewalls and proxies; never host rules).
    A pool's coordinator changes with elections, so every pool host is listed for
    coordinator-only entries, and the row says so."""
    group_of = dict((c, "/".join(gs)) for c, gs in estate.group_map.items())
    rows = []
    for entry in matrix.OUTBOUND:
        hosts = [h for h in estate.hosts.values() if entry.source in h.components]
        if not hosts:
            continue
        addresses = []
        for host in hosts:
            addresses.extend(host.addresses)
        for destination in entry.destinations:
            rows.append({
                "id": entry.id, "source_group": group_of.get(entry.source, entry.source),
                "source_hosts": sorted(h.name for h in hosts), "sources": sorted(set(addresses), key=_address_key),
                "destination": destination, "protocol": entry.protocol, "port": entry.port,
                "purpose": entry.purpose + (" (from the pool coordinator only; it can move to any member)"
                                            if entry.only == "pool_coordinator" else ""),
                "source_ref": entry.source_ref,
            })
    return rows
