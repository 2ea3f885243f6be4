# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit confirmed on plain files: the waiter is a real detached process, the restore steps
real file writes (the lab tests do the same with firewall rules and SSH)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.portmatrix.xenserver.plugins.module_utils import confirm


def waiters(token):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as handle:
                    if ("confirm-%s" % token).encode() in handle.read():
                        found.append(int(pid))
            except (IOError, OSError):
                pass
    return found


@pytest.fixture
def places(tmp_path):
    target = tmp_path / "rules"
    target.write_text("new rules\n")
    return str(tmp_path / "state"), str(target), str(tmp_path / "lock")


def steps_back_to(path, text):
    return [{"write": path, "text": text, "mode": 0o644}]


def confirm_from_outside(state, armed):
    """What the controller does over its new connection: the written-out program, given the token."""
    done = subprocess.run(confirm.confirm_argv(armed["python"], armed["token"], state_dir=state), cwd="/", env={},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=30)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.decode().splitlines()[-1])
    # the program says how long it took on the host (the rest of a confirmation is the connection)
    assert 0 <= answer.pop("host_seconds") < 30
    return answer


def test_unconfirmed_change_puts_itself_back(places):
    state, target, lock = places
    armed = confirm.arm(steps_back_to(target, "old rules\n"), 1, lock, state_dir=state)
    assert waiters(armed["token"])
    for _attempt in range(60):  # bounded: 6 s for a 1 s window
        if os.path.exists(os.path.join(state, "confirm-%s.rolled-back" % armed["token"])):
            break
        time.sleep(0.1)
    assert open(target).read() == "old rules\n"
    # the waiter removed its pid file: the record alone is left, for the next run to report
    assert confirm.leftovers(state) == ["confirm-%s.rolled-back" % armed["token"]]
    settled = confirm_from_outside(state, armed)  # a late confirmation gets the record, and consumes it
    assert settled["rolled_back"]["errors"] == [] and settled["rolled_back"]["timeout"] == 1
    assert "no confirmation came within 1s" == settled["rolled_back"]["why"]
    assert confirm.leftovers(state) == [] and waiters(armed["token"]) == []


def test_a_rollback_nobody_confirmed_is_reported_once_by_the_next_run(places):
    state, target, lock = places
    armed = confirm.arm(steps_back_to(target, "old rules\n"), 1, lock, state_dir=state)
    record = os.path.join(state, "confirm-%s.rolled-back" % armed["token"])
    for _attempt in range(60):  # bounded: 6 s for a 1 s window
        if os.path.exists(record):
            break
        time.sleep(0.1)
    stale_pid = os.path.join(state, "confirm-0123abcd.pid")  # what an older waiter left behind
    with open(stale_pid, "w") as handle:
        handle.write("1\n")
    found = confirm.rollbacks(state)
    assert [r["token"] for r in found] == [armed["token"]] and found[0]["timeout"] == 1
    assert confirm.rollbacks(state) == found  # reading (check mode, drift) consumes nothing
    [sentence] = confirm.describe_rollbacks(found)
    assert sentence.startswith("rolled back since the last run: ") and "no confirmation came within 1s" in sentence
    confirm.forget(found, state_dir=state)  # a run that applies reported it
    assert confirm.rollbacks(state) == [] and confirm.leftovers(state) == []


def test_confirmed_change_stays_and_leaves_nothing_behind(places):
    state, target, lock = places
    saved = os.path.join(os.path.dirname(target), "saved")
    armed = confirm.arm(steps_back_to(target, "old rules\n"), 2, lock, state_dir=state,
                        commit=[{"write": saved, "text": "new rules\n", "mode": 0o600}])
    settled = confirm_from_outside(state, armed)
    assert settled == {"confirmed": True, "persisted": True}
    assert open(saved).read() == "new rules\n"  # the commit steps ran: the saved rules written by the host
    time.sleep(2.5)  # past the deadline: nothing happens any more
    assert open(target).read() == "new rules\n"
    assert confirm.leftovers(state) == [] and waiters(armed["token"]) == []
    again = confirm_from_outside(state, armed)  # a second confirmation finds nothing
    assert again["failed"] and "no change is waiting for confirmation" in again["msg"]


def test_a_failing_save_puts_the_change_back(places):
    state, target, lock = places
    armed = confirm.arm(steps_back_to(target, "old rules\n"), 30, lock, state_dir=state,
                        commit=[{"run": ["false"]}])
    settled = confirm_from_outside(state, armed)
    assert settled["failed"] and "saving the rules for the next boot failed" in settled["msg"]
    assert open(target).read() == "old rules\n"  # put back at once, not at the deadline
    assert confirm.leftovers(state) == [] and waiters(armed["token"]) == []


def test_a_bad_token_is_refused(places):
    with pytest.raises(confirm.ConfirmError):
        confirm.confirm_argv(sys.executable, "../../etc/passwd", state_dir=places[0])


def test_a_waiter_that_cannot_start_is_an_error(places):
    state, target, lock = places
    with pytest.raises(confirm.ConfirmError) as err:
        confirm.arm(steps_back_to(target, "old rules\n"), 5, lock, python="/nonexistent/python", state_dir=state)
    assert "cannot start the rollback waiter" in str(err.value)
    assert confirm.leftovers(state) == []


def test_a_run_waits_while_another_change_waits_for_its_confirmation(places):
    state, target, lock = places
    from ansible_collections.portmatrix.xenserver.plugins.module_utils import restore

    def host_lock():
        return restore.host_lock(lock, 5)
    armed = confirm.arm(steps_back_to(target, "old rules\n"), 1, lock, state_dir=state)
    started = time.time()
    with confirm.settled_lock(host_lock, 20, state_dir=state):
        waited = time.time() - started
        assert confirm.pending(state) == []          # the other change was settled (here: rolled back)
    assert 0.9 <= waited < 10, waited
    assert open(target).read() == "old rules\n"
    assert confirm_from_outside(state, armed)["rolled_back"]
