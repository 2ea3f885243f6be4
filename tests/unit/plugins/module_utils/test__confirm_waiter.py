# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The commit-confirmed waiter in-process (its decisions), and as the program confirm.arm()
writes out (a real detached process; test_confirm.py covers the whole cycle)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import inspect
import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.portmatrix.xenserver.plugins.module_utils import _confirm_waiter, _restore_runner, confirm, plan_record

from test__restore_runner import PY36, STDLIB, imported


@pytest.fixture
def armed(tmp_path):
    """A pending change whose restore steps write 'old' back, with the runner written out."""
    runner = tmp_path / "restore_runner.py"
    runner.write_text(inspect.getsource(_restore_runner))
    target = tmp_path / "rules"
    target.write_text(u"new\n")
    state = {"token": "ab12", "steps": [{"write": str(target), "text": "old\n", "mode": 0o644}],
             "deadline": time.time() - 1, "armed_at": time.time() - 2, "timeout": 1,
             "record": str(tmp_path / "confirm-ab12.rolled-back"), "lock": str(tmp_path / "lock"), "lock_timeout": 5,
             "runner": str(runner)}
    pending = tmp_path / "confirm-ab12.pending"
    _confirm_waiter.write_json(str(pending), state, mode=0o600)
    return pending, state, target


def test_the_waiter_imports_the_standard_library_only():
    assert imported(_confirm_waiter) <= STDLIB, imported(_confirm_waiter) - STDLIB


def test_past_the_deadline_the_waiter_rolls_back_and_leaves_a_record(armed):
    pending, state, target = armed
    assert pending.stat().st_mode & 0o777 == 0o600
    assert _confirm_waiter.main(["waiter", str(pending)]) == 0
    assert target.read_text() == u"old\n" and not pending.exists()
    with open(state["record"]) as handle:
        record = json.load(handle)
    assert record["token"] == "ab12" and record["errors"] == [] and record["timeout"] == 1
    assert record["rolled_back_at"] >= state["deadline"]


def test_a_failed_step_is_recorded_and_the_exit_code_says_so(armed):
    pending, state, target = armed
    state["steps"].insert(0, {"run": ["false"]})
    assert _confirm_waiter.wait(str(pending), state, _confirm_waiter.load_runner(state["runner"])) == 1
    with open(state["record"]) as handle:
        assert json.load(handle)["errors"] == ["step 1 (run): false: exit 1: "]
    assert target.read_text() == u"old\n"


def test_a_confirmed_change_is_left_alone(armed):
    pending, state, target = armed
    runner = _confirm_waiter.load_runner(state["runner"])
    state["deadline"] = time.time() + 5
    os.remove(str(pending))  # what the confirming run does
    started = time.time()
    assert _confirm_waiter.wait(str(pending), state, runner) == 0
    assert time.time() - started < 1 and target.read_text() == u"new\n" and not os.path.exists(state["record"])
    assert _confirm_waiter.main(["waiter", str(pending)]) == 0  # gone before the waiter read it


def test_the_runner_is_loaded_from_the_written_out_file_not_the_collection(armed):
    pending, state, target = armed
    runner = _confirm_waiter.load_runner(state["runner"])
    assert runner.__file__ == state["runner"] and runner is not _restore_runner
    assert runner.run_steps(state["steps"]) == [] and target.read_text() == u"old\n"


@pytest.mark.parametrize("python", [sys.executable, PY36])
def test_arm_writes_both_programs_out_and_the_host_python_runs_them(tmp_path, python):
    if not os.path.exists(python):
        pytest.skip("%s is not installed" % python)
    state_dir, target = tmp_path / "state", tmp_path / "rules"
    target.write_text(u"new\n")
    armed = confirm.arm([{"write": str(target), "text": "old\n", "mode": 0o644}], 1, str(tmp_path / "lock"),
                        python=python, state_dir=str(state_dir))
    assert (state_dir / confirm.WAITER_FILE).read_text() == inspect.getsource(_confirm_waiter)
    assert (state_dir / confirm.RUNNER_FILE).read_text() == inspect.getsource(_restore_runner)
    record = state_dir / ("confirm-%s.rolled-back" % armed["token"])
    for _attempt in range(60):  # bounded: 6 s for a 1 s window
        if record.exists():
            break
        time.sleep(0.1)
    assert target.read_text() == u"old\n"
    done = subprocess.run(confirm.confirm_argv(python, armed["token"], state_dir=str(state_dir)), cwd="/", env={},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=30)
    assert json.loads(done.stdout.decode().splitlines()[-1])["rolled_back"]["errors"] == [], done.stderr
    assert confirm.leftovers(str(state_dir)) == []
    assert not (state_dir / "__pycache__").exists()  # python -B: nothing but what arm() wrote


def test_the_written_out_waiter_needs_nothing_of_the_collection(armed, tmp_path):
    pending, state, target = armed
    program = tmp_path / "confirm_waiter.py"
    program.write_text(inspect.getsource(_confirm_waiter))
    done = subprocess.run([sys.executable, "-B", str(program), str(pending)], cwd="/", env={},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=30)
    assert done.returncode == 0, done.stderr
    assert target.read_text() == u"old\n" and os.path.exists(state["record"]) and not pending.exists()


def _applied(rules):
    """An "iptables" step describing a running owned scope; its save command prints rules."""
    text = "*filter\n:INPUT ACCEPT [0:0]\n:PMX-INPUT - [0:0]\n-A INPUT -j PMX-INPUT\n%sCOMMIT\n" % "".join(
        "-A PMX-INPUT %s\n" % rule for rule in rules)
    chains, jumps = _restore_runner.owned_iptables(text, "PMX-")
    return {"iptables": {"save": ["printf", "%s", text], "restore": ["true"], "prefix": "PMX-",
                         "chains": chains, "jumps": jumps}}


def test_confirm_checks_the_running_scope_then_runs_the_commit_steps(armed, tmp_path):
    pending, state, target = armed
    saved = tmp_path / "saved"
    state.update(applied=[_applied(["-j ACCEPT"])], commit=[{"write": str(saved), "text": "saved\n", "mode": 0o600}])
    _confirm_waiter.write_json(str(pending), state)
    assert _confirm_waiter.confirm(str(pending)) == {"confirmed": True, "persisted": True}
    assert saved.read_text() == u"saved\n" and target.read_text() == u"new\n" and not pending.exists()


def test_confirm_puts_the_change_back_when_the_running_scope_changed_meanwhile(armed, tmp_path):
    pending, state, target = armed
    saved = tmp_path / "saved"
    # what runs now is not what the change left: another tool or run changed it in between
    state.update(applied=[dict(_applied(["-j ACCEPT"]), iptables=dict(
        _applied(["-j ACCEPT"])["iptables"], save=_applied(["-j DROP"])["iptables"]["save"]))],
        commit=[{"write": str(saved), "text": "saved\n", "mode": 0o600}])
    _confirm_waiter.write_json(str(pending), state)
    done = _confirm_waiter.confirm(str(pending))
    assert done["failed"] and "changed between the change and its confirmation" in done["msg"]
    assert not saved.exists() and target.read_text() == u"old\n"  # nothing saved, the old rules back


def test_confirm_puts_the_change_back_when_the_running_scope_cannot_be_read(armed, tmp_path):
    pending, state, target = armed
    unreadable = _applied(["-j ACCEPT"])
    unreadable["iptables"]["save"] = [str(tmp_path / "no-such-iptables-save")]
    state.update(applied=[unreadable], commit=[])
    _confirm_waiter.write_json(str(pending), state)
    done = _confirm_waiter.confirm(str(pending))
    assert done["failed"] and "could not read them" in done["msg"] and target.read_text() == u"old\n"


def test_confirm_records_the_plan_digest_once_confirmed_and_a_failed_record_keeps_the_change(armed, tmp_path):
    """The plan digest was written by the module's confirming run; the confirmation runs no module
    now, so the armed change carries it (plan_record.steps) as steps run after the commit steps."""
    pending, state, target = armed
    record = tmp_path / "etc" / "plan-digest"
    state.update(applied=[_applied(["-j ACCEPT"])], commit=[],
                 settled=plan_record.steps("sha256:ab", str(record)))
    _confirm_waiter.write_json(str(pending), state)
    assert _confirm_waiter.confirm(str(pending)) == {"confirmed": True, "persisted": False}
    assert plan_record.read(str(record)) == "sha256:ab" and target.read_text() == u"new\n"

    blocked = tmp_path / "file"
    blocked.write_text(u"x")  # a file where the record's directory should be: the record cannot be written
    _confirm_waiter.write_json(str(pending), dict(state, settled=plan_record.steps("sha256:cd", str(blocked / "d"))))
    done = _confirm_waiter.confirm(str(pending))
    assert done["confirmed"] and done["warnings"][0].startswith("confirmed, but step 1") and "file/d" in done["warnings"][0]
    assert target.read_text() == u"new\n"  # the change stays
