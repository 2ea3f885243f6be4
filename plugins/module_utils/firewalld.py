# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld backend: one policy and ipsets of our own, applied with one reload.

Owned scope: the policy ``pmx-input`` (ingress ANY, egress HOST, priority -100, target
CONTINUE, so it is evaluated before every zone and lets unmatched traffic fall through
to them) and ipsets named ``pmx-<group>-4``/``-6``.  Stock zones, services and xapi's
services (dlm, nbd, ssh, vxlan, xapi-insecure, xenha) are never edited.  The permanent
XML files are written, checked with ``firewall-cmd --check-config`` (restored if
refused), then one ``firewall-cmd --reload`` makes runtime equal to permanent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import os
import re
import stat
import xml.etree.ElementTree as ET

from ansible_collections.portmatrix.xenserver.plugins.module_utils import _restore_runner, restore
from ansible_collections.portmatrix.xenserver.plugins.module_utils._backend import Backend

PREFIX = "pmx-"
POLICY = PREFIX + "input"
POLICY_PRIORITY = -100
GUARD_PRIORITY, ALLOW_PRIORITY, REJECT_PRIORITY = -30, -20, -10
FAMILY_NAMES = {4: "ipv4", 6: "ipv6"}
IPSET_FAMILIES = {4: "inet", 6: "inet6"}
CONFIG_DIR = "/etc/firewalld"
KINDS = ("ipsets", "policies")      # what we write
OWNED_KINDS = KINDS + ("services", "zones")   # where a pmx-* file is ours (and drift if unplanned)


# firewalld enabled at boot (systemctl enable firewalld), whether or not it runs now
ENABLED_LINKS = ("/etc/systemd/system/multi-user.target.wants/firewalld.service",)


class FirewalldError(RuntimeError):
    pass


def expected_reasons(config_dir=CONFIG_DIR, enabled_links=ENABLED_LINKS):
    """Why firewalld should be running on this host (its unit is enabled, or it holds this
    collection's objects), as phrases; empty when nothing says so."""
    reasons = ["its unit is enabled (%s)" % link for link in enabled_links if os.path.lexists(link)]
    owned = []
    for kind in OWNED_KINDS:
        directory = os.path.join(config_dir, kind)
        if os.path.isdir(directory):
            owned += ["%s/%s" % (kind, n) for n in sorted(os.listdir(directory)) if n.startswith(PREFIX) and n.endswith(".xml")]
    if owned:
        reasons.append("it holds this collection's objects (%s)" % ", ".join(owned))
    return reasons


def ipset_name(group, family):
    return "%s%s-%d" % (PREFIX, group.replace("_", "-"), family)


def rich_rules(plan):
    """The policy's rich rules, formatted exactly as firewall-cmd prints them.

    One rule per (group, family, port): rich rules take one port each, and the
    addresses sit in the ipset, so the count never multiplies by hosts."""
    rules = []
    for network, family, port in plan.guards:
        rules.append('rule priority="%d" family="%s" source address="%s" port port="%d" protocol="tcp" accept'
                     % (GUARD_PRIORITY, FAMILY_NAMES[family], network, port))
    for group in plan.groups:
        for family in (4, 6):
            if not group.networks[family]:
                continue
            for proto, ports in group.ports.items():
                for port in ports:
                    rules.append('rule priority="%d" family="%s" source ipset="%s" port port="%d" protocol="%s" accept'
                                 % (ALLOW_PRIORITY, FAMILY_NAMES[family], ipset_name(group.name, family), port, proto))
    for proto, ports in plan.restricted.items():
        for port in ports:
            rules.append('rule priority="%d" port port="%d" protocol="%s" reject' % (REJECT_PRIORITY, port, proto))
    return rules


def ipsets(plan):
    """ipset name -> (family, [entries]) for every group with addresses of that family."""
    found = {}
    for group in plan.groups:
        for family in (4, 6):
            if group.networks[family]:
                found[ipset_name(group.name, family)] = (family, list(group.networks[family]))
    return found


def _rule_xml(rule):
    # Inverse of the rich-rule text above: only the forms rich_rules() makes.
    attrs = dict(re.findall(r'(\w+)="([^"]*)"', rule.split(" source ")[0].split(" port ")[0]))
    element = ET.Element("rule", dict((k, v) for k, v in attrs.items() if k in ("priority", "family")))
    source = re.search(r'source (address|ipset)="([^"]*)"', rule)
    if source:
        ET.SubElement(element, "source", {source.group(1): source.group(2)})
    port = re.search(r'port port="(\d+)" protocol="(\w+)"', rule)
    ET.SubElement(element, "port", {"port": port.group(1), "protocol": port.group(2)})
    ET.SubElement(element, rule.rsplit(" ", 1)[1])
    return element


def render_files(plan, state="present"):
    """Relative path -> XML text of every owned permanent file."""
    if state == "absent":
        return {}
    files = {}
    for name, (family, entries) in sorted(ipsets(plan).items()):
        root = ET.Element("ipset", {"type": "hash:net"})
        ET.SubElement(root, "short").text = "portmatrix %s" % name
        ET.SubElement(root, "option", {"name": "family", "value": IPSET_FAMILIES[family]})
        for entry in entries:
            ET.SubElement(root, "entry").text = entry
        files["ipsets/%s.xml" % name] = _xml_text(root)
    root = ET.Element("policy", {"target": "CONTINUE", "priority": str(POLICY_PRIORITY)})
    ET.SubElement(root, "short").text = "portmatrix"
    ET.SubElement(root, "description").text = (
        "XenServer port matrix, managed by portmatrix.xenserver.firewall_rules. Edits are reverted.")
    ET.SubElement(root, "ingress-zone", {"name": "ANY"})
    ET.SubElement(root, "egress-zone", {"name": "HOST"})
    for rule in rich_rules(plan):
        root.append(_rule_xml(rule))
    files["policies/%s.xml" % POLICY] = _xml_text(root)
    return files


def _xml_text(root):
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root).decode("utf-8") + "\n"


# Policy settings as firewall-cmd --info-policy names them, and how one XML element reads there.
SETTINGS = collections.OrderedDict([
    ("service", ("services", lambda e: e.get("name"))),
    ("port", ("ports", lambda e: "%s/%s" % (e.get("port"), e.get("protocol")))),
    ("protocol", ("protocols", lambda e: e.get("value"))),
    ("forward-port", ("forward-ports", lambda e: "port=%s:proto=%s:toport=%s:toaddr=%s" % tuple(
        e.get(k, "") for k in ("port", "protocol", "to-port", "to-addr")))),
    ("source-port", ("source-ports", lambda e: "%s/%s" % (e.get("port"), e.get("protocol")))),
    ("icmp-block", ("icmp-blocks", lambda e: e.get("name"))),
])


def rich_rule_text(rule):
    """A <rule> element as firewall-cmd prints the rich rule."""
    parts = ["rule"] + ['%s="%s"' % (k, rule.get(k)) for k in ("priority", "family") if rule.get(k)]
    for child in rule:
        attrs = " ".join('%s="%s"' % (k, v) for k, v in child.attrib.items() if k != "invert")
        negation = "NOT " if child.get("invert", "").lower() in ("true", "yes", "1") else ""
        if child.tag in ("accept", "drop") and not attrs:
            parts.append(child.tag)
        elif child.tag in ("source", "destination"):
            parts.append("%s %s%s" % (child.tag, negation, attrs))
        else:
            parts.append(("%s %s" % (child.tag, attrs)).strip())
    return " ".join(parts)


def permanent_lines(path, text):
    """The lines runtime_view() prints for the object one permanent file defines, so that the
    permanent and the runtime state read alike (and a diff reads as rules, not XML)."""
    kind, name = path.split("/", 1)
    name = name[:-len(".xml")] if name.endswith(".xml") else name
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        return ["%s: unparsable (%s)" % (path, exc)]
    if kind == "ipsets" and root.tag == "ipset":
        options = " ".join("%s=%s" % (o.get("name"), o.get("value")) for o in root.findall("option"))
        return (["ipset %s: %s %s" % (name, root.get("type"), options)]
                + ["ipset %s: %s" % (name, e) for e in sorted((e.text or "").strip() for e in root.findall("entry"))])
    if kind != "policies" or root.tag != "policy":
        return ["%s: a %s of ours that the plan does not have" % (path, root.tag)]
    lines = ["policy %s: target %s priority %s ingress %s egress %s" % (
        name, root.get("target"), root.get("priority"), " ".join(e.get("name") for e in root.findall("ingress-zone")),
        " ".join(e.get("name") for e in root.findall("egress-zone")))]
    settings, rules = collections.OrderedDict(), []
    for child in root:
        if child.tag in SETTINGS:
            key, value = SETTINGS[child.tag]
            settings.setdefault(key, []).append(value(child))
        elif child.tag == "masquerade":
            settings["masquerade"] = ["yes"]
        elif child.tag == "rule":
            rules.append(rich_rule_text(child))
        elif child.tag not in ("short", "description", "ingress-zone", "egress-zone"):
            rules.append("<%s %s>" % (child.tag, " ".join('%s="%s"' % item for item in sorted(child.attrib.items()))))
    lines += ["policy %s: %s: %s" % (name, key, " ".join(values)) for key, values in settings.items()]
    return lines + ["policy %s: %s" % (name, rule) for rule in sorted(rules)]


def merged_view(permanent, runtime):
    """One line per rule: as runtime shows it, marked when only runtime or only the permanent
    configuration has it."""
    permanent_set, runtime_set = set(permanent), set(runtime)
    return ([line if line in permanent_set else line + "  # runtime only" for line in runtime]
            + [line + "  # permanent only" for line in permanent if line not in runtime_set])


def runtime_lines(plan, state="present"):
    """What the runtime view should be (see FirewalldBackend.runtime_view)."""
    if state == "absent":
        return []
    lines = ["policy %s: target CONTINUE priority %d ingress ANY egress HOST" % (POLICY, POLICY_PRIORITY)]
    lines += ["policy %s: %s" % (POLICY, r) for r in sorted(rich_rules(plan))]
    for name, (family, entries) in sorted(ipsets(plan).items()):
        lines.append("ipset %s: hash:net family=%s" % (name, IPSET_FAMILIES[family]))
        lines += ["ipset %s: %s" % (name, e) for e in sorted(entries)]
    return lines


def parse_info(text):
    """firewall-cmd --info-* output -> {key: value}, rich rules as a list."""
    info = {"rich rules": []}
    key = None
    for raw in text.splitlines()[1:]:
        if raw.startswith("\t") or raw.startswith("        "):
            if key == "rich rules" and raw.strip():
                info["rich rules"].append(raw.strip())
            continue
        if ":" in raw:
            key, value = raw.strip().split(":", 1)
            if key != "rich rules":
                info[key] = value.strip()
    return info


# What a zone holds at runtime that others change without --permanent (xapi on XenServer 9
# adds and removes its services that way): firewall-cmd's key -> its --add-/--remove- option.
ZONE_ITEMS = (("services", "service"), ("ports", "port"), ("protocols", "protocol"),
              ("source-ports", "source-port"), ("icmp-blocks", "icmp-block"))


def parse_zones(text):
    """firewall-cmd [--permanent] --list-all-zones -> {zone: {key: set of items, "rich rules": set}}."""
    zones, zone, key = {}, None, None
    for raw in text.splitlines():
        if raw and not raw[0].isspace():
            zone = zones.setdefault(raw.split()[0], {"rich rules": set()})
            continue
        if zone is None or not raw.strip():
            continue
        if raw.startswith("\t") or raw.startswith("        "):
            if key == "rich rules":
                zone["rich rules"].add(raw.strip())
            continue
        key, _sep, value = raw.strip().partition(":")
        if key != "rich rules":
            zone[key] = set(value.split())
    return zones


def runtime_only_commands(runtime, permanent):
    """firewall-cmd argument lists that put back, after a reload (runtime = permanent), what the
    zones held at runtime only, and take out what they lacked at runtime only."""
    commands = []
    for zone in sorted(runtime):
        now, saved = runtime[zone], permanent.get(zone, {})
        for key, option in ZONE_ITEMS + (("rich rules", "rich-rule"),):
            for value in sorted(now.get(key, set()) - saved.get(key, set())):
                commands.append(["--zone=%s" % zone, "--add-%s=%s" % (option, value)])
            for value in sorted(saved.get(key, set()) - now.get(key, set())):
                commands.append(["--zone=%s" % zone, "--remove-%s=%s" % (option, value)])
    return commands


SHIPPED_SERVICES = "/usr/lib/firewalld/services"
RICH_PORT = re.compile(r'(?:^|\s)port port="([0-9-]+)" protocol="(\w+)"')
RICH_SERVICE = re.compile(r'service name="([^"]+)"')


def service_ports(name, directories, depth=0):
    """Port specs ("2049/tcp", "5404-5405/udp") a firewalld service opens, from its XML file (the
    first of directories that has it, /etc before /usr/lib as firewalld reads them), includes too."""
    for directory in directories:
        text = _restore_runner.read_file(os.path.join(directory, name + ".xml"))
        if text is None:
            continue
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            return []
        specs = ["%s/%s" % (p.get("port"), p.get("protocol")) for p in root.findall("port") if p.get("port")]
        for include in root.findall("include") if depth < 5 else ():
            specs += service_ports(include.get("service", ""), directories, depth + 1)
        return specs
    return []


def restricted_hits(specs, restricted):
    """The restricted ports, as "2049/tcp", that port specs ("2049/tcp", "5404-5405/udp") cover."""
    hits = []
    for spec in specs:
        port, _sep, proto = spec.partition("/")
        low, _sep, high = port.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            continue
        hits += ["%d/%s" % (p, proto) for p in sorted(restricted.get(proto, ())) if int(low) <= p <= int(high or low)]
    return sorted(set(hits), key=lambda hit: (hit.split("/")[1], int(hit.split("/")[0])))


def openings(settings, restricted, ports_of):
    """[(what, restricted ports it accepts)] of a zone's or a policy's settings (parse_zones())."""
    if settings.get("target") == set(["ACCEPT"]):
        return [("target ACCEPT", restricted_hits(["%d/%s" % (p, proto) for proto, ports in restricted.items()
                                                   for p in ports], restricted))]
    found = [("service %s" % name, restricted_hits(ports_of(name), restricted))
             for name in sorted(settings.get("services", ()))]
    found += [("port %s" % spec, restricted_hits([spec], restricted)) for spec in sorted(settings.get("ports", ()))]
    for rule in sorted(settings.get("rich rules", ())):
        if re.search(r"\saccept\b", rule):
            specs = ["%s/%s" % m for m in RICH_PORT.findall(rule)]
            specs += [spec for name in RICH_SERVICE.findall(rule) for spec in ports_of(name)]
            found.append(("rich rule '%s'" % rule, restricted_hits(specs, restricted)))
    return [(what, hits) for what, hits in found if hits]


def earlier_policy_openings(policies, restricted, ports_of):
    """Lines naming what other policies evaluated before ours (lower priority, egress HOST) accept
    of the restricted ports: they win over our rejects."""
    lines = []
    for name in sorted(policies):
        settings = policies[name]
        priority = next(iter(settings.get("priority", ["0"])))
        if (name.startswith(PREFIX) or "HOST" not in settings.get("egress-zones", ())
                or not re.match(r"^-?\d+$", priority) or int(priority) >= POLICY_PRIORITY):
            continue
        lines += ["policy %s (priority %s, before %s): %s accepts %s" % (name, priority, POLICY, what, " ".join(hits))
                  for what, hits in openings(settings, restricted, ports_of)]
    return lines


def zone_openings(zones, default_zone, restricted, ports_of):
    """Lines naming what the zones in use (the default zone, zones with interfaces or sources)
    open of the restricted ports: open to everyone while our policy is not running."""
    lines = []
    for name in sorted(zones):
        settings = zones[name]
        if name != default_zone and not settings.get("interfaces") and not settings.get("sources"):
            continue
        whom = ("the sources " + " ".join(sorted(settings["sources"])) if settings.get("sources") and
                name != default_zone and not settings.get("interfaces") else "every source")
        lines += ["zone %s: %s opens %s to %s while %s is not running" % (name, what, " ".join(hits), whom, POLICY)
                  for what, hits in openings(settings, restricted, ports_of)]
    return lines


class FirewalldBackend(Backend):
    """get/set of the owned firewalld scope (permanent files, then a reload); the Transaction does the rest."""

    name = "firewalld"

    def __init__(self, run, state="present", config_dir=CONFIG_DIR):
        super(FirewalldBackend, self).__init__(run, state)
        self.config_dir = config_dir
        self.firewall_cmd = "firewall-cmd"

    def _cmd(self, *args):
        rc, out, err = self.run([self.firewall_cmd] + list(args))
        if rc != 0:
            raise FirewalldError("firewall-cmd %s failed (rc %d): %s" % (" ".join(args), rc, (err or out).strip()))
        return out

    def validate(self, which):
        self.firewall_cmd = which("firewall-cmd")
        if not self.firewall_cmd:
            raise FirewalldError("firewall-cmd is missing on the target (install firewalld, or use backend iptables)")
        rc, out, err = self.run([self.firewall_cmd, "--state"])
        if rc != 0 or out.strip() != "running":
            raise FirewalldError("firewalld is not running (firewall-cmd --state: %s); start it, or use backend iptables"
                                 % (out.strip() or err.strip()))
        version = self._cmd("--version").strip()
        numbers = [int(n) for n in re.findall(r"\d+", version)[:2]]
        if numbers < [0, 9]:
            raise FirewalldError("firewalld %s has no policies; 0.9 or newer is needed" % version)
        problems = [restore.cannot_write(os.path.join(d if os.path.isdir(d) else self.config_dir, PREFIX + "probe.xml"))
                    for d in (os.path.join(self.config_dir, kind) for kind in KINDS)]
        if any(problems):
            raise FirewalldError("cannot write firewalld's permanent configuration, nothing was changed: %s"
                                 % "; ".join(p for p in problems if p))

    # --- get ---
    def owned_files(self):
        found = {}
        for kind in OWNED_KINDS:
            directory = os.path.join(self.config_dir, kind)
            if not os.path.isdir(directory):
                continue
            for name in sorted(os.listdir(directory)):
                if name.startswith(PREFIX) and name.endswith(".xml"):
                    found["%s/%s" % (kind, name)] = _restore_runner.read_file(os.path.join(directory, name))
        return found

    def permanent_view(self, files=None):
        files = self.owned_files() if files is None else files
        return [line for path in sorted(files) for line in permanent_lines(path, files[path])]

    def runtime_view(self):
        lines = []
        policies = [p for p in self._cmd("--get-policies").split() if p.startswith(PREFIX)]
        for policy in policies:
            info = parse_info(self._cmd("--info-policy=%s" % policy))
            lines.append("policy %s: target %s priority %s ingress %s egress %s" % (
                policy, info.get("target"), info.get("priority"), info.get("ingress-zones"), info.get("egress-zones")))
            for key in ("services", "ports", "protocols", "forward-ports", "source-ports", "icmp-blocks"):
                if info.get(key):
                    lines.append("policy %s: %s: %s" % (policy, key, info[key]))
            if info.get("masquerade", "no") != "no":
                lines.append("policy %s: masquerade: %s" % (policy, info["masquerade"]))
            lines += ["policy %s: %s" % (policy, r) for r in sorted(info["rich rules"])]
        for name in sorted(n for n in self._cmd("--get-ipsets").split() if n.startswith(PREFIX)):
            info = parse_info(self._cmd("--info-ipset=%s" % name))
            lines.append("ipset %s: %s %s" % (name, info.get("type"), info.get("options")))
            lines += ["ipset %s: %s" % (name, e) for e in sorted(info.get("entries", "").split())]
        return lines

    def read(self):
        return {"files": self.owned_files(), "runtime": self.runtime_view()}

    def views(self, current, plan):
        """Permanent and runtime state as one list of lines, and the plan's (both equal)."""
        now = merged_view(self.permanent_view(current["files"]), current["runtime"])
        return {"firewalld": now}, {"firewalld": runtime_lines(plan, self.state)}

    def shadowing(self, current, plan):
        """Foreign settings that accept a restricted port before or without the policy: policies
        evaluated before it, and, while it is not running, the zones (see the design doc)."""
        if not plan.restricted or self.state == "absent":
            return {}
        lines = earlier_policy_openings(parse_zones(self._cmd("--list-all-policies")), plan.restricted,
                                        self.service_ports)
        if not any(line.startswith("policy %s:" % POLICY) for line in current["runtime"]):
            lines += zone_openings(parse_zones(self._cmd("--list-all-zones")), self._cmd("--get-default-zone").strip(),
                                   plan.restricted, self.service_ports)
        return {"firewalld": lines} if lines else {}

    def service_ports(self, name):
        return service_ports(name, (os.path.join(self.config_dir, "services"), SHIPPED_SERVICES))

    @staticmethod
    def rule_count(views):
        """Rich rules of the policy (ipset entries are set members, not rules)."""
        return {"firewalld": sum(1 for line in views["firewalld"] if line.startswith("policy ") and ": rule " in line)}

    # --- set ---
    def write(self, current, plan):
        desired = render_files(plan, self.state)
        old = current["files"]
        for path, text in desired.items():
            _restore_runner.write_file(os.path.join(self.config_dir, path), text, 0o640)
        for path in old:
            if path not in desired:
                os.remove(os.path.join(self.config_dir, path))
        rc, out, err = self.run([self.firewall_cmd, "--check-config"])
        if rc != 0:
            # The transaction puts the old files back: a config firewalld refuses never waits for a reload.
            raise FirewalldError("firewall-cmd --check-config refused the new configuration: %s" % (err or out).strip())
        self.reload()

    def runtime_only(self):
        """What the zones hold (or lack) at runtime only, as firewall-cmd argument lists."""
        return runtime_only_commands(parse_zones(self._cmd("--list-all-zones")),
                                     parse_zones(self._cmd("--permanent", "--list-all-zones")))

    def reload(self):
        """firewall-cmd --reload, which makes runtime equal to permanent, then the zones' runtime-only
        state as it was: a reload must not undo what others changed at runtime only (xapi on
        XenServer 9 adds and removes its services without --permanent)."""
        kept = self.runtime_only()
        self._cmd("--reload")
        for args in kept:
            self._cmd(*args)

    # --- safety ---
    def snapshot(self, current=None):
        """Restore steps (see _restore_runner.py) that put the owned scope back as it is now: the owned
        permanent files, then a reload (runtime = permanent)."""
        found = self.owned_files() if current is None else current["files"]
        steps = []
        for kind in OWNED_KINDS:
            files = dict((path.split("/", 1)[1], {"text": text, "mode": _mode(os.path.join(self.config_dir, path))})
                         for path, text in found.items() if path.startswith(kind + "/"))
            steps.append({"sync": os.path.join(self.config_dir, kind), "prefix": PREFIX, "suffix": ".xml", "files": files})
        steps.append({"run": [self.firewall_cmd, "--reload"]})
        # the zones' runtime-only state, which the reload undoes, as it is now (see reload())
        steps.extend({"run": [self.firewall_cmd] + args} for args in self.runtime_only())
        return steps

    def running_steps(self, current):
        """Nothing for the confirmation to compare: firewalld's runtime is reloaded from the permanent files,
        which are the change (a rollback restores them)."""
        return []

    # Permanent equals runtime after every write: nothing else to save.
    def saved_views(self, plan):
        return None, None

    def save_steps(self, plan):
        return []

    def save(self, plan):
        return None


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)
