# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja only glues (issue 16): the playbooks hold no programs in Jinja."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
# Issue 16: under 15%; what is left is glue (play hosts, serial, the roles' loop, registered values)
JINJA_SHARE_MAX = 0.15


def _lines(pattern):
    for path in sorted(glob.glob(os.path.join(REPO, pattern), recursive=True)):
        with open(path) as handle:
            for line in handle:
                yield path, line


def test_no_namespace_loops_in_playbooks_or_roles():
    found = ["%s: %s" % (os.path.relpath(path, REPO), line.strip())
             for pattern in ("playbooks/**/*.yml", "roles/**/*.yml") for path, line in _lines(pattern)
             if "namespace(" in line]
    assert not found, found


def test_jinja_is_a_small_share_of_the_playbooks():
    code = [line for _path, line in _lines("playbooks/**/*.yml") if not line.strip().startswith("#")]
    jinja = [line for line in code if "{{" in line or "{%" in line]
    assert len(code) > 100  # the playbooks were read
    assert len(jinja) / float(len(code)) < JINJA_SHARE_MAX, "%d of %d lines" % (len(jinja), len(code))
    assert not [line for line in jinja if "{%" in line]  # no statements: no loops, no sets
