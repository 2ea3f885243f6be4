# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a host's firewall must allow, computed from the matrix; no I/O, no Ansible.

The plan is backend-neutral: source groups (a set of addresses and the ports they may
reach) plus the ports that nobody else may reach.  Backends turn it into iptables
chains or firewalld objects.  Rules therefore grow with addresses plus ports, never
addresses times ports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import ipaddress
import re

from ansible_collections.portmatrix.xenserver.plugins.module_utils import matrix

POOL_MEMBER = "pool_member"
MIGRATION_PEER = "migration_peer"  # hosts of the pools that migrate to this host's pool
DEFAULT_PUBLIC_PORTS = ("22/tcp", "80/tcp", "443/tcp")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,19}$")

SourceGroup = collections.namedtuple("SourceGroup", ["name", "networks", "ports", "flows", "port_flows"])
# networks: {4: [str], 6: [str]}; ports: {"tcp": (int, ...), "udp": (...)}; flows: (flow ids);
# port_flows: {"tcp": {port: (flow ids that need it)}, ...}, for comments naming the flows of a rule
Plan = collections.namedtuple("Plan", ["groups", "restricted", "guards", "families"])
# groups: tuple of SourceGroup; restricted: {"tcp": (...), "udp": (...)};
# guards: tuple of Guard, accepted first; families: families with any address
Guard = collections.namedtuple("Guard", ["network", "family", "port"])
# network: canonical network str; family: 4 or 6; port: the controller's SSH port
PlannedFlow = collections.namedtuple("PlannedFlow", ["flow", "ports"])
# flow: a matrix.Flow; ports: {protocol: (ports)}, after every switch and override


class PlanError(ValueError):
    """Bad input: raised before anything is changed."""


def _text(value):
    # Python 3.6 targets: values arrive as str; keep this free of Ansible converters.
    return str(value).strip()


def parse_network(value):
    """An IPv4/IPv6 address or CIDR network as a canonical network string and family."""
    text = _text(value)
    try:
        network = ipaddress.ip_network(u"%s" % text, strict=False)
    except ValueError:
        raise PlanError("%r is not an IPv4/IPv6 address or network (names are resolved on the "
                        "controller: pass addresses)" % (value,))
    return str(network), network.version


def parse_port_spec(value):
    """'443/tcp' -> (443, 'tcp')."""
    text = _text(value).lower()
    if "/" not in text:
        raise PlanError("bad port spec %r: write PORT/PROTOCOL, for example 443/tcp" % (value,))
    port, protocol = text.split("/", 1)
    try:
        return matrix.check_port(port), matrix.check_protocol(protocol)
    except matrix.MatrixError as exc:
        raise PlanError("bad port spec %r: %s" % (value, exc))


def parse_nfsv3_ports(values):
    """Pinned NFSv3 side ports: 'PORT' (TCP and UDP) or 'PORT/PROTOCOL' -> {protocol: [ports]}.

    lockd listens on different TCP and UDP ports, so each can be named for one protocol."""
    found = dict((protocol, []) for protocol in matrix.PROTOCOLS)
    for value in values or []:
        text = _text(value)
        try:
            if "/" in text:
                port, protocol = parse_port_spec(text)
                protocols = [protocol]
            else:
                port, protocols = matrix.check_port(text), list(matrix.PROTOCOLS)
        except (matrix.MatrixError, PlanError) as exc:
            raise PlanError("nfsv3_ports: %s" % exc)
        for protocol in protocols:
            found[protocol].append(port)
    return found


def _networks(addresses, where):
    found = {4: [], 6: []}
    for address in addresses or []:
        try:
            network, family = parse_network(address)
        except PlanError as exc:
            raise PlanError("%s: %s" % (where, exc))
        if network not in found[family]:
            found[family].append(network)
    return {family: sorted(nets, key=_network_key) for family, nets in found.items()}


def _network_key(text):
    network = ipaddress.ip_network(u"%s" % text)
    return (int(network.network_address), network.prefixlen)


def _add_ports(ports_by_proto, protocols, ports):
    for protocol in protocols:
        ports_by_proto.setdefault(protocol, set()).update(ports)


def _frozen_ports(ports_by_proto):
    return collections.OrderedDict(
        (protocol, tuple(sorted(ports_by_proto[protocol])))
        for protocol in matrix.PROTOCOLS if ports_by_proto.get(protocol))


def _frozen_port_flows(port_flows):
    return collections.OrderedDict(
        (protocol, collections.OrderedDict((port, tuple(sorted(ids))) for port, ids in sorted(port_flows[protocol].items())))
        for protocol in matrix.PROTOCOLS if port_flows.get(protocol))


def active_flows(components, features=(), skip_features=(), clustered=False):
    """The matrix flows whose destination this host plays, after feature switches."""
    for component in components:
        try:
            matrix.check_component(component)
        except matrix.MatrixError as exc:
            raise PlanError(str(exc))
    for feature in list(features) + list(skip_features):
        try:
            matrix.check_feature(feature)
        except matrix.MatrixError as exc:
            raise PlanError(str(exc))
    flows = []
    for flow in matrix.FLOWS:
        if flow.destination not in components:
            continue
        if flow.optional and flow.feature not in features:
            continue
        if flow.feature in skip_features:
            continue
        if flow.scope == "clustered_pool" and not clustered:
            continue
        flows.append(flow)
    return flows


def _port_options(port_options):
    options = dict(matrix.PORT_OPTIONS)
    options.update(dict((k, v) for k, v in (port_options or {}).items() if v is not None))
    for key in options:
        if key not in matrix.PORT_OPTIONS:
            raise PlanError("unknown port option %r; valid: %s" % (key, ", ".join(matrix.PORT_OPTIONS)))
    return options


def planned_flows(components, clustered=False, features=(), skip_features=(), https_only=False,
                  port_options=None, nfsv3_ports=None):
    """The flows to this host with their concrete ports per protocol, after every switch
    and override: [PlannedFlow(flow, {protocol: (ports)})].  The module's plan and the roles' flow
    listings (the planned_flows filter) both come from here."""
    options = _port_options(port_options)
    nfsv3 = parse_nfsv3_ports(nfsv3_ports)
    planned = []
    for flow in active_flows(components, features, skip_features, clustered):
        by_protocol = collections.OrderedDict()
        for protocol in flow.protocols:
            try:
                ports = matrix.flow_ports(flow, options, nfsv3[protocol])
            except matrix.MatrixError as exc:
                raise PlanError("flow %s: %s" % (flow.id, exc))
            if https_only and "port_80_closable" in flow.notes:
                ports = tuple(p for p in ports if p != 80)
            if ports:
                by_protocol[protocol] = ports
        if by_protocol:
            planned.append(PlannedFlow(flow, by_protocol))
    return planned


class _GroupDraft:
    """A source group while the plan is built; frozen into a SourceGroup at the end."""

    def __init__(self, networks):
        self.networks = networks   # {4: [str], 6: [str]}
        self.ports = {}            # protocol -> set of ports
        self.flows = []            # flow ids, in the order they were served
        self.port_flows = {}       # protocol -> {port: set of flow ids}

    def frozen(self, name):
        return SourceGroup(name, self.networks, _frozen_ports(self.ports), tuple(self.flows),
                           _frozen_port_flows(self.port_flows))


class _PlanDraft:
    """The source groups by name (in the order they first appear) and every port this host serves."""

    def __init__(self):
        self.groups = collections.OrderedDict()
        self.served = {}           # protocol -> set of ports: every port this host serves in the plan

    def group(self, name, addresses, where):
        """The group called name, made from addresses (where: the argument they came from) if new."""
        if name not in self.groups:
            self.groups[name] = _GroupDraft(_networks(addresses, where))
        return self.groups[name]

    def serve(self, group, flow_id, by_protocol):
        """Let group reach the ports of one flow ({protocol: ports})."""
        for protocol, ports in by_protocol.items():
            _add_ports(group.ports, [protocol], ports)
            _add_ports(self.served, [protocol], ports)
            for port in ports:
                group.port_flows.setdefault(protocol, {}).setdefault(port, set()).add(flow_id)
        group.flows.append(flow_id)

    def source_groups(self):
        return tuple(group.frozen(name) for name, group in self.groups.items())


def _check_peer_components(peers):
    for component in peers:
        try:
            matrix.check_component(component)
        except matrix.MatrixError as exc:
            raise PlanError("peers: %s" % exc)


def _serve_unclustered(draft, components, features, skip_features, options):
    """Clustering ports of a pool that is not clustered are served to nobody: no cluster daemon
    listens there, and stock dom0 rules would leave them open to everyone (they are restricted)."""
    for flow in active_flows(components, features, skip_features, clustered=True):
        if flow.scope != "clustered_pool":
            continue
        try:
            _add_ports(draft.served, flow.protocols, matrix.flow_ports(flow, options))
        except matrix.MatrixError as exc:
            raise PlanError("flow %s: %s" % (flow.id, exc))


def _serve_flows(draft, planned, peers, pool_peers, migration_peers=None):
    """Each planned flow to the group of its source: the pool's members for intra-pool flows,
    the hosts of the pools that migrate here for cross-pool migration, else the hosts playing
    the source component."""
    for flow, by_protocol in planned:
        if flow.source == "pool_host" and flow.scope in ("same_pool", "clustered_pool"):
            group = draft.group(POOL_MEMBER, pool_peers, "pool_peers")
        elif flow.scope == "migrating_pools":
            group = draft.group(MIGRATION_PEER, migration_peers, "migration_peers")
        else:
            group = draft.group(flow.source, peers.get(flow.source), "peers.%s" % flow.source)
        draft.serve(group, flow.id, by_protocol)


def _serve_extra_rules(draft, extra_rules):
    """Each extra rule is a group of its own, named by the rule."""
    for rule in extra_rules or []:
        name = _text(rule.get("name", ""))
        if not _NAME_RE.match(name) or name in matrix.COMPONENTS or name in (POOL_MEMBER, MIGRATION_PEER):
            raise PlanError("extra rule name %r: use 1-20 of a-z, 0-9, _ (starting with a letter), "
                            "not a component name" % (name,))
        if name in draft.groups:
            raise PlanError("extra rule name %r is used twice" % (name,))
        try:
            protocol = matrix.check_protocol(rule.get("protocol", "tcp"))
            ports = [matrix.check_port(p) for p in (rule.get("ports") or [])]
        except matrix.MatrixError as exc:
            raise PlanError("extra rule %s: %s" % (name, exc))
        if not ports:
            raise PlanError("extra rule %s: no ports" % name)
        group = draft.group(name, rule.get("sources"), "extra rule %s" % name)
        draft.serve(group, "extra:%s" % name, {protocol: ports})


def _restricted_ports(served, public_ports):
    """The served ports nobody else may reach: all but the public ones."""
    public = set(parse_port_spec(p) for p in (public_ports or []))
    restricted = {}
    for protocol, ports in served.items():
        keep = set(p for p in ports if (p, protocol) not in public)
        if keep:
            restricted[protocol] = keep
    return restricted


def _guard_rules(guards):
    """(address, port) pairs as Guards, each once, in the order given."""
    rules = []
    for address, port in guards or ():
        try:
            network, family = parse_network(address)
            rule = Guard(network, family, matrix.check_port(port))
        except (PlanError, matrix.MatrixError) as exc:
            raise PlanError("guard: %s" % exc)
        if rule not in rules:
            rules.append(rule)
    return tuple(rules)


def build_plan(components, peers=None, pool_peers=None, clustered=False, features=(),
               skip_features=(), https_only=False, port_options=None, nfsv3_ports=None,
               extra_rules=None, reject_unmatched=True, public_ports=DEFAULT_PUBLIC_PORTS,
               guards=(), migration_peers=None):
    """Compute the Plan for one host.

    components: what this host plays (destinations).  peers: component -> addresses of
    the hosts playing it.  pool_peers: addresses of this host's own pool members (for
    same-pool and clustered-pool flows).  migration_peers: addresses of the hosts of the
    pools that migrate to this host's pool (the migrating_pools scope).  extra_rules: dicts with name, sources,
    protocol, ports.  guards: (address, port) pairs of the controllers' SSH, kept
    reachable whatever else the plan says.
    """
    peers = peers or {}
    _check_peer_components(peers)
    options = _port_options(port_options)
    draft = _PlanDraft()
    if not clustered:
        _serve_unclustered(draft, components, features, skip_features, options)
    _serve_flows(draft, planned_flows(components, clustered, features, skip_features, https_only, port_options,
                                      nfsv3_ports), peers, pool_peers, migration_peers)
    _serve_extra_rules(draft, extra_rules)
    restricted = _restricted_ports(draft.served, public_ports) if reject_unmatched else {}
    guard_rules = _guard_rules(guards)
    groups = draft.source_groups()
    families = tuple(f for f in (4, 6) if any(g.networks[f] for g in groups))
    return Plan(groups, _frozen_ports(restricted), guard_rules, families)


def rule_summary(plan):
    """Counts for reports: addresses per family and ports, as the backends will lay them out."""
    return {
        "groups": len(plan.groups),
        "addresses": dict((f, sum(len(g.networks[f]) for g in plan.groups)) for f in (4, 6)),
        "ports": sum(len(p) for g in plan.groups for p in g.ports.values()),
        "restricted_ports": sum(len(p) for p in plan.restricted.values()),
    }
