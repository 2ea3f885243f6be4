# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which XenServer-family platform a host is, and what xapi does to its firewall there.

Runs on the target (Python 3.6, standard library only).  The platform decides what the
collection expects from xapi on the host:

- xenserver8 and xcp-ng8: iptables (iptables-services).  xapi's firewall-port plugin (xen-api
  scripts/plugins/firewall-port) opens ports with ``iptables -I xapi-INPUT`` (port 80 in
  RH-Firewall-1-INPUT), creating xapi-INPUT with a final RETURN and a jump from the top of
  INPUT when it is missing, then saves the WHOLE running ruleset
  (/usr/libexec/iptables/iptables.init save).  At every xapi start (ocaml/xapi/dbsync_slave.ml)
  it opens 80 again while the host's https-only is false.  XCP-ng 8: linstor-manager
  (xcp-ng/sm drivers/linstor-manager) opens the XOSTOR ports through firewall-port and DRBD's
  7000:8000 with ``iptables -I INPUT`` (checking only that its rule exists), then
  ``service iptables save``.
- xenserver9: firewalld.  xapi adds and removes its services (dlm, nbd, ssh, vxlan,
  xapi-insecure, xenha) with ``firewall-cmd --add-service`` / ``--remove-service`` in the
  DEFAULT zone, at runtime only (ocaml/xapi/firewall.ml); update-xapi-firewalld.service
  (PartOf=firewalld.service, scripts/update-xapi-firewalld.service) adds them again after a
  firewalld restart, not after a reload.

Detection reads /etc/xensource-inventory (PRODUCT_BRAND, PRODUCT_VERSION, written by
xenserver/host-installer backend.py) and falls back to /etc/os-release.  Common Criteria
hosts: the installer writes CC_PREPARATIONS='true' into the inventory (host-installer
backend.py); xapi reads any value but "false" as true (xen-api ocaml/xapi/xapi_host.ml
cc_prep) and then refuses to change https-only (ILLEGAL_IN_FIPS_MODE).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import re

XENSOURCE_INVENTORY = "/etc/xensource-inventory"
OS_RELEASE = "/etc/os-release"

# platform -> the firewall xapi drives there and what xapi owns in it
PLATFORMS = collections.OrderedDict([
    ("xenserver8", {"backend": "iptables",
                    "xapi_owns": "chain xapi-INPUT and its jump, the port-80 rule of RH-Firewall-1-INPUT",
                    "source": "xen-api scripts/plugins/firewall-port, ocaml/xapi/dbsync_slave.ml"}),
    ("xenserver9", {"backend": "firewalld",
                    "xapi_owns": "the services dlm, nbd, ssh, vxlan, xapi-insecure, xenha in the default zone",
                    "source": "xen-api ocaml/xapi/firewall.ml, scripts/update-xapi-firewalld.service"}),
    ("xcp-ng8", {"backend": "iptables",
                 "xapi_owns": "chain xapi-INPUT and its jump, the port-80 rule of RH-Firewall-1-INPUT; "
                              "linstor-manager's DRBD rule in INPUT (XOSTOR)",
                 "source": "xen-api scripts/plugins/firewall-port; xcp-ng/sm drivers/linstor-manager"}),
])
CHOICES = ("auto",) + tuple(PLATFORMS)
_LINE = re.compile(r"""^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:'([^']*)'|"([^"]*)"|(\S*))\s*$""")


def parse_assignments(text):
    """KEY='value' lines (xensource-inventory, os-release) -> {KEY: value}."""
    found = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            found[match.group(1)] = next(g for g in match.groups()[1:] if g is not None)
    return found


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _major(version):
    match = re.match(r"^\s*(\d+)", version or "")
    return int(match.group(1)) if match else None


def from_files(inventory_text, os_release_text):
    """The platform of a host from the text of its inventory file and os-release (None: absent)."""
    inventory = parse_assignments(inventory_text or "")
    release = parse_assignments(os_release_text or "")
    brand, version = inventory.get("PRODUCT_BRAND", ""), inventory.get("PRODUCT_VERSION", "")
    source = XENSOURCE_INVENTORY if brand else None
    if not brand:  # no inventory brand: os-release (ID=xcp-ng, ID=xenenterprise)
        brand, version = {"xcp-ng": "XCP-ng", "xenenterprise": "XenServer"}.get(release.get("ID", ""), ""), \
            release.get("VERSION_ID", "")
        source = OS_RELEASE if brand else None
    major, name = _major(version), None
    if brand.lower().startswith("xcp-ng") and major == 8:
        name = "xcp-ng8"
    elif brand and not brand.lower().startswith("xcp-ng") and major in (8, 9):
        name = "xenserver%d" % major
    cc_value = inventory.get("CC_PREPARATIONS")
    return collections.OrderedDict([
        ("platform", name),
        ("product_brand", brand or None),
        ("product_version", version or None),
        ("detected_from", source),
        # xapi's cc_prep: "true" and any value but "false" mean Common Criteria (FIPS) mode
        ("cc_preparations", cc_value is not None and cc_value.strip().lower() != "false"),
        ("cc_preparations_value", cc_value),
    ])


def detect(read=_read):
    return from_files(read(XENSOURCE_INVENTORY), read(OS_RELEASE))


def describe(requested, detected):
    """What the module reports: the platform in effect, detected and requested, and what xapi owns there."""
    name = detected["platform"] if requested == "auto" else requested
    report = collections.OrderedDict([("name", name), ("requested", requested)])
    report.update(detected)
    report["expects"] = PLATFORMS.get(name)
    return report


def problem(requested, detected, backend, https_only):
    """Why the module must stop before changing anything on this host, or None."""
    if requested not in CHOICES:
        return "platform %r: valid platforms are %s" % (requested, ", ".join(CHOICES))
    if requested != "auto" and detected["platform"] and detected["platform"] != requested:
        return ("portmatrix_platform is %s but this host is %s (PRODUCT_BRAND=%s, PRODUCT_VERSION=%s in %s); "
                "nothing was changed" % (requested, detected["platform"], detected["product_brand"],
                                         detected["product_version"], detected["detected_from"]))
    # with a platform given, the backend must be the firewall xapi drives there (auto: the backend's
    # own checks speak, e.g. "firewalld is not running")
    expected = PLATFORMS.get(requested, {}).get("backend")
    name = requested
    if expected and backend not in ("auto", expected):
        return ("backend %s on a %s host: xapi drives %s there (%s), so the collection's rules must live in %s "
                "too; nothing was changed" % (backend, name, expected, PLATFORMS[name]["source"], expected))
    if https_only and detected["cc_preparations"]:
        return ("this host runs in Common Criteria / FIPS mode (CC_PREPARATIONS=%s in %s): xapi refuses to change "
                "https-only there (ILLEGAL_IN_FIPS_MODE, xen-api ocaml/xapi/xapi_host.ml set_https_only), so "
                "https_only (portmatrix_https_only) cannot be applied; nothing was changed. Set "
                "portmatrix_https_only to false for this host: its Common Criteria rules accept 443 only "
                "(host-installer common_criteria_firewall_rules)"
                % (detected["cc_preparations_value"].strip().strip("'\""), XENSOURCE_INVENTORY))
    return None
