# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/plan_record.py: the plan digest a host was last set from, on the host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.portmatrix.xenserver.plugins.module_utils import plan_record


def test_record_read_replace_remove(tmp_path):
    path = str(tmp_path / "etc" / "portmatrix" / "plan-digest")
    assert plan_record.read(path) is None
    assert plan_record.write("sha256:aa", path) is True
    assert plan_record.read(path) == "sha256:aa"
    assert plan_record.write("sha256:aa", path) is False  # the same plan: the file is not rewritten
    assert plan_record.write("sha256:bb", path) is True
    assert plan_record.read(path) == "sha256:bb"
    assert sorted(os.listdir(os.path.dirname(path))) == ["plan-digest"]  # no temporary file left
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o644)
    assert plan_record.remove(path) is True and plan_record.read(path) is None
    assert plan_record.remove(path) is False


def test_the_record_lives_in_the_collections_own_directory_under_etc():
    assert plan_record.RECORD == "/etc/portmatrix/plan-digest"
