# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tools/demo's prefix, state dir and report path (its --settings), without building a lab.

The lab itself honours PMXLAB_PREFIX and PMXLAB_STATE_DIR (lab/README.md); the demo used to
read the inventory from /tmp/<prefix> whatever PMXLAB_STATE_DIR said ("no hosts matched").
The full run is tests/integration/test_demo.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
DEMO = os.path.join(ROOT, "tools", "demo")
KNOBS = ("PORTMATRIX_DEMO_PREFIX", "PMXLAB_PREFIX", "PMXLAB_STATE_DIR", "PORTMATRIX_DEMO_REPORT")


def _settings(args=(), cwd=ROOT, **env):
    environ = dict((k, v) for k, v in os.environ.items() if k not in KNOBS)
    environ.update(env)
    done = subprocess.run(["bash", DEMO, "--settings"] + list(args), cwd=cwd, env=environ, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if done.returncode:
        return done.returncode, done.stderr
    return 0, dict(line.split(" ", 1) if not line.startswith("state dir ") else ("state_dir", line[10:])
                   for line in done.stdout.splitlines())


@pytest.mark.parametrize("args, env, expected", [
    ((), {}, ("pmxdemo-", "/tmp/pmxdemo", "/tmp/pmxdemo-report.html")),
    ((), {"PMXLAB_PREFIX": "pmxzz-", "PMXLAB_STATE_DIR": "/tmp/pmxzz/elsewhere"},
     ("pmxzz-", "/tmp/pmxzz/elsewhere", "/tmp/pmxzz-report.html")),
    ((), {"PMXLAB_STATE_DIR": "/tmp/pmxzz/only-the-state/"}, ("pmxdemo-", "/tmp/pmxzz/only-the-state", "/tmp/pmxdemo-report.html")),
    ((), {"PORTMATRIX_DEMO_PREFIX": "pmxyy-", "PMXLAB_PREFIX": "pmxzz-"}, ("pmxyy-", "/tmp/pmxyy", "/tmp/pmxyy-report.html")),
    (("--prefix", "pmxxx-", "--state-dir", "/tmp/pmxxx/s", "--report", "/tmp/r.html"),
     {"PMXLAB_PREFIX": "pmxzz-", "PMXLAB_STATE_DIR": "/tmp/pmxzz/e", "PORTMATRIX_DEMO_REPORT": "/tmp/e.html"},
     ("pmxxx-", "/tmp/pmxxx/s", "/tmp/r.html")),
    (("--prefix=pmxxx-", "--state-dir=/tmp/pmxxx/s"), {}, ("pmxxx-", "/tmp/pmxxx/s", "/tmp/pmxxx-report.html")),
])
def test_prefix_state_dir_and_report(args, env, expected):
    rc, settings = _settings(args, **env)
    assert rc == 0, settings
    assert (settings["prefix"], settings["state_dir"], settings["report"]) == expected


def test_relative_report_is_where_the_caller_is(tmp_path):
    rc, settings = _settings(["--report", "out/r.html"], cwd=str(tmp_path))
    assert rc == 0 and settings["report"] == str(tmp_path / "out" / "r.html")


@pytest.mark.parametrize("args, env, message", [
    (("--prefix", "pmx"), {}, "prefix 'pmx': 3-9 characters"),
    ((), {"PMXLAB_PREFIX": "Bad-"}, "prefix 'Bad-': 3-9 characters"),
    (("--state-dir", "/tmp/pmxzz", "--report", "/tmp/pmxzz/r.html"), {},
     "the report /tmp/pmxzz/r.html would be inside the lab's state dir /tmp/pmxzz"),
    (("--frobnicate",), {}, "unknown argument: --frobnicate"),
])
def test_bad_settings_stop_before_anything(args, env, message):
    rc, stderr = _settings(args, **env)
    assert rc == 2 and message in stderr
