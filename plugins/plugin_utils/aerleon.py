# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate's flows as an Aerleon policy, and the check of a network team's policy against them.

Aerleon (https://github.com/aerleon/aerleon, the successor of Capirca) compiles named networks,
named services and policies of terms into ACLs for many platforms.  export() writes its YAML
formats (aerleon/aerleon: docs/reference/yaml_reference.md for policies, docs/reference/naming.md
for the definitions):

- def/portmatrix-networks.yaml: one network per component and per resource pool (the hosts'
  addresses, IPv4 and IPv6), and per host or extra rule where a term needs it;
- def/portmatrix-services.yaml: one service per matrix flow id, with its ports and protocols as
  the inventory sets them (a flow whose ports differ between hosts gets one service per variant);
- policies/pol/portmatrix-<zone>.yaml: one policy per destination component, or per zone the
  user names, with one accept term per flow; aclgen looks for policies in `pol` directories.

check() reads a policy directory of that layout (the team's, with their own files beside ours)
and lists the flows of the estate it does not accept (missing) and what its accept terms allow
beyond them (extra).  Pure: plain data and text in and out, PyYAML only (Ansible needs it); the
collection never needs Aerleon itself.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import ipaddress
import json
import os
import re

import yaml

from ansible_collections.portmatrix.xenserver.plugins.module_utils import matrix

NETWORKS_FILE = "def/portmatrix-networks.yaml"
SERVICES_FILE = "def/portmatrix-services.yaml"
POLICY_DIR = "policies/pol"
# aerleon/aerleon aerleon/lib/naming.py: token_re is [-_A-Z0-9]+; lib/iptables.py: _TERM_MAX_LENGTH 24
# (the shortest limit of the targets here; speedway shares it).
TERM_MAX = 24
# The targets a policy is written for unless portmatrix_aerleon_targets says otherwise ({policy} is
# the policy's name).  Header options: aerleon/aerleon docs/reference/generators.md.
DEFAULT_TARGETS = collections.OrderedDict([
    ("nftables", "mixed forward"),
    ("speedway", "FORWARD DROP"),
    ("juniper", "{policy} mixed"),
    ("cisco", "{policy} mixed"),
])
POOL_SCOPES = ("same_pool", "clustered_pool")
Term = collections.namedtuple("Term", [
    "policy", "name", "flow", "comment", "sources", "destinations", "service", "protocols", "ports"])
# sources / destinations: network names; ports: {protocol: (port, ...)}


def token(*parts):
    """An Aerleon name: upper case, [A-Z0-9_]."""
    return re.sub(r"[^A-Z0-9]+", "_", "_".join(str(p) for p in parts).upper()).strip("_")


class _Names:
    """Names for values: the first value of a base name gets the base name, others _2, _3..."""

    def __init__(self):
        self.values = collections.OrderedDict()  # name -> value
        self._by_value = {}

    def name(self, base, value):
        key = (base, value)
        if key not in self._by_value:
            name, index = base, 1
            while name in self.values:
                index += 1
                name = "%s_%d" % (base, index)
            self.values[name] = value
            self._by_value[key] = name
        return self._by_value[key]


def _term_name(flow, taken):
    base = re.sub(r"[^a-z0-9]+", "-", flow.replace("extra:", "extra-").lower()).strip("-")[:TERM_MAX]
    name, index = base, 1
    while name in taken:
        index += 1
        suffix = "-%d" % index
        name = base[:TERM_MAX - len(suffix)] + suffix
    taken.add(name)
    return name


def _zone_of(zones):
    found = {}
    for zone, components in (zones or {}).items():
        for component in components:
            found[component] = zone
    return found


def _policy_name(zone):
    return "portmatrix-" + re.sub(r"[^a-z0-9]+", "-", str(zone).lower()).strip("-")


def build(estate, dest_flows, zones=None):
    """The terms, networks and services of the estate's flows.

    dest_flows: engine.destination_flows().  zones: {zone: [components]}; a destination
    component in no zone gets a policy of its own.  Returns (terms, networks, services):
    networks {name: [(address, comment)]}, services {name: [(port, protocol)]}."""
    zone_of = _zone_of(zones)
    hosts = estate.hosts
    of_component = dict((c, tuple(h.name for h in hosts.values() if c in h.components)) for c in estate.group_map)
    networks, services = _Names(), _Names()

    def host_network(names, base):
        entries = tuple((a, n) for n in names for a in hosts[n].addresses)
        return networks.name(base, entries)

    # (flow, source key, dst) -> {protocol: ports}, in the engine's order
    per_dst = collections.OrderedDict()
    info = {}
    for f in dest_flows:
        if f.sources[:1] == ("",):
            src_key = ("extra", f.flow, f.sources[1:])
        elif f.scope in POOL_SCOPES:
            src_key = ("pool", hosts[f.dst].pool)
        else:
            src_key = ("component", f.src_component)
        key = (f.flow, src_key, f.dst)
        per_dst.setdefault(key, collections.OrderedDict())[f.proto] = f.ports
        info[key] = f
    grouped = collections.OrderedDict()  # (policy, flow, source key, ports) -> [dst hosts]
    for (flow, src_key, dst), ports in per_dst.items():
        f = info[(flow, src_key, dst)]
        zone = zone_of.get(f.dst_component) or f.dst_component or "extra_rules"
        frozen = tuple((p, tuple(ports[p])) for p in sorted(ports))
        grouped.setdefault((_policy_name(zone), flow, src_key, frozen), []).append(dst)
    terms, taken = [], {}
    for (policy, flow, src_key, frozen), dsts in grouped.items():
        f = info[(flow, src_key, dsts[0])]
        src_names = () if src_key[0] == "extra" else tuple(estate.pool_members.get(src_key[1], ())) \
            if src_key[0] == "pool" else of_component.get(src_key[1], ())
        if src_key[0] != "extra" and not set(src_names) - (set(dsts) if len(dsts) == 1 else set()):
            continue  # no source host, or a host that would be its own source (a pool of one)
        if src_key[0] == "extra":
            sources = [networks.name(token("PMX_EXTRA", flow[6:]), tuple((a, flow) for a in src_key[2]))]
        else:
            sources = [host_network(src_names, token("PMX_RESOURCE_POOL" if src_key[0] == "pool" else "PMX",
                                                     src_key[1]))]
        if src_key[0] == "pool" and tuple(dsts) == src_names:
            destinations = sources
        elif src_key[0] != "pool" and f.dst_component and tuple(dsts) == of_component.get(f.dst_component):
            destinations = [host_network(dsts, token("PMX", f.dst_component))]
        else:
            destinations = [host_network((d,), token("PMX_HOST", d)) for d in dsts]
        service = services.name(token("PMX", flow.replace("extra:", "extra_")),
                                tuple((port, proto) for proto, ports in frozen for port in ports))
        terms.append(Term(policy, _term_name(flow, taken.setdefault(policy, set())), flow,
                          _comment(f, src_key, estate), sources, destinations, service,
                          [p for p, ports in frozen], dict(frozen)))
    return terms, networks.values, services.values


def _comment(f, src_key, estate):
    """One line (nftables takes one comment per chain, at most 128 bytes): the matrix row, who
    it comes from and where the row comes from."""
    row = matrix.FLOWS_BY_ID.get(f.flow)
    if src_key[0] == "extra":
        text = "%s: from %s" % (f.flow, " ".join(src_key[2]))
    else:
        groups = "/".join(estate.group_map.get(f.src_component, [f.src_component]))
        text = "matrix row %s from %s%s" % (f.flow, groups, " in pool %s" % src_key[1] if src_key[0] == "pool" else "")
    if row is not None:
        text += "; " + ("vendor port table" if row.source_ref == matrix.VENDOR_SOURCE else row.source_ref.split(",")[0])
    return text.replace('"', "'")[:120]


class _Dumper(yaml.SafeDumper):
    """Ordered mappings as plain YAML mappings (a subclass: the global SafeDumper stays as it is)."""


_Dumper.add_representer(collections.OrderedDict, lambda dumper, data: dumper.represent_dict(data.items()))
# Ansible's strings are str subclasses (AnsibleUnsafeText), which SafeDumper refuses
_Dumper.add_multi_representer(str, lambda dumper, data: dumper.represent_str(str(data)))


def _dump(data):
    return yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False, width=1000)


def export(estate, dest_flows, zones=None, targets=None):
    """{relative path: text} of the export (see the module's docstring)."""
    terms, networks, services = build(estate, dest_flows, zones)
    header = ("Generated by portmatrix.xenserver (flows playbook) from the XenServer port matrix and the inventory. "
              "Replace the file with a new export; do not edit it.\n")
    files = collections.OrderedDict()
    files[NETWORKS_FILE] = "# " + header + _dump({"networks": collections.OrderedDict(
        (name, {"values": [{"address": a, "comment": c} for a, c in entries]}) for name, entries in networks.items())})
    files[SERVICES_FILE] = "# " + header + _dump({"services": collections.OrderedDict(
        (name, [{"port": port, "protocol": proto} for port, proto in entries]) for name, entries in services.items())})
    by_policy = collections.OrderedDict()
    for term in terms:
        by_policy.setdefault(term.policy, []).append(term)
    for policy, items in by_policy.items():
        wanted = targets if targets else DEFAULT_TARGETS
        data = {"filters": [{
            # one line of at most 128 bytes: what nftables takes as a chain's comment
            "header": {"comment": ("portmatrix.xenserver: flows into %s, from the XenServer port matrix and the "
                                   "inventory" % policy[len("portmatrix-"):])[:120],
                       "targets": collections.OrderedDict((t, str(o).replace("{policy}", policy))
                                                          for t, o in wanted.items())},
            "terms": [collections.OrderedDict([
                ("name", t.name), ("comment", t.comment), ("source-address", " ".join(t.sources)),
                ("destination-address", " ".join(t.destinations)), ("protocol", " ".join(t.protocols)),
                ("destination-port", t.service), ("action", "accept")]) for t in items],
        }]}
        files["%s/%s.yaml" % (POLICY_DIR, policy)] = "# " + header + _dump(data)
    return files


# ---- the check of a policy directory --------------------------------------------------------

class PolicyError(ValueError):
    """The policy directory cannot be read; the message names the file."""


ANY = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


def _words(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for item in value for v in str(item).split()]
    return str(value).split()


def _load_yaml(path):
    try:
        with open(path) as handle:
            return yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError("%s: %s" % (path, exc))


class Definitions:
    """Networks and services of every def/*.yaml of a policy directory, names resolved."""

    def __init__(self, directory):
        self.networks, self.services = {}, {}
        def_dir = os.path.join(directory, "def")
        if not os.path.isdir(def_dir):
            raise PolicyError("%s: no def directory (Aerleon's network and service definitions)" % directory)
        for name in sorted(os.listdir(def_dir)):
            if name.endswith((".yaml", ".yml")):
                data = _load_yaml(os.path.join(def_dir, name))
                self.networks.update(data.get("networks") or {})
                self.services.update(data.get("services") or {})

    def addresses(self, word, seen=()):
        try:
            return [ipaddress.ip_network(word, strict=False)]
        except ValueError:
            pass
        if word not in self.networks or word in seen:
            raise PolicyError("network %s is not defined (or refers to itself)" % word)
        found = []
        for item in (self.networks[word] or {}).get("values") or []:
            if "address" in item:
                found.append(ipaddress.ip_network(str(item["address"]), strict=False))
            elif "name" in item:
                found.extend(self.addresses(str(item["name"]), seen + (word,)))
        return found

    def ports(self, word, seen=()):
        """[(port or (low, high), protocol)] of a service name or a port number."""
        if re.match(r"^\d+(-\d+)?$", word):
            low, dash, high = word.partition("-")
            return [((int(low), int(high or low)), None)]
        if word not in self.services or word in seen:
            raise PolicyError("service %s is not defined (or refers to itself)" % word)
        found = []
        for item in self.services[word] or []:
            if "name" in item:
                found.extend(self.ports(str(item["name"]), seen + (word,)))
                continue
            low, dash, high = str(item["port"]).partition("-")
            found.append(((int(low), int(high or low)), str(item["protocol"])))
        return found


def _policy_files(directory):
    base = os.path.join(directory, "policies")
    found = []
    for root, dirs, files in os.walk(base):
        dirs.sort()
        if os.path.basename(root) == "pol":
            found.extend(os.path.join(root, f) for f in sorted(files) if f.endswith((".yaml", ".yml")))
    return base, found


def _terms_of(base, path, depth=0):
    """Every term of a YAML policy or include file, includes resolved (Aerleon: relative to the base dir)."""
    data = _load_yaml(path)
    items = []
    for filt in data.get("filters") or data.get("filters_include_only") or []:
        items.extend(_include_terms(base, filt.get("terms") or [], depth) if "include" not in filt else
                     [t for path, t in _terms_of(base, os.path.join(base, filt["include"]), depth + 1)])
    if "terms" in data and not data.get("filters"):
        items.extend(_include_terms(base, data["terms"], depth))
    return [(path, t) for t in items]


def _include_terms(base, terms, depth):
    found = []
    for term in terms:
        if "include" in term:
            if depth >= 5:
                raise PolicyError("includes nested deeper than 5 (Aerleon's limit)")
            found.extend(t for path, t in _terms_of(base, os.path.join(base, term["include"]), depth + 1))
        else:
            found.append(term)
    return found


def _expand(defs, term):
    """(source networks, destination networks, [(protocol, (low, high))]) of a term."""
    src = [n for w in _words(term.get("source-address")) for n in defs.addresses(w)] or list(ANY)
    dst = [n for w in _words(term.get("destination-address")) for n in defs.addresses(w)] or list(ANY)
    protocols = _words(term.get("protocol")) or ["tcp", "udp"]
    ports = [p for w in _words(term.get("destination-port")) for p in defs.ports(w)] or [((1, 65535), None)]
    services = [(proto, rng) for proto in protocols for rng, p in ports if p in (None, proto)]
    return src, dst, services


def _within(inner, outer):
    return inner.version == outer.version and inner.subnet_of(outer)


def expected_atoms(estate, dest_flows, zones=None):
    """{(source, destination, protocol, port): term name} of the estate's flows as export() writes them."""
    terms, networks, services = build(estate, dest_flows, zones)
    atoms = collections.OrderedDict()
    for t in terms:
        for s in t.sources:
            for d in t.destinations:
                for sa, src_host in networks[s]:
                    for da, dst_host in networks[d]:
                        if family(sa) != family(da):
                            continue
                        for proto, ports in t.ports.items():
                            for port in ports:
                                atoms.setdefault((sa, da, proto, port), "%s/%s" % (t.policy, t.name))
    return atoms


def family(address):
    return 6 if ":" in address else 4


def check(directory, expected):
    """Compare the accept terms of a policy directory with expected_atoms().

    First match wins, as on a firewall: a flow is missing when no term, or a deny term
    before the accepting one, matches it.  An accept term's (source network, destination
    network, protocol, port range) is extra when no expected flow contains it whole.
    Returns {"missing": [...], "extra": [...], "terms": n, "flows": n}."""
    defs = Definitions(directory)
    base, files = _policy_files(directory)
    if not files:
        raise PolicyError("%s: no policies (Aerleon reads policies/**/pol/*.yaml)" % directory)
    rules = []
    for path in files:
        for source, term in _terms_of(base, path):
            options = _words(term.get("option"))
            if "established" in options or "tcp-established" in options:
                continue  # return traffic only: never lets a new flow in
            try:
                src, dst, services = _expand(defs, term)
            except PolicyError as exc:
                raise PolicyError("%s, term %s: %s" % (os.path.relpath(source, directory), term.get("name"), exc))
            rules.append((os.path.relpath(source, directory), str(term.get("name")),
                          str(term.get("action", "")).split()[0:1] == ["accept"], src, dst, services))
    parsed = [(ipaddress.ip_network(s), ipaddress.ip_network(d), proto, port, name)
              for (s, d, proto, port), name in expected.items()]
    missing = []
    for s, d, proto, port, name in parsed:
        verdict = None
        for file_name, term_name, accept, src, dst, services in rules:
            if (any(_within(s, n) for n in src) and any(_within(d, n) for n in dst)
                    and any(p == proto and lo <= port <= hi for p, (lo, hi) in services)):
                verdict = accept
                break
        if not verdict:
            missing.append({"term": name, "source": str(s), "destination": str(d), "protocol": proto, "port": port,
                            "denied_by": None if verdict is None else "a deny term"})
    extra = []
    for path, name, accept, src, dst, services in rules:
        if not accept:
            continue
        for sn in src:
            for dn in dst:
                if sn.version != dn.version:
                    continue
                for proto, (lo, hi) in services:
                    covered = set(eport for es, ed, ep, eport, term in parsed
                                  if ep == proto and lo <= eport <= hi and _within(sn, es) and _within(dn, ed))
                    if len(covered) < hi - lo + 1:
                        extra.append({"file": path, "term": name, "source": str(sn), "destination": str(dn),
                                      "protocol": proto, "ports": str(lo) if lo == hi else "%d-%d" % (lo, hi)})
    return {"directory": os.path.abspath(directory), "flows": len(parsed), "terms": len(rules),
            "missing": missing, "extra": extra}


def check_text(result):
    lines = ["Perimeter policy %s: %d flow(s) of the estate, %d term(s) read; %d missing, %d extra"
             % (result["directory"], result["flows"], result["terms"], len(result["missing"]), len(result["extra"]))]
    if result["missing"]:
        lines += ["", "Missing (flows of the estate the policy does not accept):"]
        lines += ["  %-34s %s -> %s %s/%s%s" % (m["term"], m["source"], m["destination"], m["protocol"], m["port"],
                                                " (denied by a deny term)" if m["denied_by"] else "")
                  for m in result["missing"]]
    if result["extra"]:
        lines += ["", "Extra (what accept terms allow beyond the estate's flows):"]
        lines += ["  %s %-24s %s -> %s %s/%s" % (e["file"], e["term"], e["source"], e["destination"], e["protocol"],
                                                 e["ports"]) for e in result["extra"]]
    return "\n".join(lines) + "\n"


def check_json(result):
    return json.dumps(result, indent=1) + "\n"


def write_export(directory, files):
    """Write export()'s files under directory, each beside its name first, then renamed into place.
    Our earlier policies that the new export no longer has are removed (the team's own files stay)."""
    if not files:
        return
    for relative, text in files.items():
        path = os.path.join(directory, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "w") as handle:
            handle.write(text)
        os.rename(path + ".tmp", path)
    policies = os.path.join(directory, POLICY_DIR)
    os.makedirs(policies, exist_ok=True)  # an estate without flows has no policy
    for name in os.listdir(policies):
        if name.startswith("portmatrix-") and "%s/%s" % (POLICY_DIR, name) not in files:
            os.remove(os.path.join(policies, name))
