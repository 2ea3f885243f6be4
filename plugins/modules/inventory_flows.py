#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds the documentation only: inventory_flows runs on the controller
# (plugins/action/inventory_flows.py).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: inventory_flows
author: portmatrix.xenserver maintainers (@portmatrix)
version_added: 0.2.0
short_description: The concrete flows of the whole inventory, per host pair and merged for change requests
description:
  - Runs on the controller and contacts no host. Works out every host's firewall from the inventory the way
    P(portmatrix.xenserver.firewall_rules#module) does with C(from_inventory) (every host's C(portmatrix_*) variables
    as the inventory and extra vars give them), checks all of it (a bad value fails with a message naming the host and
    the variable), and expands the matrix into the flows between the hosts.
  - With O(dest), writes C(flows.json), C(flows.csv) and C(flows.md) (one row per source host, destination host,
    protocol and port) and C(change-request.json), C(change-request.csv) and C(change-request.md) (one row per source
    group, destination group, address family, protocol and port list, with every source and destination address of
    that family, the matrix's purpose text, the inventory groups that hold the row's hosts; same-pool flows are per
    pool; sorted by destination, port and source; named after the inventory (C(portmatrix_inventory_name)) and
    dated), which is what a perimeter firewall change request needs.
  - A file whose content would not change (for the change request, its date aside) is left as it is, and the task
    reports C(changed) only when a file was replaced.
  - An NFS filer the collection does not manage, with neither C(portmatrix_nfsv3_ports) nor
    C(portmatrix_nfs_appliance) set, has the Linux NFSv3 pins assumed; the task warns and the change request's rows
    to it say so (column C(note)). The change request also lists the matrix's
    outbound connections to the vendor's services by DNS name (updates, telemetry), with the addresses of the hosts
    that make them; those are perimeter or proxy rules, never host rules.
  - The formats written are those of C(portmatrix_flows_formats) (default V([csv, json, md])); with V(aerleon) it also
    writes C(aerleon/), an Aerleon policy directory (C(def/portmatrix-networks.yaml), C(def/portmatrix-services.yaml),
    C(policies/pol/portmatrix-<zone>.yaml), shaped by C(portmatrix_aerleon_zones) and C(portmatrix_aerleon_targets))
    for the network team's firewalls; see docs/guides/network-team.md.
  - The portmatrix.xenserver.flows playbook runs it.
options:
  dest:
    description:
      - Directory to write the files into, created when missing. A relative path is relative to the directory
        C(ansible-playbook) runs in (not to the playbook's directory).
    type: path
  targets:
    description:
      - Also return, per source host, the destinations it must reach, and what the verify playbook's probe tries
        from it (RV(probes)).
      - Given a plan (C(portmatrix_plan_file), C(portmatrix_plan_data)), these are the plan's flows; a host of the
        play that the plan does not cover fails the task, as the site playbook refuses it.
    type: bool
    default: false
extends_documentation_fragment:
  - portmatrix.xenserver.attributes.controller
seealso:
  - module: portmatrix.xenserver.plan
  - module: portmatrix.xenserver.firewall_rules
"""

EXAMPLES = r"""
- name: Write the flows of this inventory into ./flows
  portmatrix.xenserver.inventory_flows:
    dest: flows
"""

RETURN = r"""
hosts:
  description: Hosts of the component groups.
  returned: success
  type: int
flows:
  description: Flows per host pair and port.
  returned: success
  type: int
merged:
  description: Rows of the change-request view.
  returned: success
  type: int
managed:
  description: Hosts whose firewall the collection manages.
  returned: success
  type: list
  elements: str
unmanaged:
  description: Hosts that serve flows but are not managed (portmatrix_manage_firewall=false, Windows).
  returned: success
  type: list
  elements: str
outbound:
  description: Rows of outbound connections by name in the change request.
  returned: success
  type: int
replaced:
  description: The files written because their content changed (none when the inventory's flows did not change).
  returned: when O(dest) is set, not in check mode
  type: list
  elements: str
inventory:
  description: The inventory's name in the change request.
  returned: when O(dest) is set, not in check mode
  type: str
dest:
  description: The absolute directory the files went to.
  returned: when O(dest) is given
  type: str
files:
  description: The file names written (or that would be, in check mode).
  returned: when O(dest) is given
  type: list
  elements: str
summary:
  description: One line on what was written where (the flows playbook prints it).
  returned: when O(dest) is given
  type: str
targets:
  description: Per source host, a list of destinations (dst, addresses, proto, port, flow).
  returned: when O(targets=true)
  type: dict
probes:
  description:
    - Per source host the collection may log in to (managed, not Windows), what the verify playbook tries from it
      (dst, address, proto, port, expect, flow) - every flow of the matrix from it (expect V(open)) and, for each
      other managed host, one port that host restricts and this source may not reach (expect V(refused)).
  returned: when O(targets=true)
  type: dict
not_contacted:
  description: The hosts marked unmanaged (C(portmatrix_manage_firewall=false), Windows) - never a probe source.
  returned: when O(targets=true)
  type: list
  elements: str
"""
