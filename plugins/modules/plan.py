#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds the documentation only: plan runs on the controller (plugins/action/plan.py).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: plan
author: portmatrix.xenserver maintainers (@portmatrix)
version_added: 0.2.0
short_description: Check the whole inventory and work out one host's firewall, without contacting it
description:
  - Runs on the controller and never connects to the host. Reads the inventory the way
    P(portmatrix.xenserver.firewall_rules#module) does with O(portmatrix.xenserver.firewall_rules#module:from_inventory=true),
    that is the component groups, every host's addresses (names resolved on the controller, IPv4 and IPv6), pools, and the
    host's C(portmatrix_*) variables (docs/settings.md of the collection).
  - The whole inventory is checked once per run, before any host is changed; a bad value on any host of the play
    fails every host with a message naming the host and the variable.
  - The site and drift playbooks run it first; roles act on its C(portmatrix.settings).
options:
  refresh:
    description:
      - Read the inventory again even when this run already did (after C(add_host), or a changed
        C(portmatrix_addresses)).
    type: bool
    default: false
extends_documentation_fragment:
  - portmatrix.xenserver.attributes.controller
seealso:
  - module: portmatrix.xenserver.firewall_rules
"""

EXAMPLES = r"""
- name: Check the inventory and see what a host would get
  portmatrix.xenserver.plan:
  register: plan

- name: Show the roles and settings of this host
  ansible.builtin.debug:
    msg: "{{ plan.portmatrix.roles }} {{ plan.portmatrix.settings }}"
"""

RETURN = r"""
portmatrix:
  description: What the engine works out for this host.
  returned: success
  type: dict
  contains:
    manage:
      description: Whether the collection manages this host's firewall (it serves a component and is neither
        unmanaged nor a Windows host).
      type: bool
    components:
      description: Every component the host plays (its groups).
      type: list
      elements: str
    served:
      description: The components it serves as the destination of a flow.
      type: list
      elements: str
    roles:
      description: The roles of the collection for those components.
      type: list
      elements: str
    pool:
      description: The host's pool.
      type: str
    addresses:
      description: The host's addresses as its peers see them.
      type: list
      elements: str
    settings:
      description: Resolved settings the roles act on (https_only, strict, nfsv3_ports, license_vendor_daemon_port,
        families, controllers).
      type: dict
    args:
      description: The arguments firewall_rules gets for this host.
      type: dict
run:
  description: The run's identifier (the drift report tells this run's results from older ones).
  returned: success
  type: str
ansible_facts:
  description: The fact C(portmatrix_roles), the roles the site and drift playbooks include on this host
    (RV(portmatrix.roles), none when the collection does not manage it).
  returned: success
  type: dict
"""
