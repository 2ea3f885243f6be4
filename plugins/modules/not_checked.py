#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds the documentation only: not_checked runs on the controller (plugins/action/not_checked.py).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: not_checked
author: portmatrix.xenserver maintainers (@portmatrix)
version_added: 0.2.0
short_description: Mark a host whose firewall could not be checked, without contacting it
description:
  - Runs on the controller and never connects to the host. Gives the host Ansible's unreachable status with
    the reason, so that C(ansible-playbook) exits with 4 (a host was not reached) rather than 2 (a host failed).
  - The drift playbook marks with it each host it could not check (unreachable, or its check failed), so that
    exit code 4 means "not everything was checked" and 2 means "drift found" (docs/guides/scheduled-drift.md).
options:
  reason:
    description: Why the host could not be checked; shown in the task's message.
    type: str
  report:
    description:
      - Instead of O(reason), the drift report (P(portmatrix.xenserver.drift_report#filter)). The host is marked
        only when it is one of the report's C(no_result) hosts, with the cause of its row; otherwise the task is skipped.
    type: dict
extends_documentation_fragment:
  - portmatrix.xenserver.attributes.controller
seealso:
  - module: portmatrix.xenserver.plan
"""

EXAMPLES = r"""
- name: Mark each host that could not be checked
  portmatrix.xenserver.not_checked:
    report: "{{ report }}"
"""

RETURN = r"""
not_checked:
  description: Always true.
  returned: always
  type: bool
"""
