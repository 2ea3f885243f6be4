#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds the documentation only: rollout runs on the controller (plugins/action/rollout.py).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rollout
author: portmatrix.xenserver maintainers (@portmatrix)
version_added: 0.2.0
short_description: Check the whole inventory and order hosts so that a bad plan never reaches two hosts of a pool
description:
  - Runs on the controller and contacts no host. Checks every host's settings the way
    P(portmatrix.xenserver.plan#module) does, then orders O(hosts) in batches for a play's C(serial) keyword.
  - The first batch holds the canary (O(canary) hosts). Each later batch holds at most one host of each failure domain
    (the members of one pool, or the hosts that serve the same components, such as every NFS filer), so that with
    C(max_fail_percentage=0) a plan that breaks hosts stops after one host per pool. Hosts the collection does not manage
    come last, in one batch.
  - The site playbook and the drift playbook with C(portmatrix_enforce=true) use it.
options:
  hosts:
    description:
      - The hosts to order. The default is every host of the play (C(ansible_play_hosts_all), which honours
        C(--limit)).
    type: list
    elements: str
  canary:
    description:
      - How many hosts go first, alone in their batch (from different failure domains). V(0) for none.
      - Not given, the variable C(portmatrix_rollout_canary), else V(1).
    type: int
  staged:
    description:
      - V(false) puts every host in one batch (no canary, no waves).
      - Not given, the variable C(portmatrix_rollout_staged), else V(true).
    type: bool
  max_fail_percentage:
    description:
      - The play's C(max_fail_percentage), returned as RV(max_fail_percentage) for the play that changes the hosts.
      - Not given, the variable C(portmatrix_max_fail_percentage), else V(0).
    type: int
  playbook:
    description:
      - V(drift) when the drift playbook asks, which changes hosts only when it enforces (O(enforce)); otherwise
        it checks every host at once (one batch) and goes on past hosts that fail (RV(max_fail_percentage) V(100)).
    type: str
    choices: [site, drift]
    default: site
  enforce:
    description:
      - With O(playbook=drift), whether the drift is corrected. Not given, the variable C(portmatrix_enforce), else
        V(false).
    type: bool
  preflight:
    description:
      - List in RV(preflight) every managed host of O(hosts), for a read-only check of them all before the
        first change (the site playbook runs P(portmatrix.xenserver.firewall_rules#module) in check mode on
        them, every host at once). V(false), check mode, or a drift check that does not enforce lists none.
      - Not given, the variable C(portmatrix_preflight), else V(true).
    type: bool
    version_added: 0.2.0
extends_documentation_fragment:
  - portmatrix.xenserver.attributes.controller
seealso:
  - module: portmatrix.xenserver.plan
"""

EXAMPLES = r"""
# The first play sets the fact portmatrix_rollout on localhost (delegate_facts), which the
# second play reads; run both with the same --limit.
- name: Order the hosts
  hosts: all
  gather_facts: false
  tasks:
    - name: Check the inventory and work out the batches
      portmatrix.xenserver.rollout:
      run_once: true
      delegate_to: localhost
      delegate_facts: true

- name: Change them batch by batch
  hosts: "{{ hostvars['localhost'].ansible_facts.portmatrix_rollout.order }}"
  serial: "{{ hostvars['localhost'].ansible_facts.portmatrix_rollout.batches }}"
  max_fail_percentage: "{{ hostvars['localhost'].ansible_facts.portmatrix_rollout.max_fail_percentage }}"
  order: inventory
  gather_facts: false
  tasks:
    - name: Apply
      portmatrix.xenserver.firewall_rules:
        from_inventory: true
"""

RETURN = r"""
ansible_facts:
  description: The same plan as the fact C(portmatrix_rollout) (order, batches, waves, max_fail_percentage).
  returned: success
  type: dict
order:
  description: The hosts, in the order they are changed.
  returned: success
  type: list
  elements: str
batches:
  description: Batch sizes for C(serial).
  returned: success
  type: list
  elements: int
waves:
  description: The hosts of each batch.
  returned: success
  type: list
  elements: list
max_fail_percentage:
  description: The play's C(max_fail_percentage) (V(100) for a drift check that does not enforce).
  returned: success
  type: int
preflight:
  description: The hosts to check, read-only and all at once, before the first change (see O(preflight)).
  returned: success
  type: list
  elements: str
  version_added: 0.2.0
"""
