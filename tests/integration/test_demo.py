# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tools/demo, run as a user would with the lab's own knobs: PMXLAB_PREFIX and a
PMXLAB_STATE_DIR that is not /tmp/<prefix> (this used to fail: "no hosts matched", then a
missing expected-flows.json).  It builds its own lab (prefix $PORTMATRIX_DEMO_TEST_PREFIX,
default pmxdt-), runs the site playbook, probes, writes the HTML report and tears down."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess

import pytest

HERE = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
PREFIX = os.environ.get("PORTMATRIX_DEMO_TEST_PREFIX", "pmxdt-")
STATE = os.environ.get("PORTMATRIX_DEMO_TEST_STATE_DIR", "/tmp/%s/demo-state" % PREFIX.rstrip("-"))


def _namespaces():
    out = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX)]


def test_demo_with_the_labs_prefix_and_state_dir(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the demo needs root (network namespaces)")
    # tests/run exports REPO (the checkout, whose .venv/core216 the demo reuses); the stage's
    # copy of the tree has no .venv and would install one on every run.
    repo = os.environ.get("REPO") if os.path.isfile(os.path.join(os.environ.get("REPO", ""), "tools", "demo")) else HERE
    report = tmp_path / "report.html"
    env = dict(os.environ, PMXLAB_PREFIX=PREFIX, PMXLAB_STATE_DIR=STATE, PORTMATRIX_DEMO_REPORT=str(report))
    env.pop("PORTMATRIX_DEMO_PREFIX", None)
    parent = os.path.dirname(STATE)
    made_parent = not os.path.exists(parent)
    try:
        done = subprocess.run(["bash", os.path.join(repo, "tools", "demo")], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=900, check=False)
    finally:
        if made_parent and os.path.isdir(parent) and not os.listdir(parent):
            os.rmdir(parent)
    out = done.stdout
    assert done.returncode == 0, out[-6000:]
    assert "building the lab (prefix %s, state dir %s)" % (PREFIX, STATE) in out
    lines = out.splitlines()
    summary = [i for i, line in enumerate(lines) if re.match(r"^reachability: \d+ passed, \d+ failed$", line)]
    assert len(summary) == 1, out[-3000:]
    passed = int(lines[summary[0]].split()[1])
    assert passed > 1000 and lines[summary[0]].endswith(" 0 failed")
    assert lines[summary[0] - 1] == "HTML report: %s" % report
    text = report.read_text()
    assert lines[summary[0]] in text and text.startswith("<!DOCTYPE html>")
    assert not os.path.exists(STATE), "the demo left its state dir"
    assert _namespaces() == [], "the demo left namespaces of %s" % PREFIX
