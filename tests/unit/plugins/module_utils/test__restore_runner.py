# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restore runner as a program of its own: written out from its module's source, run by a
Python that has nothing of the collection, in- and out-of-process."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import inspect
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.portmatrix.xenserver.plugins.module_utils import _restore_runner

PY36 = "/root/.pyenv/versions/3.6.15/bin/python3.6"
STDLIB = {"__future__", "collections", "errno", "fcntl", "importlib", "importlib.util", "json", "os", "signal",
          "subprocess", "sys", "time"}


def imported(module):
    """Every module name the source of module imports."""
    names = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module)
    return names


def test_the_runner_imports_the_standard_library_only():
    assert imported(_restore_runner) <= STDLIB, imported(_restore_runner) - STDLIB


@pytest.mark.parametrize("python", [sys.executable, PY36])
def test_the_written_out_runner_runs_alone_from_a_file_and_from_stdin(tmp_path, python):
    if not os.path.exists(python):
        pytest.skip("%s is not installed" % python)
    program = tmp_path / "alone" / "restore_runner.py"
    program.parent.mkdir()
    program.write_text(inspect.getsource(_restore_runner))
    target = tmp_path / "target"
    steps = [{"write": str(target), "text": u"back \u2713\n", "mode": 0o640}]
    (tmp_path / "steps.json").write_text(json.dumps(steps))
    # an empty environment, another working directory: no PYTHONPATH, no collection
    done = subprocess.run([python, str(program), str(tmp_path / "steps.json")], cwd=str(program.parent), env={},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == u"back \u2713\n".encode("utf-8") and target.stat().st_mode & 0o777 == 0o640
    done = subprocess.run([python, str(program), "-"], input=json.dumps([{"remove": str(target)}]).encode(),
                          env={}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert done.returncode == 0, done.stderr
    assert not target.exists()


def test_main_reports_each_failed_step_and_exits_1(tmp_path, capsys):
    steps = tmp_path / "steps.json"
    steps.write_text(json.dumps([{"run": ["sh", "-c", "echo no >&2; exit 2"]}, {"bogus": 1},
                                 {"write": str(tmp_path / "done"), "text": "x", "mode": 0o600}]))
    assert _restore_runner.main(["runner", str(steps)]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert errors == ["step 1 (run): sh -c echo no >&2; exit 2: exit 2: no", "step 2 (bogus): unknown step ['bogus']"]
    assert (tmp_path / "done").read_text() == "x"  # every step is tried
    steps.write_text(u"[]")
    assert _restore_runner.main(["runner", str(steps)]) == 0


def test_a_file_that_is_already_right_is_not_touched(tmp_path):
    path = tmp_path / "conf"
    _restore_runner.write_file(str(path), u"same\n", 0o600)
    inode = path.stat().st_ino
    _restore_runner.write_file(str(path), u"same\n", 0o600)
    assert path.stat().st_ino == inode          # not rewritten
    _restore_runner.write_file(str(path), u"same\n", 0o644)
    assert path.stat().st_ino != inode and path.stat().st_mode & 0o777 == 0o644
    _restore_runner.write_file(str(tmp_path / "new" / "dir" / "f"), u"made\n", 0o600)
    assert (tmp_path / "new" / "dir" / "f").read_text() == u"made\n"
    assert [n for n in os.listdir(str(tmp_path)) if "portmatrix-tmp" in n] == []


def test_take_lock_gives_up_after_its_timeout(tmp_path):
    lock = str(tmp_path / "lock")
    held = _restore_runner.take_lock(lock, 1)
    try:
        with pytest.raises(RuntimeError) as err:
            _restore_runner.take_lock(lock, 0.3)
        assert "still locked after 0.3s" in str(err.value)
    finally:
        held.close()
    _restore_runner.take_lock(lock, 0).close()  # free again
