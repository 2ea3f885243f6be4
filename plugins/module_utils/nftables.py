# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Native nftables backend: sets and a chain of our own in the host's tables, one nft batch.

Every base chain at a hook sees the packet and an accept ends only that base chain, so the
rules must live in the host's own tables: in each native table (not iptables-nft's, not
firewalld's) that has an input base chain that would drop or reject, the owned scope is
named sets ``pmx_<group>_4`` / ``_6`` (the addresses), the chain ``pmx_input`` (the ports)
and one ``jump pmx_input`` in each such base chain, placed before its first rule that drops
or rejects everything (appended when the chain relies on its policy).  Jumps and sets
cannot cross tables, so each table gets its own copy.

Changes are one ``nft -j -f`` batch built by the restore runner (_restore_runner.nft_commands),
checked first with ``nft -c``; the state is read back with ``nft -j list ruleset``.
Persistence: a file of ours, /etc/portmatrix/nftables.nft, included once from the file the
host loads at boot (/etc/nftables.conf on Debian, /etc/sysconfig/nftables.conf on RHEL).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import ipaddress
import json
import os
import stat

from ansible_collections.portmatrix.xenserver.plugins.module_utils import _restore_runner, restore
from ansible_collections.portmatrix.xenserver.plugins.module_utils._backend import Backend

PREFIX = "pmx_"
ENTRY_CHAIN = PREFIX + "input"
RESTRICT_CHAIN = PREFIX + "restrict"
PLACED = "above every rule that can accept a restricted port"
TABLE_FAMILIES = {"inet": (4, 6), "ip": (4,), "ip6": (6,)}
ADDRESS = {4: ("ip", "ipv4_addr"), 6: ("ip6", "ipv6_addr")}
REJECT_TYPE = {"inet": "icmpx", "ip": "icmp", "ip6": "icmpv6"}
XTABLES_TABLES = ("filter", "nat", "mangle", "raw", "security")
XTABLES_CHAINS = ("INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING")
COMMENT_MAX = 120  # nftables keeps at most 128 bytes of a rule's comment

# Where the host loads its rules at boot (nftables.service), and our file it includes.
CONF_FILES = ("/etc/sysconfig/nftables.conf", "/etc/nftables.conf")
OWN_FILE = "/etc/portmatrix/nftables.nft"
INCLUDE_BLOCK = ("# portmatrix.xenserver.firewall_rules: the collection's rules (state=absent removes these two lines)\n"
                 'include "%s"\n' % OWN_FILE)


class NftablesError(RuntimeError):
    pass


# --- reading a ruleset (the JSON of `nft -j list ruleset`) ---

class Ruleset:
    """Tables, chains, rules and sets of a ruleset, in list order."""

    def __init__(self, data):
        self.data = data
        self.tables = [(t["family"], t["name"]) for t in _restore_runner.nft_items(data, "table")]
        self.chains = collections.OrderedDict((key, collections.OrderedDict()) for key in self.tables)
        self.rules = collections.OrderedDict()
        for chain in _restore_runner.nft_items(data, "chain"):
            self.chains.setdefault((chain["family"], chain["table"]), collections.OrderedDict())[chain["name"]] = chain
            self.rules[(chain["family"], chain["table"], chain["name"])] = []
        for rule in _restore_runner.nft_items(data, "rule"):
            self.rules.setdefault((rule["family"], rule["table"], rule["chain"]), []).append(rule)

    @classmethod
    def from_text(cls, text):
        try:
            return cls(json.loads(text or '{"nftables": []}'))
        except ValueError as exc:
            raise NftablesError("cannot read nft -j list ruleset: %s" % exc)

    def chain_rules(self, table, chain):
        return self.rules.get(table + (chain,), [])

    def is_xtables(self, table):
        """A table of iptables-nft (iptables' names, upper-case built-in base chains)."""
        family, name = table
        base = [c for c in self.chains.get(table, {}).values() if "hook" in c]
        return (family in ("ip", "ip6", "arp", "bridge") and name in XTABLES_TABLES
                and all(c["name"] in XTABLES_CHAINS for c in base))

    @staticmethod
    def is_firewalld(table):
        return table[1] == "firewalld"

    def native(self):
        """The tables nftables rules of their own live in (not iptables-nft's, not firewalld's)."""
        return [t for t in self.tables if t[0] in TABLE_FAMILIES and not self.is_xtables(t) and not self.is_firewalld(t)]

    def input_chains(self, table):
        return [c["name"] for c in self.chains.get(table, {}).values() if c.get("hook") == "input" and c.get("type") == "filter"]

    def is_terminal(self, table, rule):
        """A rule that drops or rejects every packet reaching it, as far as the owned scope is
        concerned: a drop/reject that does not pick sources (a ban) or conntrack states (invalid),
        or a jump to a chain whose last rule is one."""
        verdict = _verdict(rule)
        if verdict in ("drop", "reject"):
            return not _selects_source_or_state(rule)
        target = _restore_runner.nft_target(rule)
        if target and not target.startswith(PREFIX) and not _selects_source_or_state(rule):
            rules = self.chain_rules(table, target)
            return bool(rules) and _verdict(rules[-1]) in ("drop", "reject") and not _selects_source_or_state(rules[-1])
        return False

    def foreign_rules(self, table, chain):
        return [r for r in self.chain_rules(table, chain) if not (_restore_runner.nft_target(r) or "").startswith(PREFIX)]

    def drops(self, table, chain):
        """Why this base chain would drop or reject what the owned scope accepts, or None."""
        if self.chains[table][chain].get("policy") == "drop":
            return "policy drop"
        for rule in self.foreign_rules(table, chain):
            if self.is_terminal(table, rule):
                return "rule '%s'" % rule_text(rule)
        return None

    def dropping_inputs(self, tables=None):
        """[(table, chain, why)] of the input base chains that would drop or reject."""
        found = []
        for table in (self.native() if tables is None else tables):
            for chain in self.input_chains(table):
                why = self.drops(table, chain)
                if why:
                    found.append((table, chain, why))
        return found

    def xtables_dropping_inputs(self):
        return self.dropping_inputs([t for t in self.tables if self.is_xtables(t)])

    def jump_index(self, table, chain):
        """Where the accepting jump goes among the chain's rules that are not ours: before the
        first terminal one, else at the end."""
        foreign = self.foreign_rules(table, chain)
        for index, rule in enumerate(foreign):
            if self.is_terminal(table, rule):
                return index
        return len(foreign)

    def may_accept_restricted(self, table, rule, restricted, depth=0):
        """Whether a foreign rule could accept a new connection to a restricted port from outside
        the host (conservative: what it cannot tell, it assumes)."""
        verdict, target = _verdict(rule), _restore_runner.nft_target(rule)
        if verdict != "accept" and not (verdict in ("jump", "goto") and target and not target.startswith(PREFIX) and depth < 8):
            return False
        protocols = set(restricted)
        for statement in rule.get("expr", []):
            match = statement.get("match") if isinstance(statement, dict) else None
            if not match or match.get("op") not in ("==", "in"):
                continue
            key, values = _match_key(match["left"]), _values(match["right"])
            if key in ("meta iif", "meta iifname") and values == set(["lo"]):
                return False
            if key == "ct state" and not values & set(["new", "untracked"]):
                return False
            if key in ("meta l4proto", "ip protocol", "ip6 nexthdr"):
                protocols &= values
            elif key.endswith(" dport") and key.split()[0] in ("tcp", "udp", "th"):
                if key.split()[0] != "th":
                    protocols &= set([key.split()[0]])
                protocols = set(p for p in protocols if _port_values(values) & set(restricted[p]))
        if not protocols:
            return False
        return verdict == "accept" or any(self.may_accept_restricted(table, r, restricted, depth + 1)
                                          for r in self.chain_rules(table, target))

    def shadowing(self, table, chain, restricted):
        """Foreign rules of a base chain that can accept a restricted port before the restrictions
        are checked (above the restrict jump, or anywhere when there is none)."""
        found = []
        for rule in self.chain_rules(table, chain):
            if _restore_runner.nft_target(rule) == RESTRICT_CHAIN:
                break
            if not (_restore_runner.nft_target(rule) or "").startswith(PREFIX) and self.may_accept_restricted(table, rule, restricted):
                found.append(rule)
        return found

    def restrict_index(self, table, chain, restricted):
        """Where the restrict jump goes: where it is when nothing above it can accept a restricted
        port (another tool putting its rule on top is no drift), else on top."""
        current = [index for index, target in self.our_jumps(table, chain) if target == RESTRICT_CHAIN]
        if current and not self.shadowing(table, chain, restricted):
            return min(current[0], self.jump_index(table, chain))
        return 0

    def our_jumps(self, table, chain):
        """(index among the foreign rules before it, target) of each of our jumps in a chain."""
        marks, foreign = [], 0
        for rule in self.chain_rules(table, chain):
            target = _restore_runner.nft_target(rule) or ""
            if target.startswith(PREFIX):
                marks.append((foreign, target))
            else:
                foreign += 1
        return marks


def _match_key(left):
    """'tcp dport', 'meta l4proto', 'ct state', ... of a match's left side ('' when other)."""
    if not isinstance(left, dict):
        return ""
    if "payload" in left:
        return "%s %s" % (left["payload"].get("protocol"), left["payload"].get("field"))
    if "meta" in left:
        return "meta %s" % left["meta"].get("key")
    if "ct" in left:
        return "ct %s" % left["ct"].get("key")
    return ""


def _values(right):
    """The values a match's right side stands for, as a set of text and numbers (ranges and
    prefixes as their text)."""
    items = right.get("set", []) if isinstance(right, dict) and "set" in right else (right if isinstance(right, list) else [right])
    found = set()
    for item in items:
        if isinstance(item, dict) and "range" in item:
            found.add(tuple(item["range"]))
        elif isinstance(item, dict):
            found.add(json.dumps(item, sort_keys=True))
        else:
            found.add(item)
    return found


def _port_values(values):
    """Ports named by match values; everything when a value is not a port or a port range (a set
    reference, a map): conservative."""
    ports = set()
    for value in values:
        if isinstance(value, int):
            ports.add(value)
        elif isinstance(value, tuple) and all(isinstance(v, int) for v in value):
            ports.update(range(value[0], value[1] + 1))
        else:
            return set(range(0, 65536))
    return ports


def _verdict(rule):
    for statement in reversed(rule.get("expr", [])):
        for key in ("accept", "drop", "reject", "return", "jump", "goto", "queue", "continue"):
            if isinstance(statement, dict) and key in statement:
                return key
    return None


def _selects_source_or_state(rule):
    for statement in rule.get("expr", []):
        match = statement.get("match") if isinstance(statement, dict) else None
        if not match:
            continue
        left = match.get("left", {})
        if _match_key(left) == "ct state" and (match.get("op") == "!=" or "new" not in _values(match.get("right"))):
            return True   # INVALID and the like
        if isinstance(left, dict) and left.get("payload", {}).get("field") == "saddr":
            return True
    return False


def describe(table, chain=None):
    return "%s %s" % table + (" %s" % chain if chain else "")


# --- text, as nft prints it (views, diffs and the persisted file) ---

QUOTED_META = ("iifname", "oifname", "iif", "oif")


def value_text(value, quote=False):
    if isinstance(value, dict):
        if "set" in value:
            return "{ %s }" % ", ".join(value_text(v) for v in value["set"])
        if "prefix" in value:
            return "%s/%s" % (value["prefix"]["addr"], value["prefix"]["len"])
        if "range" in value:
            return "%s-%s" % tuple(value_text(v) for v in value["range"])
        if "payload" in value:
            return "%s %s" % (value["payload"].get("protocol"), value["payload"].get("field"))
        if "meta" in value:
            key = value["meta"]["key"]
            return key if key in QUOTED_META else "meta %s" % key
        if "ct" in value:
            return "ct %s" % value["ct"]["key"]
        return json.dumps(value, sort_keys=True)
    if isinstance(value, list):
        return ",".join(value_text(v) for v in value)
    if quote:
        return '"%s"' % value
    return "%s" % (value,)


def statement_text(statement):
    if not isinstance(statement, dict) or len(statement) != 1:
        return json.dumps(statement, sort_keys=True)
    key, value = list(statement.items())[0]
    if key == "match":
        left = value["left"]
        quote = isinstance(left, dict) and left.get("meta", {}).get("key") in QUOTED_META
        op = "" if value["op"] in ("==", "in") else value["op"] + " "
        return "%s %s%s" % (value_text(left), op, value_text(value["right"], quote))
    if key in ("accept", "drop", "return", "continue") and value is None:
        return key
    if key in ("jump", "goto"):
        return "%s %s" % (key, value["target"])
    if key == "reject":
        if not value or value.get("expr") == "port-unreachable":
            return "reject"
        return "reject with %s" % " ".join(str(value[k]) for k in ("type", "expr") if k in value)
    if key == "counter" and isinstance(value, dict):
        return "counter packets %s bytes %s" % (value.get("packets"), value.get("bytes"))
    return json.dumps(statement, sort_keys=True)


def rule_text(rule):
    text = " ".join(statement_text(s) for s in rule.get("expr", []))
    if rule.get("comment"):
        text += ' comment "%s"' % rule["comment"]
    return text


def element_networks(elements):
    """Set elements (as nft -j lists them) as collapsed networks, in order."""
    networks = []
    for element in elements or []:
        if isinstance(element, dict) and "elem" in element:
            element = element["elem"].get("val")
        if isinstance(element, dict) and "prefix" in element:
            networks.append(ipaddress.ip_network(u"%s/%s" % (element["prefix"]["addr"], element["prefix"]["len"])))
        elif isinstance(element, dict) and "range" in element:
            first, last = (ipaddress.ip_address(u"%s" % a) for a in element["range"])
            networks.extend(ipaddress.summarize_address_range(first, last))
        else:
            networks.append(ipaddress.ip_network(u"%s" % element))
    by_version = {}
    for network in networks:
        by_version.setdefault(network.version, []).append(network)
    return [n for version in sorted(by_version) for n in ipaddress.collapse_addresses(by_version[version])]


def element(network):
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return {"prefix": {"addr": str(network.network_address), "len": network.prefixlen}}


def view(tables, ruleset=None, restricted=None):
    """Comparable, readable lines of an owned scope (the tables argument of nft_commands()).
    With the ruleset it stands in, the restrict jump says what can still accept a restricted
    port above it; without (a plan), it says it is above all of them."""
    lines = []
    for table in sorted(tables, key=lambda t: (t["family"], t["name"])):
        where = "%s %s" % (table["family"], table["name"])
        for found in sorted(table["sets"], key=lambda s: s["name"]):
            lines.append("%s set %s: type %s flags %s" % (where, found["name"], found.get("type"),
                                                          ",".join(found.get("flags", [])) or "-"))
            lines += ["%s set %s: %s" % (where, found["name"], n) for n in element_networks(found.get("elem"))]
        for chain in sorted(table["chains"], key=lambda c: c["name"]):
            lines.append("%s chain %s" % (where, chain["name"]))
            lines += ["%s chain %s: %s" % (where, chain["name"], rule_text(r)) for r in chain["rules"]]
        for jump in sorted(table["jumps"], key=lambda j: (j["chain"], j["index"])):
            if _restore_runner.nft_target(jump) == RESTRICT_CHAIN:
                above = ruleset.shadowing((table["family"], table["name"]), jump["chain"], restricted or {}) if ruleset else []
                note = "below %s" % rule_text(above[0]) if above else PLACED
            else:
                note = "after %d rule(s) of %s" % (jump["index"], jump["chain"])
            lines.append("%s chain %s: %s  # %s" % (where, jump["chain"], rule_text(jump), note))
    return lines


# --- the owned scope a plan wants ---

def _match(left, right, op="=="):
    return {"match": {"op": op, "left": left, "right": right}}


def _ports(ports):
    ports = list(ports)
    return ports[0] if len(ports) == 1 else {"set": ports}


def _comment(ids):
    text = ",".join(sorted(set(ids)))
    return text if len(text) <= COMMENT_MAX else text[:COMMENT_MAX - 3] + "..."


def set_name(group, family):
    return "%s%s_%d" % (PREFIX, group, family)


def table_spec(plan, ruleset, table):
    """The owned scope of one table: sets, chains pmx_input (accepts) and pmx_restrict (rejects
    only), and in each input chain that would drop: the restrict jump above every rule that
    can accept a restricted port, the accepting jump before the first terminal rule."""
    family = table[0]
    families = list(TABLE_FAMILIES[family])
    sets, rules = [], [{"expr": [_match({"meta": {"key": "iifname"}}, "lo"), {"return": None}]}]
    rules.extend(_guard_rule(guard, {"accept": None}) for guard in plan.guards if guard[1] in families)
    for group, fam in _sourced(plan, families):
        sets.append({"name": set_name(group.name, fam), "type": ADDRESS[fam][1], "flags": ["interval"],
                     "elem": [element(n) for n in element_networks(group.networks[fam])]})
        for proto, ports in group.ports.items():
            rules.append(_commented(_source_rule(group, fam, proto, ports, {"accept": None}), group, proto, ports))
    chains = [{"name": ENTRY_CHAIN, "rules": rules}]
    if plan.restricted:
        chains.append({"name": RESTRICT_CHAIN, "rules": restrict_rules(plan, family, families)})
    jumps = []
    for chain in ruleset.input_chains(table):
        if ruleset.drops(table, chain):
            if plan.restricted:
                jumps.append({"chain": chain, "index": ruleset.restrict_index(table, chain, plan.restricted),
                              "expr": [{"jump": {"target": RESTRICT_CHAIN}}]})
            jumps.append({"chain": chain, "index": ruleset.jump_index(table, chain), "expr": [{"jump": {"target": ENTRY_CHAIN}}]})
    return {"family": family, "name": table[1], "sets": sets, "chains": chains, "jumps": jumps}


def restrict_rules(plan, family, families):
    """pmx_restrict: reject-only. Allowed sources return (per group set and protocol, for the
    restricted ports they may reach); new connections to restricted ports from anyone else are
    rejected. It never accepts, so the host's own drops (bans) still apply after it."""
    rules = [{"expr": [_match({"meta": {"key": "iifname"}}, "lo"), {"return": None}]}]
    rules.extend(_guard_rule(guard, {"return": None}) for guard in plan.guards if guard[1] in families)
    for group, fam in _sourced(plan, families):
        for proto, ports in group.ports.items():
            reach = [p for p in ports if p in plan.restricted.get(proto, ())]
            if reach:
                rules.append(_commented(_source_rule(group, fam, proto, reach, {"return": None}), group, proto, reach))
    for proto, ports in plan.restricted.items():
        reject = {"type": "tcp reset"} if proto == "tcp" else {"type": REJECT_TYPE[family], "expr": "port-unreachable"}
        rules.append({"expr": [_match({"payload": {"protocol": proto, "field": "dport"}}, _ports(ports)),
                               _match({"ct": {"key": "state"}}, "new", op="in"), {"reject": reject}]})
    return rules


def _sourced(plan, families):
    """(group, family) for each group with addresses of a family the table filters."""
    return [(group, fam) for group in plan.groups for fam in families if group.networks[fam]]


def _source_rule(group, family, proto, ports, verdict):
    return {"expr": [_match({"payload": {"protocol": ADDRESS[family][0], "field": "saddr"}}, "@" + set_name(group.name, family)),
                     _match({"payload": {"protocol": proto, "field": "dport"}}, _ports(ports)), verdict]}


def _commented(rule, group, proto, ports):
    """The rule with a comment naming the flows it serves."""
    ids = [i for port in ports for i in group.port_flows.get(proto, {}).get(port, ())]
    if ids:
        rule["comment"] = _comment(ids)
    return rule


def _guard_rule(guard, verdict):
    network, family, port = guard
    return {"expr": [_match({"payload": {"protocol": ADDRESS[family][0], "field": "saddr"}},
                            element(ipaddress.ip_network(u"%s" % network))),
                     _match({"payload": {"protocol": "tcp", "field": "dport"}}, port), verdict]}


def desired_tables(plan, ruleset, state="present"):
    if state != "present":
        return []
    return [table_spec(plan, ruleset, table) for table in ruleset.native()
            if any(ruleset.drops(table, chain) for chain in ruleset.input_chains(table))]


def persisted_text(tables, ruleset):
    """Our included file: the owned objects, then the jumps. At boot the host's file has just
    defined its tables: the accepting jump's position counts the host's rules as they run now
    (inserts go from the last one up; appended when the chain relies on its policy), the
    restrict jump goes on top."""
    lines = ["# Managed by portmatrix.xenserver.firewall_rules, included from the host's nftables configuration.",
             "# Edits are reverted by the next run."]
    for table in tables:
        lines.append("table %s %s {" % (table["family"], table["name"]))
        for found in table["sets"]:
            elements = ", ".join(value_text(e) for e in found["elem"])
            lines += ["\tset %s {" % found["name"], "\t\ttype %s" % found["type"],
                      "\t\tflags %s" % ",".join(found["flags"])]
            lines += ["\t\telements = { %s }" % elements] if elements else []
            lines.append("\t}")
        for chain in table["chains"]:
            lines += ["\tchain %s {" % chain["name"]] + ["\t\t%s" % rule_text(r) for r in chain["rules"]] + ["\t}"]
        lines.append("}")
        key = (table["family"], table["name"])
        accepting = [j for j in table["jumps"] if _restore_runner.nft_target(j) != RESTRICT_CHAIN]
        for jump in sorted(accepting, key=lambda j: -j["index"]):
            if jump["index"] < len(ruleset.foreign_rules(key, jump["chain"])):
                lines.append("insert rule %s %s %s index %d %s" % (key + (jump["chain"], jump["index"], rule_text(jump))))
        for jump in accepting:
            if jump["index"] >= len(ruleset.foreign_rules(key, jump["chain"])):
                lines.append("add rule %s %s %s %s" % (key + (jump["chain"], rule_text(jump))))
        # the restrict jump on top: right wherever the host's own rules stand
        lines += ["insert rule %s %s %s %s" % (key + (j["chain"], rule_text(j))) for j in table["jumps"] if j not in accepting]
    return "\n".join(lines) + "\n"


def with_include(text):
    """The host's configuration with our include block, added once at the end."""
    if INCLUDE_BLOCK in text:
        return text
    return text + ("" if not text or text.endswith("\n") else "\n") + INCLUDE_BLOCK


def without_include(text):
    return text.replace(INCLUDE_BLOCK, "")


class NftablesBackend(Backend):
    """get/set of the owned nftables scope; the Transaction does the rest."""

    name = "nftables"

    def __init__(self, run, state="present", persist=True, own_file=OWN_FILE, conf_files=CONF_FILES):
        super(NftablesBackend, self).__init__(run, state)
        self.persist_enabled = persist
        self.own_file = own_file
        self.conf_files = conf_files
        self.conf_file = None
        self.nft = "nft"

    # --- checks, before anything changes ---
    def validate(self, which):
        self.nft = which("nft")
        if not self.nft:
            raise NftablesError("nft is missing on the target (install nftables, or choose another backend)")
        ruleset = self.read()["ruleset"]
        if self.state == "present":
            if not ruleset.dropping_inputs():
                raise NftablesError(
                    "no native nftables input chain here drops or rejects traffic, so there is nothing to open in "
                    "nftables (tables: %s); use backend iptables or auto" % (", ".join(describe(t) for t in ruleset.native()) or "none"))
            also = ruleset.xtables_dropping_inputs()
            if also:
                raise NftablesError(
                    "iptables (iptables-nft) also drops or rejects input here (%s): rules in nftables cannot open "
                    "what iptables closes; manage one firewall" % "; ".join("%s: %s" % (describe(t, c), w) for t, c, w in also))
        if self.persist_enabled:
            self.conf_file = next((path for path in self.conf_files if os.path.isfile(path)), None)
            if self.conf_file is None:
                raise NftablesError("cannot tell how this host loads its nftables rules at boot: none of %s exists; "
                                    "set persist: false" % ", ".join(self.conf_files))
            problems = [restore.cannot_write(self.conf_file), restore.cannot_write(self.own_file, ours=True)]
            if any(problems):
                raise NftablesError("cannot save the rules for the next boot, nothing was changed: %s "
                                    "(make it writable, or set persist: false)" % "; ".join(p for p in problems if p))

    # --- get ---
    def read(self):
        rc, out, err = self.run([self.nft, "-j", "list", "ruleset"])
        if rc != 0:
            raise NftablesError("nft -j list ruleset failed: %s" % (err or out).strip())
        return {"ruleset": Ruleset.from_text(out)}

    def views(self, current, plan):
        ruleset = current["ruleset"]
        return ({"nftables": view(_restore_runner.nft_owned(ruleset.data, PREFIX), ruleset, plan.restricted)},
                {"nftables": view(desired_tables(plan, ruleset, self.state))})

    def shadowing(self, current, plan):
        """Foreign rules that accept a restricted port before the restrictions are checked."""
        ruleset = current["ruleset"]
        return {"nftables": ["%s: %s" % (describe(table, chain), rule_text(rule))
                             for table, chain, unused in ruleset.dropping_inputs()
                             for rule in ruleset.shadowing(table, chain, plan.restricted)]}

    @staticmethod
    def rule_count(views):
        """Rules this scope puts in the kernel (set elements are not rules)."""
        return {"nftables": sum(1 for line in views["nftables"] if " chain " in line and ": " in line)}

    # --- set ---
    def write(self, current, plan):
        spec = {"nft": self.nft, "prefix": PREFIX, "tables": desired_tables(plan, current["ruleset"], self.state)}
        try:
            _restore_runner.restore_nft(spec, restore.adapt(self.run))
        except RuntimeError as exc:
            raise NftablesError(str(exc))

    # --- safety ---
    def snapshot(self, current=None):
        """Restore steps: the owned objects as they are, then our file and the host's file as they are."""
        steps = self.running_steps(current or self.read())
        if self.persist_enabled and self.conf_file:
            steps += restore.file_steps([self.own_file, self.conf_file])
        return steps

    def running_steps(self, current):
        """Restore steps of the running owned scope of current alone: the owned objects."""
        return [{"nft": {"nft": self.nft, "prefix": PREFIX,
                         "tables": _restore_runner.nft_owned(current["ruleset"].data, PREFIX)}}]

    # --- persistence ---
    def _saved_texts(self, plan):
        ruleset = self.read()["ruleset"]
        conf = _restore_runner.read_file(self.conf_file) or ""
        if self.state == "present":
            return (with_include(conf), persisted_text(desired_tables(plan, ruleset, self.state), ruleset))
        return (without_include(conf), None)

    def saved_views(self, plan):
        """Our file and the include line as they are, and as they should be."""
        conf = _restore_runner.read_file(self.conf_file) or ""
        own = _restore_runner.read_file(self.own_file)
        want_conf, want_own = self._saved_texts(plan)
        current = ["%s: include %s" % (self.conf_file, "present" if INCLUDE_BLOCK in conf else "missing")]
        desired = ["%s: include %s" % (self.conf_file, "present" if INCLUDE_BLOCK in want_conf else "missing")]
        current += (own or "").splitlines() if own is not None else ["# %s missing" % self.own_file]
        desired += want_own.splitlines() if want_own is not None else ["# %s missing" % self.own_file]
        return {"nftables": current}, {"nftables": desired}

    def save_steps(self, plan):
        """Steps (see _restore_runner.py) that write our file and the include line (run after the
        read-back: the kernel holds the plan, and the files follow it), then check the host's
        configuration with nft -c."""
        conf_text, own_text = self._saved_texts(plan)
        conf = {"write": self.conf_file, "text": conf_text, "mode": stat.S_IMODE(os.stat(self.conf_file).st_mode)}
        if own_text is None:
            return [conf, {"remove": self.own_file}]
        return [{"write": self.own_file, "text": own_text, "mode": 0o644}, conf,
                {"run": [self.nft, "-c", "-f", self.conf_file]}]

    def save(self, plan):
        restore.run_or_raise(self.save_steps(plan), self.run, NftablesError)
