# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""iptables/ip6tables backend: chains of our own, one iptables-restore per family.

Owned scope: every chain named PMX-* in the filter table and every rule elsewhere that
jumps into one (normally the single ``-A INPUT -j PMX-INPUT``).  Nothing else is read
for writing: other chains (RH-Firewall-1-INPUT, xapi-INPUT, xapi_nbd_*, Docker's,
fail2ban's) are only looked at to place the jump before the first terminal REJECT/DROP.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import os

from ansible_collections.portmatrix.xenserver.plugins.module_utils import restore

PREFIX = "PMX-"
ENTRY_CHAIN = PREFIX + "INPUT"
JUMP = "-A INPUT -j %s" % ENTRY_CHAIN
MULTIPORT_MAX = 15  # the multiport match takes at most 15 ports
REJECT_WITH = {4: {"tcp": "tcp-reset", "udp": "icmp-port-unreachable"},
               6: {"tcp": "tcp-reset", "udp": "icmp6-port-unreachable"}}
TOOLS = {4: ("iptables-save", "iptables-restore"), 6: ("ip6tables-save", "ip6tables-restore")}

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
    chains, rules = restore.parse_filter(text)
    return FilterTable(chains, rules, text or "")


_target = restore.rule_target


def is_owned_chain(name):
    return name.startswith(PREFIX)


def is_owned_rule(rule):
    """A rule outside our chains that leads into them (the jump, wherever it was moved)."""
    target = _target(rule)
    return bool(target) and is_owned_chain(target) and not is_owned_chain(rule.split()[1])


def _ends_terminally(rules):
    # A chain whose last rule is an unconditional REJECT/DROP: the stock dom0 chain.
    if not rules:
        return False
    words = rules[-1].split()
    return len(words) >= 4 and words[2] == "-j" and words[3] in ("REJECT", "DROP")


def jump_index(table):
    """Where the jump belongs among INPUT's rules that are not ours: before the first
    REJECT/DROP, or jump to a chain ending in one; appended when there is none."""
    foreign = [r for r in table.rules.get("INPUT", []) if not is_owned_rule(r)]
    for index, rule in enumerate(foreign):
        target = _target(rule)
        if target in ("REJECT", "DROP"):
            return index
        if target and not is_owned_chain(target) and _ends_terminally(table.rules.get(target, [])):
            return index
    return len(foreign)


def _chunks(ports):
    ports = list(ports)
    for start in range(0, len(ports), MULTIPORT_MAX):
        yield ports[start:start + MULTIPORT_MAX]


def render_chains(plan, family):
    """The owned chains for one family, as iptables-save prints them: name -> [rules]."""
    chains = collections.OrderedDict()
    # Loopback first: the host's own traffic to itself is never filtered by this scope.
    entry = ["-A %s -i lo -j RETURN" % ENTRY_CHAIN]
    chains[ENTRY_CHAIN] = entry
    if plan.guard and plan.guard[1] == family:
        entry.append("-A %s -s %s -p tcp -m tcp --dport %d -j ACCEPT" % (ENTRY_CHAIN, plan.guard[0], plan.guard[2]))
    for group in plan.groups:
        networks = group.networks[family]
        if not networks:
            continue
        chain = PREFIX + group.name
        for network in networks:
            entry.append("-A %s -s %s -j %s" % (ENTRY_CHAIN, network, chain))
        chains[chain] = [
            "-A %s -p %s -m multiport --dports %s -j ACCEPT" % (chain, proto, ",".join(str(p) for p in chunk))
            for proto, ports in group.ports.items() for chunk in _chunks(ports)]
    for proto, ports in plan.restricted.items():
        for chunk in _chunks(ports):
            entry.append("-A %s -p %s -m multiport --dports %s -m conntrack --ctstate NEW -j REJECT --reject-with %s"
                         % (ENTRY_CHAIN, proto, ",".join(str(p) for p in chunk), REJECT_WITH[family][proto]))
    return chains


def owned_view(table):
    """The owned scope of a table as comparable lines: our chains, then the jump and
    the INPUT rule it stands before (that is how a moved jump shows)."""
    lines = []
    for name in sorted(n for n in table.chains if is_owned_chain(n)):
        lines.append(":%s" % name)
        lines.extend(table.rules.get(name, []))
    foreign = []
    for chain, rules in table.rules.items():
        if is_owned_chain(chain):
            continue
        for rule in rules:
            if is_owned_rule(rule):
                following = [r for r in foreign if r.split()[1] == chain]
                lines.append("%s  # after %d rule(s) of %s" % (rule, len(following), chain))
            else:
                foreign.append(rule)
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
    lines.append("%s  # after %d rule(s) of INPUT" % (JUMP, jump_index(table)))
    return lines


def restore_payload(plan, family, table, state="present"):
    """One iptables-restore --noflush transaction that makes the owned scope right.

    Declaring a chain flushes it; rules go back in order; every stray jump into our
    chains is deleted and the one jump re-inserted at its place; chains we no longer
    need are deleted last, once nothing refers to them (restore.iptables_payload)."""
    if state != "present":
        return restore.iptables_payload(table.text, PREFIX, [], [])
    chains = render_chains(plan, family)
    return restore.iptables_payload(table.text, PREFIX, list(chains.items()), [["INPUT", jump_index(table), JUMP]])


def count_rules(view):
    return sum(1 for line in view if line.startswith("-A "))


class IptablesBackend:
    """get/set of the owned scope for IPv4 and IPv6; the Transaction does the rest."""

    name = "iptables"

    def __init__(self, run, families, state="present", persist=True, exists=os.path.exists):
        # run(argv, data=None) -> (rc, stdout, stderr): the module's run_command.
        self.run = run
        self.families = tuple(families)
        self.state = state
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

    def views(self, tables, plan):
        current = dict((f, owned_view(tables[f])) for f in self.families)
        desired = dict((f, desired_view(plan, f, tables[f], self.state)) for f in self.families)
        return current, desired

    @staticmethod
    def rule_count(views):
        """Rules this scope puts in the kernel, per family (the jump included)."""
        return dict((family, count_rules(lines)) for family, lines in views.items())

    # --- set ---
    def write(self, tables, plan):
        for family in self.families:
            payload = restore_payload(plan, family, tables[family], self.state)
            tool = self.tools[TOOLS[family][1]]
            # Validate first: a payload the kernel would refuse changes nothing.
            rc, out, err = self.run([tool, "--test", "--noflush"], data=payload)
            if rc != 0:
                raise IptablesError("%s --test refused the change: %s\n%s" % (tool, err.strip(), payload))
            rc, out, err = self.run([tool, "--noflush"], data=payload)
            if rc != 0:
                raise IptablesError("%s failed: %s\n%s" % (tool, err.strip(), payload))

    # --- safety ---
    def snapshot(self, tables=None):
        """Restore steps (see restore.py) that put the owned scope back as it is now: the
        owned chains and jumps of each family and, when persisting, the saved files."""
        tables = self.read() if tables is None else tables
        steps = []
        for family in self.families:
            chains, jumps = restore.owned_iptables(tables[family].text, PREFIX)
            steps.append({"iptables": {
                "save": [self.tools[TOOLS[family][0]], "-t", "filter"],
                "restore": [self.tools[TOOLS[family][1]]],
                "prefix": PREFIX, "chains": chains, "jumps": jumps}})
        if self.persist_enabled and self.persistence:
            steps.extend(restore.file_steps(self._saved_file(family) for family in self.families))
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
                text = restore.read_file(path) or ""
            table = parse_filter_table(text)
            current[family] = owned_view(table) if text else ["# %s missing" % path]
            desired[family] = desired_view(plan, family, table, self.state)
        return current, desired

    def save(self, plan):
        for family in self.families:
            init = RHEL_INIT[family]
            if self.persistence == "rhel" and self._exists(init):
                rc, out, err = self.run([init, "save"])
                if rc != 0:
                    raise IptablesError("%s save failed: %s" % (init, err.strip() or out.strip()))
                continue
            rc, out, err = self.run([self.tools[TOOLS[family][0]]])
            if rc != 0:
                raise IptablesError("%s failed: %s" % (TOOLS[family][0], err.strip()))
            restore.write_file(self._saved_file(family), out, 0o600)
