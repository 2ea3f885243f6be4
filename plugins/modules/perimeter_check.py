#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds the documentation only: perimeter_check runs on the controller
# (plugins/action/perimeter_check.py).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: perimeter_check
author: portmatrix.xenserver maintainers (@portmatrix)
version_added: 0.2.0
short_description: Check a network team's Aerleon policy against the flows of the inventory
description:
  - Runs on the controller, contacts no host and writes nothing into the policy directory. Works out the flows of the
    whole inventory as P(portmatrix.xenserver.inventory_flows#module) does and reads an Aerleon policy directory, the
    network team's repository (C(def/*.yaml) networks and services, C(policies/**/pol/*.yaml) policies, YAML includes
    resolved).
  - Lists the flows of the estate that no accept term lets through (C(missing); the first matching term decides, so a
    deny term before an accept term also makes a flow missing), and what accept terms allow beyond the estate's flows
    (C(extra)), and fails when either list is not empty.
  - The portmatrix.xenserver.perimeter playbook runs it. See docs/guides/network-team.md.
options:
  policy:
    description:
      - The Aerleon policy directory (the one that holds C(def/) and C(policies/)).
      - Not given, the variable C(portmatrix_perimeter_policy); one of the two is needed.
    type: path
  report:
    description:
      - Also write the result to C(REPORT.json), C(REPORT.txt) and C(REPORT.html) (a self-contained page).
      - Not given, the variable C(portmatrix_perimeter_report), if set.
    type: path
extends_documentation_fragment:
  - portmatrix.xenserver.attributes.controller
seealso:
  - module: portmatrix.xenserver.inventory_flows
"""

EXAMPLES = r"""
- name: Check the network team's policy repository
  portmatrix.xenserver.perimeter_check:
    policy: /srv/acl-policies
    report: perimeter
"""

RETURN = r"""
missing:
  description: Flows of the estate the policy does not accept, one per source, destination, protocol and port.
  returned: success
  type: list
  elements: dict
extra:
  description: What accept terms allow beyond the estate's flows (file, term, source, destination, protocol, ports).
  returned: success
  type: list
  elements: dict
flows:
  description: Flows of the estate checked (source address, destination address, protocol, port).
  returned: success
  type: int
terms:
  description: Terms read from the policy directory.
  returned: success
  type: int
policy:
  description: The absolute policy directory.
  returned: success
  type: str
text:
  description: The result as lines of text.
  returned: success
  type: list
  elements: str
report:
  description: The files written.
  returned: when O(report) is given
  type: list
  elements: str
"""
