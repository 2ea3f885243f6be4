# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's inputs: every host variable that shapes a host's firewall, in one table.

This is the single source of the ``portmatrix_*`` variables: their names, types,
defaults and documentation (docs/settings.md is rendered from it, and the roles'
documentation points here).  Values are checked here, with messages that name the
host and the variable, never a flow.  Controller-only, pure: plain data in, plain
data out, no Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import difflib
import ipaddress
import re

from ansible_collections.portmatrix.xenserver.plugins.module_utils import matrix, platform


class SettingsError(ValueError):
    """One or more variables have values the engine cannot use."""

    def __init__(self, messages):
        self.messages = list(messages)
        ValueError.__init__(self, "\n".join(self.messages))


Setting = collections.namedtuple("Setting", ["name", "kind", "default", "scope", "doc"])
# kind: how the value is checked (see _CHECKS); scope: "estate" (the same on every host:
# read from every host and required to agree), "host", or "playbook" (read on the controller by the flows,
# perimeter and verify playbooks, and portmatrix_preflight by the rollout, from the inventory or extra vars).

NFSV3_PORT_KEYS = ("mountd", "statd", "statd_outgoing", "lockd_tcp", "lockd_udp")
BACKENDS = ("auto", "iptables", "firewalld", "nftables")
# NFSv3 side ports of NAS appliances, as portmatrix_nfsv3_ports.  netapp_ontap: ONTAP 9 defaults
# (docs.netapp.com/us-en/ontap/networking/ontap_port_usage_on_a_storage_system_overview.html and
# NetApp KB "Which Network File System (NFS) TCP and NFS UDP ports are used on the storage
# system?": mountd 635, nlockmgr 4045, status 4046, rquotad 4049, TCP and UDP; rquotad is left out:
# XenServer's NFS SR does not use quotas).  linux: the defaults of portmatrix_nfsv3_ports.
NFS_APPLIANCES = collections.OrderedDict([
    ("netapp_ontap", collections.OrderedDict([("mountd", 635), ("statd", 4046), ("lockd_tcp", 4045),
                                              ("lockd_udp", 4045)])),
    ("linux", None),
])
PLATFORMS = platform.CHOICES
_GROUP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def default_groups():
    """component -> inventory group: the component's name in the plural."""
    return collections.OrderedDict((c, c + "s") for c in matrix.COMPONENTS)


SETTINGS = collections.OrderedDict((s.name, s) for s in [
    Setting("portmatrix_groups", "groups", {}, "estate",
            "Inventory group (or list of groups) per component, merged over the defaults (the component's "
            "name plus C(s): C(pool_hosts), C(nfs_filers), ...), so that an existing inventory keeps its own "
            "group names. Every group named here must exist in the inventory."),
    Setting("portmatrix_clustered_pools", "str_list", [], "estate",
            "Names of the pools that are clustered (GFS2). Clustering flows are opened only inside these pools. A name "
            "that no pool host has in O(portmatrix_pool) stops the run before any host changes (with the close "
            "matches: V(pool-a) for V(pool_a))."),
    Setting("portmatrix_migration_pools", "migration_pools", {}, "host",
            "Cross-pool migration: which pools migrate VMs to which, as a dictionary from the sending pool to the "
            "receiving pool(s), for example V({poolB: [poolA]}); list both directions for migration both ways "
            "(V({poolA: [poolB], poolB: [poolA]})). Set it once in C(group_vars/all): the receiving pool's hosts "
            "read it and accept 443/tcp from the sending pool's hosts (flow C(cross_pool_migration); in O(portmatrix_strict) mode they refuse them otherwise). "
            "Source: xen-api C(ocaml/xapi/xapi_vm_migrate.ml)."),
    Setting("portmatrix_platform", "platform", "auto", "host",
            "Pool hosts: V(xenserver8), V(xenserver9), V(xcp-ng8) or V(auto) (detected on the host from "
            "C(/etc/xensource-inventory) or C(/etc/os-release), reported in the firewall_rules result's C(platform)). "
            "It decides what the collection expects from xapi there (docs/platforms.md); a host that contradicts it "
            "fails before anything changes."),
    Setting("portmatrix_addresses", "addresses", None, "host",
            "The host's addresses as its peers see them: IPv4, IPv6, CIDR networks or names (resolved on the "
            "controller, IPv4 and IPv6). Takes precedence over C(ansible_host), which takes precedence over the "
            "inventory name."),
    Setting("portmatrix_pool", "str", "default", "host",
            "The resource pool of a pool host. Intra-pool flows (management API, clustering, HA) are allowed "
            "only between pool hosts with the same value. Required on every pool host: one without it stops the run "
            "before any host changes (the error lists the pools the inventory has)."),
    Setting("portmatrix_pool_size", "count", None, "host",
            "How many hosts the pool has (set it in the pool's group_vars). A run without a plan whose inventory "
            "has fewer of the pool's hosts (part of the estate: a filtered inventory, a slice) fails before any "
            "host changes and says to make the plan first (docs/guides/awx.md); V(null) (the default) checks "
            "nothing. C(--limit) keeps the inventory whole and is not affected."),
    Setting("portmatrix_address_families", "families", [4, 6], "host",
            "The address families this host filters (V([4]), V([6]) or V([4, 6])); peer addresses of other "
            "families are left out of its rules."),
    Setting("portmatrix_manage_firewall", "bool", True, "host",
            "V(false) makes the host a peer only: its addresses are used by the others, its firewall and files "
            "are left alone and it is never logged in to (NAS appliances; the verify playbook only tries the "
            "matrix's flows to it, from managed hosts). Windows hosts are never managed."),
    Setting("portmatrix_firewall_backend", "backend", "auto", "host",
            "The firewall_rules backend: V(auto), V(iptables), V(firewalld) or V(nftables)."),
    Setting("portmatrix_firewall_persist", "bool", True, "host",
            "Save the rules so that they survive a reboot."),
    Setting("portmatrix_features", "features", [], "host",
            "Optional features this host serves, for example V(ha), V(nbd), V(vxlan), V(snmp), V(nrpe) on pool "
            "hosts, V(ad_integration) on domain controllers, V(license_admin) on license servers, V(wlb) on the "
            "Workload Balancing appliance (an api_client). docs/port-matrix.md lists every feature and its source."),
    Setting("portmatrix_skip_features", "features", [], "host",
            "Features of the vendor matrix this host does not serve, for example V(nfsv3) on a filer that "
            "serves NFSv4 only, V(smb) or V(iscsi)."),
    Setting("portmatrix_https_only", "bool", False, "host",
            "Pool hosts: close TCP port 80 the vendor's way (C(xe host-param-set https-only=true), done by the "
            "pool_host role) and leave 80 out of the management-API flows."),
    Setting("portmatrix_strict", "bool", False, "host",
            "Pool hosts: SSH (22) and the management API (80, 443) only from the matrix's sources and "
            "O(portmatrix_admin_sources), instead of from everyone as on a stock host."),
    Setting("portmatrix_admin_sources", "addresses", [], "host",
            "Pool hosts in strict mode: further sources (addresses or networks) allowed on 22, 443 (and 80)."),
    Setting("portmatrix_license_admin_sources", "addresses", [], "host",
            "License servers with the V(license_admin) feature: further sources allowed on the administration "
            "console (8082) and web services (8083), besides XenCenter hosts."),
    Setting("portmatrix_license_vendor_daemon_port", "port", 7279, "host",
            "License servers: the CITRIX vendor daemon port (C(PORT=) on the VENDOR line of the license file)."),
    Setting("portmatrix_cluster_daemon_port", "port", 8892, "host",
            "Pool hosts of clustered pools: the cluster daemon port. The vendor's page says 8892; xapi's source "
            "(xapi_clusterd_port) uses 8896. Check your hosts."),
    Setting("portmatrix_nfsv3_ports", "nfsv3_ports",
            collections.OrderedDict([("mountd", 892), ("statd", 662), ("statd_outgoing", 2020),
                                     ("lockd_tcp", 32803), ("lockd_udp", 32769)]), "host",
            "NFS filers: the pinned NFSv3 side ports (keys mountd, statd, statd_outgoing, lockd_tcp, lockd_udp), "
            "written by the storage_filer role to C(/etc/nfs.conf) or C(/etc/sysconfig/nfs) and opened to pool "
            "hosts. V({}) leaves them unpinned: random ports that no rule can name, so only 2049 and 111 open."),
    Setting("portmatrix_nfs_appliance", "nfs_appliance", None, "host",
            "NFS filers the collection does not manage (NAS appliances): whose NFSv3 side ports to use, "
            "V(netapp_ontap) (mountd 635, status 4046, nlockmgr 4045, the ONTAP 9 defaults) or V(linux) (the Linux "
            "pins of O(portmatrix_nfsv3_ports)). O(portmatrix_nfsv3_ports) set to other values wins. An unmanaged "
            "filer with neither has the Linux pins assumed, and the flows playbook's change request says so on its "
            "rows (a Dell PowerScale, or any other appliance: state its ports in O(portmatrix_nfsv3_ports))."),
    Setting("portmatrix_inventory_name", "str", None, "estate",
            "The inventory's name in the flows playbook's change request (its title, every row). Default: the "
            "name of the inventory directory, or of the inventory file without its extension (the directory's "
            "name when the file is called C(hosts), C(inventory) or C(main))."),
    Setting("portmatrix_extra_rules", "extra_rules", [], "host",
            "Further flows to this host, as the firewall_rules module's C(extra_rules) (name, sources, protocol, "
            "ports), in the same atomic change."),
    Setting("portmatrix_confirm_timeout", "seconds", 60, "host",
            "Commit confirmed: a change of the running rules puts itself back after this many seconds unless the "
            "controller confirms it from a new connection; the saved rules are written only then. V(0) applies "
            "without confirmation."),
    Setting("portmatrix_host_timeout", "seconds", 300, "host",
            "The longest, in seconds, that any one step of the controller that talks to this host may take: the SSH "
            "guard's read of the connection, the firewall_rules module's run (it waits up to 120 s for another run's "
            "lock) and the confirming connection. A step past it fails with a message naming the host and the step, "
            "instead of hanging on a stalled SSH session. V(0): no deadline. The roles' other tasks: Ansible's "
            "C(timeout) keyword or C(ANSIBLE_TASK_TIMEOUT) (docs/firewall-design.md)."),
    Setting("portmatrix_controllers", "addresses", [], "host",
            "Addresses or networks of every controller that runs the collection (AWX/AAP execution nodes, "
            "bastions). Their SSH is always accepted (the SSH guard), so that a run from another one is not "
            "drift. The address the current connection comes from is always added."),
    Setting("portmatrix_flows_formats", "flows_formats", ["csv", "json", "md"], "playbook",
            "The flows playbook: the formats it writes, any of V(csv), V(json), V(md) (the flows and change-request "
            "files) and V(aerleon) (an Aerleon policy directory C(aerleon/) for the network team: "
            "docs/guides/network-team.md)."),
    Setting("portmatrix_aerleon_zones", "aerleon_zones", {}, "playbook",
            "The Aerleon export: zone name -> components whose flows go into one policy C(portmatrix-<zone>), for "
            "example V({storage: [nfs_filer, iscsi_target, smb_filer]}). A destination component in no zone gets a "
            "policy of its own."),
    Setting("portmatrix_aerleon_targets", "aerleon_targets", {}, "playbook",
            "The Aerleon export: the C(targets) of every policy's header, target -> options (C({policy}) is replaced "
            "by the policy's name). V({}) writes nftables C(mixed forward), speedway C(FORWARD DROP) (IPv4), juniper "
            "and cisco C({policy} mixed)."),
    Setting("portmatrix_perimeter_policy", "str", None, "playbook",
            "The perimeter playbook: the network team's Aerleon policy directory (C(def/) and C(policies/)) to check "
            "against the flows of the inventory."),
    Setting("portmatrix_preflight", "bool", True, "playbook",
            "The site playbook, the remove playbook and the drift playbook with C(portmatrix_enforce=true): before the "
            "first host changes, check every targeted host at once, read-only (the firewall_rules module in check "
            "mode: the backend against O(portmatrix_firewall_backend), the tools, the saved files writable, Python, "
            "become), and change nothing unless every host passes. It costs one check-mode run per host, all hosts "
            "in parallel (docs/firewall-design.md). V(false) skips it: a host that cannot take its plan then fails "
            "in its batch, after the earlier batches changed."),
    Setting("portmatrix_perimeter_report", "str", None, "playbook",
            "The perimeter playbook: also write its result to this path plus C(.json), C(.txt) and C(.html)."),
    Setting("portmatrix_verify_timeout", "seconds", 2, "playbook",
            "The verify playbook: seconds each connection attempt may take (a UDP probe is sent again at half)."),
    Setting("portmatrix_verify_deadline", "seconds", 30, "playbook",
            "The verify playbook: seconds all the attempts of one source host may take together; what is not tried "
            "by then fails as C(not tried)."),
    Setting("portmatrix_verify_fail", "bool", True, "playbook",
            "The verify playbook: fail when a flow is not as the matrix says; V(false) only reports."),
    Setting("portmatrix_verify_report", "str", "portmatrix-verify.html", "playbook",
            "The verify playbook: the HTML report's path, relative to where C(ansible-playbook) runs."),
    Setting("portmatrix_plan_file", "str", None, "playbook",
            "The plan playbook: the JSON file it writes the estate's plan to (every host's firewall, the estate's "
            "digest, the collection version, the time). The site, drift and remove playbooks: apply this plan "
            "instead of reading the inventory; the verify playbook tries its flows (give it with C(-e) only, never in group_vars: a stale plan would "
            "be applied). A plan made by another collection version, or without the host, is refused."),
    Setting("portmatrix_plan_data", "plan", None, "playbook",
            "The plan itself, as the plan playbook hands it to the next AWX / AAP workflow node (C(set_stats)); "
            "applied like O(portmatrix_plan_file), which wins when both are given."),
])

# Variables of earlier releases: a host that still sets one gets an error naming the new one.
RENAMED = collections.OrderedDict([
    ("pool_host_https_only", "portmatrix_https_only"),
    ("pool_host_strict", "portmatrix_strict"),
    ("pool_host_admin_sources", "portmatrix_admin_sources"),
    ("pool_host_features", "portmatrix_features"),
    ("storage_filer_nfsv4", "portmatrix_skip_features (add nfsv4 to skip it)"),
    ("storage_filer_nfsv3", "portmatrix_skip_features (add nfsv3 to skip it)"),
    ("storage_filer_smb", "portmatrix_skip_features (add smb to skip it)"),
    ("storage_filer_iscsi", "portmatrix_skip_features (add iscsi to skip it)"),
    ("storage_filer_nfsv3_pin", "portmatrix_nfsv3_ports ({} leaves them unpinned)"),
    ("storage_filer_nfsv3_ports", "portmatrix_nfsv3_ports"),
    ("license_server_vendor_daemon_port", "portmatrix_license_vendor_daemon_port"),
    ("license_server_admin_console", "portmatrix_features (add license_admin)"),
    ("license_server_admin_sources", "portmatrix_license_admin_sources"),
    ("infra_service_wlb", "portmatrix_features (add wlb on the WLB appliance)"),
])

# Variables the playbooks read themselves (a run's switches, mostly given with -e): not checked
# by the engine, listed so that a misspelt portmatrix_* variable can be told from them.
RUN_VARIABLES = collections.OrderedDict([
    ("portmatrix_site_hosts", "site, drift, remove: the hosts of the play (default all), like --limit."),
    ("portmatrix_rollout_canary", "site, drift: how many hosts go first (default 1; 0: no canary)."),
    ("portmatrix_rollout_staged", "site, drift: V(false) changes every host at once instead of in waves."),
    ("portmatrix_max_fail_percentage", "site, drift: go on while at most this % of a wave failed (default 0)."),
    ("portmatrix_enforce", "drift: V(true) corrects the drift instead of reporting it."),
    ("portmatrix_drift_report", "drift: also write the report as JSON to this path."),
    ("portmatrix_flows_dir", "flows: the directory of the flows files (default C(portmatrix-flows))."),
    ("portmatrix_verify_timeout", "verify: seconds per probe (default 3)."),
    ("portmatrix_verify_fail", "verify: V(false) only reports, without failing on a refused flow."),
    ("portmatrix_verify_report", "verify: the HTML report's path (default C(portmatrix-verify.html))."),
])
# What the playbooks register or set (they are among a host's variables), and the test lab's own
# host variables (lab/): known names too.
RESULT_VARIABLES = ("portmatrix_firewall", "portmatrix_plan", "portmatrix_rollout", "portmatrix_roles",
                    "portmatrix_drift")
KNOWN_PREFIXES = ("portmatrix_lab_",)


def unknown_variables(names):
    """[(name, the closest known name or None)] for the portmatrix_* names no table knows."""
    known = list(SETTINGS) + list(RUN_VARIABLES) + list(RESULT_VARIABLES)
    found = []
    for name in names:
        if (name.startswith("portmatrix_") and name not in SETTINGS and name not in RUN_VARIABLES
                and name not in RESULT_VARIABLES and not name.startswith(KNOWN_PREFIXES)):
            # compared without the common prefix, which would make every name look close
            close = difflib.get_close_matches(name[11:], [k[11:] for k in known], n=1, cutoff=0.75)
            found.append((name, "portmatrix_" + close[0] if close else None))
    return found


ESTATE_SETTINGS = tuple(n for n, s in SETTINGS.items() if s.scope == "estate")
HOST_SETTINGS = tuple(n for n, s in SETTINGS.items() if s.scope == "host")
FLOWS_SETTINGS = ("portmatrix_flows_formats", "portmatrix_aerleon_zones", "portmatrix_aerleon_targets")
_MISSING = object()


def _type_name(value):
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "the number %d" % value
    if isinstance(value, str):
        return "the string %r" % (value,)
    if isinstance(value, dict):
        return "a dictionary"
    if isinstance(value, (list, tuple)):
        return "a list"
    if value is None:
        return "nothing (null)"
    return "a %s" % type(value).__name__


class _Bad(ValueError):
    pass


def _bool(value, name):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.strip().lower() in ("true", "yes", "on", "1")
    raise _Bad("must be true or false, got %s" % _type_name(value))


def _str(value, name):
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise _Bad("must be a name, got %s" % _type_name(value))
    return str(value).strip()


def _list(value, name, example):
    """Every list setting takes one item written alone too (pool_a is [pool_a]), as
    portmatrix_addresses and portmatrix_groups always have; a string with commas is
    refused rather than guessed at."""
    if isinstance(value, str) and "," in value:
        raise _Bad("is one string with commas (%r): write a YAML list, for example %s" % (value, example))
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise _Bad("must be a list, for example %s, got %s" % (example, _type_name(value)))
    return list(value)


def _str_list(value, name):
    items = _list(value, name, "[%s]" % (", ".join(n.strip() for n in value.split(","))
                                         if isinstance(value, str) and value.strip() else "prod1, prod2"))
    for item in items:
        if isinstance(item, (dict, list, tuple, bool)) or item is None or not str(item).strip():
            raise _Bad("must be a list of names, got an item that is %s" % _type_name(item))
    return [str(item).strip() for item in items]


def _port(value, name):
    try:
        return matrix.check_port(value)
    except matrix.MatrixError as exc:
        raise _Bad(str(exc))


def _families(value, name):
    items = _list(value, name, "[4]" if str(value).strip() == "4" else "[4, 6]")
    found = []
    for item in items:
        if isinstance(item, bool) or str(item).strip() not in ("4", "6"):
            raise _Bad("must be a list of 4 and/or 6, got an item that is %s" % _type_name(item))
        if int(item) not in found:
            found.append(int(item))
    if not found:
        raise _Bad("must name at least one address family, 4 or 6")
    return sorted(found)


def _addresses(value, name):
    # One entry or a list of entries; resolved by the engine, which knows the host.
    if value is None:
        return None
    items = _list(value, name, "[192.0.2.10, 2001:db8::10]")
    entries = []
    for item in items:
        if isinstance(item, (dict, list, tuple, bool)) or item is None or not str(item).strip():
            raise _Bad("must be a list of addresses, networks or names, got an item that is %s" % _type_name(item))
        entries.append(_address_text(str(item).strip()))
    return entries


_NUMERIC_ADDRESS = re.compile(r"^[0-9.]+$|:")


def _address_text(text):
    """An entry that is written as an address or a network (a '/', all digits and dots, or a ':')
    must be one: a name never looks like that, and a resolver would only say it does not resolve."""
    if "/" not in text and not _NUMERIC_ADDRESS.search(text):
        return text  # a name, resolved by the engine
    address, _slash, prefix = text.partition("/")
    try:
        version = ipaddress.ip_address(u"%s" % address).version
    except ValueError:
        raise _Bad("%r is not an IPv4/IPv6 address%s" % (address, " (in %r)" % text if prefix else ""))
    most = 32 if version == 4 else 128
    if prefix.isdigit() and int(prefix) > most:
        raise _Bad("%r: the prefix length of an IPv%d network is 0 to %d, not %s" % (text, version, most, prefix))
    try:
        ipaddress.ip_network(u"%s" % text, strict=False)
    except ValueError:
        raise _Bad("%r is not an IPv%d network (ADDRESS/PREFIX-LENGTH)" % (text, version))
    return text


def _features(value, name):
    items = _str_list(value, name)
    for item in items:
        try:
            matrix.check_feature(item)
        except matrix.MatrixError as exc:
            raise _Bad(str(exc))
    return items


def _one_of(value, name, choices):
    text = _str(value, name)
    if text not in choices:
        raise _Bad("must be one of %s, got %r" % (", ".join(choices), text))
    return text


def _backend(value, name):
    return _one_of(value, name, BACKENDS)


def _groups(value, name):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Bad("must be a dictionary from component to inventory group, for example "
                   "{pool_host: xen_prod, nfs_filer: [netapp, linux_nfs]}, got %s" % _type_name(value))
    found = collections.OrderedDict()
    for component, groups in value.items():
        try:
            matrix.check_component(component)
        except matrix.MatrixError as exc:
            raise _Bad(str(exc))
        names = [groups] if isinstance(groups, str) else groups
        if not isinstance(names, (list, tuple)) or not names:
            raise _Bad("%s: must be a group name or a list of group names, got %s" % (component, _type_name(groups)))
        for group in names:
            if not isinstance(group, str) or not _GROUP_NAME.match(group.strip()):
                raise _Bad("%s: %r is not an inventory group name" % (component, group))
        found[component] = [g.strip() for g in names]
    return found


def _nfsv3_ports(value, name):
    if value is None or value == {} or value == []:
        return {}
    if not isinstance(value, dict):
        raise _Bad("must be a dictionary with keys %s (or {} to leave them unpinned), got %s"
                   % (", ".join(NFSV3_PORT_KEYS), _type_name(value)))
    found = collections.OrderedDict()
    for key, port in value.items():
        if key not in NFSV3_PORT_KEYS:
            raise _Bad("unknown key %r; valid keys: %s" % (key, ", ".join(NFSV3_PORT_KEYS)))
        if port is None:
            continue
        try:
            found[key] = matrix.check_port(port)
        except matrix.MatrixError as exc:
            raise _Bad("%s: %s" % (key, exc))
    return found


def _nfs_appliance(value, name):
    text = _str(value, name).lower()
    if text not in NFS_APPLIANCES:
        raise _Bad("must be one of %s, got %r (any other appliance: state its ports in portmatrix_nfsv3_ports)"
                   % (", ".join(NFS_APPLIANCES), text))
    return text


def nfs_appliance_ports(appliance):
    """The NFSv3 side ports of an appliance profile (portmatrix_nfsv3_ports' form)."""
    ports = NFS_APPLIANCES[appliance]
    return _copy(ports if ports is not None else SETTINGS["portmatrix_nfsv3_ports"].default)


def _extra_rules(value, name):
    rules = _list(value, name, "[{name: backup, sources: [192.0.2.0/24], ports: [10809]}]")
    checked = []
    for index, rule in enumerate(rules):
        where = "item %d" % (index + 1)
        if not isinstance(rule, dict):
            raise _Bad("%s must be a dictionary with name, sources, protocol and ports, got %s"
                       % (where, _type_name(rule)))
        unknown = sorted(set(rule) - set(["name", "sources", "protocol", "ports"]))
        if unknown:
            raise _Bad("%s: unknown key(s) %s; valid: name, sources, protocol, ports" % (where, ", ".join(unknown)))
        try:
            checked.append({
                "name": _str(rule.get("name"), name),
                "sources": _addresses(rule.get("sources", []), name) or [],
                "protocol": matrix.check_protocol(rule.get("protocol", "tcp")),
                "ports": [matrix.check_port(p) for p in _list(rule.get("ports"), name, "[10809]")],
            })
        except (matrix.MatrixError, _Bad) as exc:
            raise _Bad("%s: %s" % (where, exc))
    return checked


def _migration_pools(value, name):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Bad("must be a dictionary from a sending pool to the pool(s) it migrates to, for example "
                   "{poolB: [poolA]}, got %s" % _type_name(value))
    found = collections.OrderedDict()
    for pool, targets in value.items():
        names = _str_list(targets, name)
        if str(pool).strip() in names:
            raise _Bad("%s: a pool does not migrate to itself (same-pool 443 is always allowed)" % pool)
        found[_str(pool, name)] = sorted(set(names))
    return found


def _platform(value, name):
    return _one_of(value, name, PLATFORMS)


def _seconds(value, name):
    if isinstance(value, bool) or not str(value).strip().isdigit() or int(str(value).strip()) > 3600:
        raise _Bad("must be a whole number of seconds from 0 to 3600, got %s" % _type_name(value))
    return int(str(value).strip())


def _count(value, name):
    if isinstance(value, bool) or not str(value).strip().isdigit() or int(str(value).strip()) < 1:
        raise _Bad("must be a whole number, 1 or more, got %s" % _type_name(value))
    return int(str(value).strip())


def _plan(value, name):
    if not isinstance(value, dict):
        raise _Bad("must be the plan (a dictionary, from the plan playbook), got %s" % _type_name(value))
    return value


FLOWS_FORMATS = ("csv", "json", "md", "aerleon")
_TARGET_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _flows_formats(value, name):
    items = _str_list(value, name)
    for item in items:
        if item not in FLOWS_FORMATS:
            raise _Bad("must be a list of %s, got %r" % (", ".join(FLOWS_FORMATS), item))
    return items


def _aerleon_zones(value, name):
    if not isinstance(value, dict):
        raise _Bad("must be a dictionary from zone name to components, for example "
                   "{storage: [nfs_filer, iscsi_target]}, got %s" % _type_name(value))
    zones, seen = collections.OrderedDict(), {}
    for zone, components in value.items():
        zone = _str(zone, name)
        components = _str_list(components, name)
        for component in components:
            try:
                matrix.check_component(component)
            except matrix.MatrixError as exc:
                raise _Bad("%s: %s" % (zone, exc))
            if component in seen:
                raise _Bad("%s is in zones %s and %s: a component goes into one policy" % (component, seen[component], zone))
            seen[component] = zone
        zones[zone] = components
    return zones


def _aerleon_targets(value, name):
    if not isinstance(value, dict):
        raise _Bad("must be a dictionary from Aerleon target to its options, for example "
                   "{nftables: mixed forward}, got %s" % _type_name(value))
    targets = collections.OrderedDict()
    for target, options in value.items():
        if not isinstance(target, str) or not _TARGET_NAME.match(target) or isinstance(options, (dict, list, bool)):
            raise _Bad("%r: must be an Aerleon target name with its options as one string" % (target,))
        targets[target] = "" if options is None else str(options)
    return targets


_CHECKS = {
    "bool": _bool, "str": _str, "str_list": _str_list, "port": _port, "families": _families,
    "addresses": _addresses, "features": _features, "backend": _backend, "groups": _groups,
    "nfsv3_ports": _nfsv3_ports, "extra_rules": _extra_rules, "seconds": _seconds,
    "nfs_appliance": _nfs_appliance,
    "flows_formats": _flows_formats, "aerleon_zones": _aerleon_zones, "aerleon_targets": _aerleon_targets,
}

_CHECKS.update({"migration_pools": _migration_pools, "platform": _platform})  # the platforms' settings
_CHECKS.update({"count": _count, "plan": _plan})  # the plan playbook's (plugin_utils/plan_file.py)


def check(name, value):
    """The checked value of one variable; _Bad (a ValueError) with the reason otherwise."""
    return _CHECKS[SETTINGS[name].kind](value, name)


def read(host, raw, names=None):
    """Checked settings of one host: {name: value}, the default where raw has none.

    raw maps variable names to values (what the host's variables hold).  Every problem
    is collected and raised at once as SettingsError, each message naming the host
    and the variable."""
    errors = []
    values = collections.OrderedDict()
    for name in names or SETTINGS:
        value = raw.get(name, _MISSING)
        if value is _MISSING:
            values[name] = _copy(SETTINGS[name].default)
            continue
        try:
            values[name] = check(name, value)
        except _Bad as exc:
            errors.append("%s: %s %s" % (host, name, exc))
    for old, new in RENAMED.items():
        if raw.get(old, _MISSING) is not _MISSING:
            errors.append("%s: %s is no longer read; use %s" % (host, old, new))
    if errors:
        raise SettingsError(errors)
    return values


def _copy(value):
    if isinstance(value, dict):
        return collections.OrderedDict((k, _copy(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def group_map(groups_setting):
    """component -> [inventory groups]: the defaults, with portmatrix_groups merged over them."""
    found = collections.OrderedDict((c, [g]) for c, g in default_groups().items())
    found.update(groups_setting or {})
    return found
