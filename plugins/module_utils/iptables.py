# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""iptables/ip6tables backend: chains of our own, one iptables-restore per family.

Owned scope: every chain named PMX-* in the filter table and every rule elsewhere that
jumps into one.  Two jumps in INPUT:

- ``-A INPUT -j PMX-RESTRICT`` on top (or anywhere above every foreign rule that could accept a
  restricted port):
  a chain that only rejects (new connections to restricted ports from sources the plan does
  not allow) and never accepts, so foreign ACCEPT rules cannot open a restricted port while
  foreign DROP/REJECT rules (bans) still apply;
- ``-A INPUT -j PMX-INPUT`` before the first terminal REJECT/DROP: the accepts of the plan.

Nothing else is written: other chains (RH-Firewall-1-INPUT, xapi-INPUT, xapi_nbd_*, Docker's,
fail2ban's, ufw's) are only read to place the jumps.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import ipaddress
import os
import stat

from ansible_collections.portmatrix.xenserver.plugins.module_utils import _restore_runner, restore
from ansible_collections.portmatrix.xenserver.plugins.module_utils._backend import Backend

PREFIX = "PMX-"
ENTRY_CHAIN = PREFIX + "INPUT"
RESTRICT_CHAIN = PREFIX + "RESTRICT"
REJECT_CHAIN = PREFIX + "REJECT"
ALLOW_CHAIN = PREFIX + "ALLOW-%d"
JUMP = "-A INPUT -j %s" % ENTRY_CHAIN
RESTRICT_JUMP = "-A INPUT -j %s" % RESTRICT_CHAIN
PLACED = "above every rule that can accept a restricted port"
MULTIPORT_MAX = 15  # the multiport match takes at most 15 ports
REJECT_WITH = {4: {"tcp": "tcp-reset", "udp": "icmp-port-unreachable"},
               6: {"tcp": "tcp-reset", "udp": "icmp6-port-unreachable"}}
TOOLS = {4: ("iptables-save", "iptables-restore"), 6: ("ip6tables-save", "ip6tables-restore")}
# Characters iptables-save prints without quotes (libxtables' xtables_save_string)
SAVE_UNQUOTED = set("_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
COMMENT_MAX = 250  # the comment match keeps 255 bytes
# A REJECT/DROP with one of these picks sources (a ban) or an interface: not the final one, and the
# accepting jump goes below it (a Common Criteria dom0 ends each bridge with `-i xenbr0 -j DROP`,
# host-installer common_criteria_firewall_rules: our accepts must not open what it drops); nor is
# one that picks conntrack states without NEW (INVALID).
SELECTIVE = ("-s", "--source", "--src-range", "--match-set", "-m recent", "-i", "--in-interface")

# Where each OS family keeps the saved rules, and the save command RHEL/XenServer use.
RHEL_FILES = {4: "/etc/sysconfig/iptables", 6: "/etc/sysconfig/ip6tables"}
RHEL_INIT = {4: "/usr/libexec/iptables/iptables.init", 6: "/usr/libexec/iptables/ip6tables.init"}
DEBIAN_FILES = {4: "/etc/iptables/rules.v4", 6: "/etc/iptables/rules.v6"}


class IptablesError(RuntimeError):
    pass


FilterTable = collections.namedtuple("FilterTable", ["chains", "rules", "text"])
# chains: OrderedDict name -> policy ("-" for user chains); rules: OrderedDict name -> [rule lines];
# text: the iptables-save output it was parsed from


def parse_filter_table(text):
    """The filter table of iptables-save output (other tables are ignored)."""
    chains, rules = _restore_runner.parse_filter(text)
    return FilterTable(chains, rules, text or "")


_target = _restore_runner.rule_target


def is_owned_chain(name):
    return name.startswith(PREFIX)


def is_owned_rule(rule):
    """A rule outside our chains that leads into them (a jump, wherever it was moved)."""
    target = _target(rule)
    return bool(target) and is_owned_chain(target) and not is_owned_chain(rule.split()[1])


def _selective(rule):
    states, negated = _option(rule.split(), ("--ctstate", "--state"))
    if states and (negated or "NEW" not in states.split(",")):
        return True
    return any((" %s " % word) in (" %s " % rule) for word in SELECTIVE)


def _is_terminal(rule):
    """A REJECT/DROP of everything that reaches it (not a ban, not INVALID)."""
    return _target(rule) in ("REJECT", "DROP") and not _selective(rule)


def _ends_terminally(rules):
    # A chain whose last rule rejects or drops everything: the stock dom0 chain.
    return bool(rules) and _is_terminal(rules[-1])


def foreign_input(table):
    return [r for r in table.rules.get("INPUT", []) if not is_owned_rule(r)]


def jump_index(table):
    """Where the accepting jump belongs among INPUT's rules that are not ours: before the first
    terminal REJECT/DROP, or jump to a chain ending in one; appended when there is none.
    Bans (a REJECT/DROP that picks sources) stay above it, so they still ban."""
    for index, rule in enumerate(foreign_input(table)):
        target = _target(rule)
        if _is_terminal(rule):
            return index
        if target and not is_owned_chain(target) and not _selective(rule) and _ends_terminally(table.rules.get(target, [])):
            return index
    return len(foreign_input(table))


def _option(words, names):
    """(value, negated) of the first of names in words; (None, False) when absent."""
    for index, word in enumerate(words[:-1]):
        if word in names:
            return words[index + 1], index > 0 and words[index - 1] == "!"
    return None, False


def _port_set(text):
    ports = set()
    for part in text.split(","):
        low, colon, high = part.partition(":")
        ports.update(range(int(low or 0), int((high if colon else low) or 65535) + 1))
    return ports


def may_accept_restricted(table, rule, restricted, depth=0):
    """Whether a foreign rule could accept a new connection to a restricted port from
    outside the host (conservative: what it cannot tell, it assumes)."""
    words = rule.split()
    target = _target(rule)
    if target != "ACCEPT" and (not target or is_owned_chain(target) or target not in table.chains or depth > 8):
        return False
    interface, negated = _option(words, ("-i", "--in-interface"))
    if interface == "lo" and not negated:
        return False
    states, negated = _option(words, ("--ctstate", "--state"))
    if states and not negated and not set(states.split(",")) & set(["NEW", "UNTRACKED"]):
        return False
    proto, negated = _option(words, ("-p", "--protocol"))
    protocols = [p for p in restricted if not proto or negated or p == proto]
    ports, negated = _option(words, ("--dport", "--dports", "--destination-port", "--destination-ports"))
    if ports and not negated:
        protocols = [p for p in protocols if _port_set(ports) & set(restricted[p])]
    if not protocols:
        return False
    return target == "ACCEPT" or any(may_accept_restricted(table, r, restricted, depth + 1)
                                     for r in table.rules.get(target, []))


def shadowing(table, restricted):
    """Foreign INPUT rules that can accept a restricted port before the restrictions are checked
    (above the restrict jump, or anywhere when there is none)."""
    rules = []
    for rule in table.rules.get("INPUT", []):
        if rule == RESTRICT_JUMP:
            break
        if not is_owned_rule(rule) and may_accept_restricted(table, rule, restricted):
            rules.append(rule)
    return rules


def restrict_index(table, restricted):
    """Where the restrict jump belongs among INPUT's foreign rules: where it is when nothing
    above it can accept a restricted port (fail2ban putting its jump on top is no drift), else
    on top (it only rejects, and lets loopback through itself)."""
    for chain, index, rule in _restore_runner.owned_iptables(table.text, PREFIX)[1]:
        if chain == "INPUT" and rule == RESTRICT_JUMP and not shadowing(table, restricted):
            return min(index, jump_index(table))
    return 0


def comment(ids):
    """`` -m comment --comment ...`` naming flow ids, as iptables-save prints it ('' without ids)."""
    text = ",".join(sorted(set(ids)))
    text = text if len(text) <= COMMENT_MAX else text[:COMMENT_MAX - 3] + "..."
    if not text:
        return ""
    if all(c in SAVE_UNQUOTED for c in text):
        return " -m comment --comment %s" % text
    return ' -m comment --comment "%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def _flows(groups, proto, ports):
    return [i for group in groups for port in ports for i in group.port_flows.get(proto, {}).get(port, ())]


def _chunks(ports):
    ports = list(ports)
    for start in range(0, len(ports), MULTIPORT_MAX):
        yield ports[start:start + MULTIPORT_MAX]


def _within(inner, outer):
    return (inner.version == outer.version and outer.network_address <= inner.network_address
            and inner.broadcast_address <= outer.broadcast_address)


def address_classes(plan, family):
    """[(network, group names)]: every network of the plan's groups with every group whose
    networks hold it, most specific first (so the first -s that matches has them all)."""
    found = [(ipaddress.ip_network(u"%s" % n), g.name) for g in plan.groups for n in g.networks[family]]
    networks = sorted(set(n for n, unused in found), key=lambda n: (-n.prefixlen, int(n.network_address)))
    return [(str(n), tuple(sorted(set(g for outer, g in found if _within(n, outer))))) for n in networks]


def render_chains(plan, family):
    """The owned chains for one family, as iptables-save prints them: name -> [rules]."""
    chains = collections.OrderedDict()
    # Loopback first: the host's own traffic to itself is never filtered by this scope.
    entry = ["-A %s -i lo -j RETURN" % ENTRY_CHAIN]
    chains[ENTRY_CHAIN] = entry
    for network, guard_family, port in plan.guards:
        if guard_family == family:
            entry.append("-A %s -s %s -p tcp -m tcp --dport %d -j ACCEPT" % (ENTRY_CHAIN, network, port))
    for group in plan.groups:
        networks = group.networks[family]
        if not networks:
            continue
        chain = PREFIX + group.name
        for network in networks:
            entry.append("-A %s -s %s -j %s" % (ENTRY_CHAIN, network, chain))
        chains[chain] = [
            "-A %s -p %s -m multiport --dports %s%s -j ACCEPT" % (
                chain, proto, ",".join(str(p) for p in chunk), comment(_flows([group], proto, chunk)))
            for proto, ports in group.ports.items() for chunk in _chunks(ports)]
    if plan.restricted:
        chains.update(restrict_chains(plan, family))
    return chains


def restrict_chains(plan, family):
    """PMX-RESTRICT, the address classes' PMX-ALLOW-n and PMX-REJECT: reject-only.

    PMX-RESTRICT sends each allowed source (goto) to the chain of its class, which RETURNs
    (to INPUT: a goto leaves no way back into PMX-RESTRICT) for the restricted ports the class
    may reach and hands the rest to PMX-REJECT; anything else falls through to PMX-REJECT.
    One rule per address, one chain per set of groups: addresses plus ports."""
    groups = dict((g.name, g) for g in plan.groups)
    restrict = ["-A %s -i lo -j RETURN" % RESTRICT_CHAIN]
    for network, guard_family, port in plan.guards:
        if guard_family == family:
            restrict.append("-A %s -s %s -p tcp -m tcp --dport %d -j RETURN" % (RESTRICT_CHAIN, network, port))
    allow = collections.OrderedDict()
    names = {}
    for network, members in address_classes(plan, family):
        ports = collections.OrderedDict()
        for proto, restricted in plan.restricted.items():
            reach = sorted(set(restricted) & set(p for m in members for p in groups[m].ports.get(proto, ())))
            if reach:
                ports[proto] = reach
        if not ports:
            continue
        if members not in names:
            names[members] = ALLOW_CHAIN % (len(names) + 1)
            allow[names[members]] = [
                "-A %s -p %s -m multiport --dports %s%s -j RETURN" % (
                    names[members], proto, ",".join(str(p) for p in chunk), comment(_flows([groups[m] for m in members], proto, chunk)))
                for proto, reach in ports.items() for chunk in _chunks(reach)] + ["-A %s -j %s" % (names[members], REJECT_CHAIN)]
        restrict.append("-A %s -s %s -g %s" % (RESTRICT_CHAIN, network, names[members]))
    restrict.append("-A %s -j %s" % (RESTRICT_CHAIN, REJECT_CHAIN))
    chains = collections.OrderedDict([(RESTRICT_CHAIN, restrict)])
    chains.update(allow)
    chains[REJECT_CHAIN] = [
        "-A %s -p %s -m multiport --dports %s -m conntrack --ctstate NEW%s -j REJECT --reject-with %s"
        % (REJECT_CHAIN, proto, ",".join(str(p) for p in chunk), comment(_flows(plan.groups, proto, chunk)),
           REJECT_WITH[family][proto])
        for proto, ports in plan.restricted.items() for chunk in _chunks(ports)]
    return chains


def _jump_line(table, chain, index, rule, restricted):
    if rule == RESTRICT_JUMP and chain == "INPUT":
        above = shadowing(table, restricted)
        return "%s  # %s" % (rule, "below %s" % above[0] if above else PLACED)
    return "%s  # after %d rule(s) of %s" % (rule, index, chain)


def owned_view(table, restricted=None):
    """The owned scope of a table as comparable lines: our chains, then the jumps with where
    they stand (that is how a moved jump shows)."""
    lines = []
    for name in sorted(n for n in table.chains if is_owned_chain(n)):
        lines.append(":%s" % name)
        lines.extend(table.rules.get(name, []))
    for chain, index, rule in _restore_runner.owned_iptables(table.text, PREFIX)[1]:
        lines.append(_jump_line(table, chain, index, rule, restricted or {}))
    return lines


def desired_view(plan, family, table, state="present"):
    """owned_view() of the table as it should be, given its foreign rules."""
    if state == "absent":
        return []
    lines = []
    chains = render_chains(plan, family)
    for name in sorted(chains):
        lines.append(":%s" % name)
        lines.extend(chains[name])
    if plan.restricted:
        lines.append("%s  # %s" % (RESTRICT_JUMP, PLACED))
    lines.append("%s  # after %d rule(s) of INPUT" % (JUMP, jump_index(table)))
    return lines


def desired_jumps(plan, table):
    jumps = [["INPUT", restrict_index(table, plan.restricted), RESTRICT_JUMP]] if plan.restricted else []
    return jumps + [["INPUT", jump_index(table), JUMP]]


def restore_payload(plan, family, table, state="present"):
    """One iptables-restore --noflush transaction that makes the owned scope right.

    Declaring a chain flushes it; rules go back in order; every stray jump into our
    chains is deleted and the jumps re-inserted at their places; chains we no longer
    need are deleted last, once nothing refers to them (_restore_runner.iptables_payload)."""
    if state != "present":
        return _restore_runner.iptables_payload(table.text, PREFIX, [], [])
    chains = render_chains(plan, family)
    return _restore_runner.iptables_payload(table.text, PREFIX, list(chains.items()), desired_jumps(plan, table))


def _is_ours(line):
    text = line.strip()
    return text.startswith((":" + PREFIX, "-A " + PREFIX)) or (text.startswith("-A ") and is_owned_rule(text))


def merge_saved(text, chains, jumps):
    """A saved-rules file (iptables-save format) with the owned chains and jumps merged into its
    filter table: our lines replaced, every other line (other tables, other chains, comments,
    counters) byte for byte as it was. chains: [(name, [rules])]; jumps: [[chain, index, rule]],
    index counting the chain's rules in the file that are not ours."""
    lines = text.splitlines(True)
    if not chains and not jumps and not any(_is_ours(line) for line in lines):
        return text   # nothing of ours, nothing to add: not a byte changes
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = next((i for i, line in enumerate(lines) if line.strip() == "*filter"), None)
    if start is None:
        lines += ["*filter\n", "COMMIT\n"]
        start = len(lines) - 2
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip() == "COMMIT"), len(lines))
    kept = [line for line in lines[start + 1:end] if not _is_ours(line)]
    declared = max([i + 1 for i, line in enumerate(kept) if line.startswith(":")] or [0])
    before = collections.defaultdict(list)   # kept index -> our lines that go before it
    before[declared] += [":%s - [0:0]\n" % name for name, unused in chains]
    for chain, index, rule in sorted(jumps, key=lambda jump: jump[1]):
        foreign = [i for i, line in enumerate(kept) if line.startswith("-A %s " % chain)]
        where = foreign[index] if index < len(foreign) else (foreign[-1] + 1 if foreign else declared)
        before[where].append(rule + "\n")
    before[len(kept)] += [rule + "\n" for unused, rules in chains for rule in rules]
    section = []
    for i in range(len(kept) + 1):
        section += before.get(i, []) + kept[i:i + 1]
    return "".join(lines[:start + 1] + section + lines[end:])


def count_rules(view):
    return sum(1 for line in view if line.startswith("-A "))


class IptablesBackend(Backend):
    """get/set of the owned scope for IPv4 and IPv6; the Transaction does the rest."""

    name = "iptables"

    def __init__(self, run, families, state="present", persist=True, exists=os.path.exists):
        super(IptablesBackend, self).__init__(run, state, families)
        self.persist_enabled = persist
        self._exists = exists
        self.persistence = None
        self.tools = dict((tool, tool) for family in self.families for tool in TOOLS[family])

    # --- checks, before anything changes ---
    def validate(self, which):
        found = dict((tool, which(tool)) for tool in self.tools)
        missing = [tool for tool in sorted(found) if not found[tool]]
        self.tools.update((tool, path) for tool, path in found.items() if path)
        if missing:
            raise IptablesError("missing on the target: %s (install iptables, or choose another backend)"
                                % ", ".join(missing))
        if self.persist_enabled:
            self.persistence = self.detect_persistence()
            if self.persistence is None:
                raise IptablesError(
                    "cannot tell how this host persists iptables rules: none of %s, %s, %s exists; "
                    "install iptables-services (RHEL) or iptables-persistent (Debian), or set persist: false"
                    % (RHEL_INIT[4], RHEL_FILES[4], os.path.dirname(DEBIAN_FILES[4])))
            # Nothing is applied that cannot be saved: a host must not lose its rules at the next boot.
            problems = [restore.cannot_write(self._saved_file(family)) for family in self.families]
            if any(problems):
                raise IptablesError("cannot save the rules for the next boot, nothing was changed: %s "
                                    "(make it writable, or set persist: false)" % "; ".join(p for p in problems if p))

    def detect_persistence(self):
        if self._exists(RHEL_INIT[4]) or self._exists(RHEL_FILES[4]):
            return "rhel"
        if self._exists(os.path.dirname(DEBIAN_FILES[4])):
            return "debian"
        return None

    # --- get ---
    def _save(self, family):
        rc, out, err = self.run([self.tools[TOOLS[family][0]], "-t", "filter"])
        if rc != 0:
            raise IptablesError("%s failed: %s" % (TOOLS[family][0], err.strip() or out.strip()))
        return out

    def read(self):
        return dict((family, parse_filter_table(self._save(family))) for family in self.families)

    def views(self, current, plan):
        now = dict((f, owned_view(current[f], plan.restricted)) for f in self.families)
        desired = dict((f, desired_view(plan, f, current[f], self.state)) for f in self.families)
        return now, desired

    def shadowing(self, current, plan):
        """Foreign rules that accept a restricted port before the restrictions are checked, per family."""
        return dict((f, shadowing(current[f], plan.restricted)) for f in self.families)

    @staticmethod
    def rule_count(views):
        """Rules this scope puts in the kernel, per family (the jumps included)."""
        return dict((family, count_rules(lines)) for family, lines in views.items())

    # --- set ---
    def write(self, current, plan):
        for family in self.families:
            payload = restore_payload(plan, family, current[family], self.state)
            tool = self.tools[TOOLS[family][1]]
            # Validate first: a payload the kernel would refuse changes nothing.
            rc, out, err = self.run([tool, "--test", "--noflush"], data=payload)
            if rc != 0:
                raise IptablesError("%s --test refused the change: %s\n%s" % (tool, err.strip(), payload))
            rc, out, err = self.run([tool, "--noflush"], data=payload)
            if rc != 0:
                raise IptablesError("%s failed: %s\n%s" % (tool, err.strip(), payload))

    # --- safety ---
    def snapshot(self, current=None):
        """Restore steps (see _restore_runner.py) that put the owned scope back as it is now: the
        owned chains and jumps of each family and, when persisting, the saved files."""
        steps = self.running_steps(self.read() if current is None else current)
        if self.persist_enabled and self.persistence:
            steps.extend(restore.file_steps(self._saved_file(family) for family in self.families))
        return steps

    def running_steps(self, current):
        """Restore steps of the running owned scope of current alone: its chains and jumps, per family."""
        steps = []
        for family in self.families:
            chains, jumps = _restore_runner.owned_iptables(current[family].text, PREFIX)
            steps.append({"iptables": {
                "save": [self.tools[TOOLS[family][0]], "-t", "filter"],
                "restore": [self.tools[TOOLS[family][1]]],
                "prefix": PREFIX, "chains": chains, "jumps": jumps}})
        return steps

    # --- persistence ---
    def _saved_file(self, family):
        return (RHEL_FILES if self.persistence == "rhel" else DEBIAN_FILES)[family]

    def saved_views(self, plan):
        """owned_view() of the saved files, and what it should be; None where unreadable."""
        current, desired = {}, {}
        for family in self.families:
            path = self._saved_file(family)
            text = ""
            if self._exists(path):
                text = _restore_runner.read_file(path) or ""
            table = parse_filter_table(text)
            current[family] = owned_view(table, plan.restricted) if text else ["# %s missing" % path]
            desired[family] = desired_view(plan, family, table, self.state)
        return current, desired

    def save_steps(self, plan):
        """Steps (see _restore_runner.py) that merge the owned chains and jumps into each saved file;
        every other line stays (Docker and fail2ban rebuild theirs at start, xapi saves its own). A
        missing file starts from the running rules."""
        steps = []
        for family in self.families:
            path = self._saved_file(family)
            text = _restore_runner.read_file(path)
            mode = 0o600
            if text is None:
                rc, text, err = self.run([self.tools[TOOLS[family][0]]])
                if rc != 0:
                    raise IptablesError("%s failed: %s" % (TOOLS[family][0], err.strip()))
            else:
                mode = stat.S_IMODE(os.stat(path).st_mode)
            table = parse_filter_table(text)
            chains = list(render_chains(plan, family).items()) if self.state == "present" else []
            jumps = desired_jumps(plan, table) if self.state == "present" else []
            steps.append({"write": path, "text": merge_saved(text, chains, jumps), "mode": mode})
        return steps

    def save(self, plan):
        restore.run_or_raise(self.save_steps(plan), self.run, IptablesError)
