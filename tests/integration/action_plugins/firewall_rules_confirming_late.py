# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests only: portmatrix.xenserver.firewall_rules with a controller that hangs after the change.

The shipped action plugin confirms at once; this one waits CONFIRM_DELAY seconds before its
confirming run, which stands for a controller that dies or hangs after the change (the test kills
it meanwhile, and the host must roll back by itself).  Run as ``-m firewall_rules_confirming_late``
with ANSIBLE_ACTION_PLUGINS naming this directory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.portmatrix.xenserver.plugins.action.firewall_rules import ActionModule as FirewallRules

CONFIRM_DELAY = 120  # seconds: longer than the tests' windows


class ActionModule(FirewallRules):

    def _confirm_once(self, armed, task_vars):
        time.sleep(CONFIRM_DELAY)  # before the confirmation (see the action plugin's _confirm_once)
        return super(ActionModule, self)._confirm_once(armed, task_vars)
