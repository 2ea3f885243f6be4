# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit confirmed on plain files: the waiter is a real detached process, the restore steps
real file writes (the lab tests do the same with firewall rules and SSH)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
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


def test_unconfirmed_change_puts_itself_back(places):
    state, target, lock = places
    armed = confirm.arm(steps_back_to(target, "old rules\n"), 1, lock, state_dir=state)
    assert waiters(armed["token"])
    for _attempt in range(60):  # bounded: 6 s for a 1 s window
        if os.path.exists(os.path.join(state, "confirm-%s.rolled-back" % armed["token"])):
            break
        time.sleep(0.1)
    assert open(target).read() == "old rules\n"
    settled = confirm.settle(armed["token"], state_dir=state)
    assert settled["rolled_back"]["errors"] == [] and settled["rolled_back"]["timeout"] == 1
    assert confirm.leftovers(state) == [] and waiters(armed["token"]) == []


def test_confirmed_change_stays_and_leaves_nothing_behind(places):
    state, target, lock = places
    armed = confirm.arm(steps_back_to(target, "old rules\n"), 2, lock, state_dir=state)
    settled = confirm.settle(armed["token"], state_dir=state)
    assert settled["confirmed"] and settled["steps"] == steps_back_to(target, "old rules\n")
    time.sleep(2.5)  # past the deadline: nothing happens any more
    assert open(target).read() == "new rules\n"
    assert confirm.leftovers(state) == [] and waiters(armed["token"]) == []
    with pytest.raises(confirm.ConfirmError):
        confirm.settle(armed["token"], state_dir=state)  # a second confirmation finds nothing


def test_a_bad_token_is_refused(places):
    with pytest.raises(confirm.ConfirmError):
        confirm.settle("../../etc/passwd", state_dir=places[0])


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
    confirm.settle(armed["token"], state_dir=state)
