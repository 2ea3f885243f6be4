# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller-only modules (plan, rollout, inventory_flows) run as their action plugins:
the fixtures and stand-ins of tests/unit/plugins/action are shared."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "action"))

from conftest_action import inventory, run_tmp  # noqa: E402,F401 pylint: disable=wrong-import-position,unused-import
