# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""/etc/xensource-inventory of a XenServer host, read into a dictionary.

The file is KEY='value' lines (INSTALLATION_UUID, CC_PREPARATIONS, ...): the key is what comes
before the first '=', the value is stripped of blanks and of its quotes (xapi-project/xen-api,
scripts/examples/python/inventory.py, read_kvpairs). Double quotes are taken off too, as the
playbook's earlier reading did."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def parse(text):
    """{KEY: value} of the KEY=value lines; one pair of enclosing quotes (' or ") is removed,
    lines without '=' (comments, blanks) are skipped, a later key wins."""
    out = {}
    for line in (text or "").splitlines():
        if "=" not in line or line.lstrip().startswith("#"):
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out
