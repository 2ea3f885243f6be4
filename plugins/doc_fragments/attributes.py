# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # The modules that run on the controller only (plan, rollout, inventory_flows).
    CONTROLLER = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Changes no host in any mode; in check mode nothing is written on the controller either.
  diff_mode:
    support: none
    description: Shows no diff.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller only and contacts no host.
"""
