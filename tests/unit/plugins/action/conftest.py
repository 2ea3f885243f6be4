# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the action plugin tests: conftest_action.py (shared with tests/unit/plugins/modules)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from conftest_action import inventory, run_tmp  # noqa: F401 pylint: disable=unused-import
