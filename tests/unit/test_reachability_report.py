# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tools/reachability_report.py, the command the demo and the molecule scenarios run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
TOOL = os.path.join(ROOT, "tools", "reachability_report.py")
RECORDED = os.path.join(ROOT, "tests", "unit", "plugins", "plugin_utils", "fixtures", "probe-lab-reset.json")


def _probe_output(keep=None):
    """The recording in the probe's own output shape ({"results": [...], "summary": {...}})."""
    with open(RECORDED) as handle:
        data = json.load(handle)
    results = [dict(zip(data["columns"], row)) for row in data["rows"]]
    results = [r for r in results if keep is None or keep(r)]
    for result in results:
        del result["flow"]  # the probe does not name flows; --expected does
    return json.dumps({"results": results, "summary": data["summary"]})


def _run(stdin, *args):
    return subprocess.run([sys.executable, TOOL] + list(args), input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)


def test_failures_exit_1_and_the_summary_line_is_last(tmp_path):
    html_path = tmp_path / "report.html"
    result = _run(_probe_output(), "--html", str(html_path))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "reachability: 1110 passed, 186 failed"
    assert lines[-2] == "HTML report: %s" % html_path
    text = html_path.read_text()
    assert text.startswith("<!DOCTYPE html>") and "reachability: 1110 passed, 186 failed" in text


def test_all_as_expected_exits_0_without_html():
    result = _run(_probe_output(keep=lambda r: r["match"] is not False))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "reachability: 1110 passed, 0 failed"
    assert "HTML report" not in result.stdout


def test_expected_flows_name_the_flows(tmp_path):
    expected = tmp_path / "expected.json"
    expected.write_text(json.dumps([{"src": "pool-a1", "dst": "filer", "proto": "tcp", "port": 2049, "family": 4,
                                     "expect": "open", "why": "nfsv3"}]))
    result = _run(_probe_output(), "--expected", str(expected))
    assert "  pool-a1 -> filer 2049/tcp IPv4: expected open, observed refused (EHOSTUNREACH) [nfsv3]" in result.stdout
    assert "  pool-a1 -> filer 2049/tcp IPv6: expected open, observed refused (EACCES)\n" in result.stdout


def test_bad_input_exits_2():
    result = _run('{"results": [{"src": "a"}]}')
    assert result.returncode == 2
    assert "not probe results: result 0 lacks dst" in result.stderr
