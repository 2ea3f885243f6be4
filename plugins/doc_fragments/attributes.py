# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # Plain strings: ansible-test's yamllint reads a fragment only as a literal.
    # The modules that run on the controller only (plan, rollout, inventory_flows, not_checked, perimeter_check).
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

    # A module that runs on a host of the estate and only looks (reachability_probe).
    PROBE = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Tries the connections in check mode too; it changes nothing in either mode.
  diff_mode:
    support: none
    description: Shows no diff.
  platform:
    support: full
    platforms: posix
    description: Runs on the source host (Python 3.6 or later, standard library only).
"""
