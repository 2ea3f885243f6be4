# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the action plugin and controller-module tests (action_harness.py has the stand-ins)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible import constants as C

from action_harness import Inventory


@pytest.fixture
def run_tmp(tmp_path, monkeypatch):
    """Ansible's per-run local tmp directory (where the run's estate is kept)."""
    monkeypatch.setattr(C, "DEFAULT_LOCAL_TMP", str(tmp_path))
    return tmp_path


@pytest.fixture
def inventory():
    return Inventory()
