# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""benchmarks/confirm_bench.py without its lab: the collections path it makes goes away (it left a
temporary directory behind after every run, issue 18 item 11)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def bench():
    spec = importlib.util.spec_from_file_location("confirm_bench", os.path.join(ROOT, "benchmarks", "confirm_bench.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("fails", [False, True])
def test_the_collections_path_goes_and_what_it_links_to_stays(tmp_path, fails):
    target = tmp_path / "checkout"
    target.mkdir()
    (target / "galaxy.yml").write_text(u"name: xenserver\n")
    with pytest.raises(RuntimeError) if fails else contextlib.nullcontext():
        with bench().linked_collections(str(target)) as path:
            linked = os.path.join(path, "ansible_collections", "portmatrix", "xenserver")
            assert os.path.realpath(linked) == str(target) and os.path.isfile(os.path.join(linked, "galaxy.yml"))
            if fails:
                raise RuntimeError("the lab failed")
    assert not os.path.exists(path)
    assert (target / "galaxy.yml").read_text() == u"name: xenserver\n"  # the checkout is untouched
