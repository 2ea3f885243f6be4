# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugin_utils/deadline.py: a step that does not return in time fails, naming the host and the step;
Ansible's own task timeout (the same SIGALRM) still fires at its time."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import select
import signal
import socket
import time

import pytest

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import deadline


class TaskTimeout(BaseException):
    pass


def stalled_read(seconds=30):
    """A blocking read that never gets data, as on a stalled SSH session."""
    ours, theirs = socket.socketpair()
    try:
        select.select([ours], [], [], seconds)
    finally:
        ours.close()
        theirs.close()


def test_a_stalled_read_fails_at_the_deadline_naming_host_and_step():
    started = time.time()
    with pytest.raises(deadline.HostTimeout) as err:
        with deadline.deadline(1, "pool-a1", "reading the address of its SSH connection", "; nothing was changed"):
            stalled_read()
    assert 0.9 < time.time() - started < 5
    assert str(err.value).startswith("pool-a1: no answer from the host within 1s (portmatrix_host_timeout) "
                                     "while reading the address of its SSH connection")
    assert str(err.value).endswith("; nothing was changed")
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_a_quick_step_returns_and_no_deadline_is_left_behind():
    with deadline.deadline(5, "h", "step"):
        value = 42
    assert value == 42 and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    with deadline.deadline(0, "h", "step"):  # 0: no deadline
        assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_the_task_timeout_keeps_its_time_and_handler():
    def task_timeout(signum, frame):
        raise TaskTimeout()
    earlier = signal.signal(signal.SIGALRM, task_timeout)
    try:
        signal.setitimer(signal.ITIMER_REAL, 1)   # Ansible's task timeout comes first: it fires as itself
        with pytest.raises(TaskTimeout):
            with deadline.deadline(20, "h", "step"):
                stalled_read()
        signal.setitimer(signal.ITIMER_REAL, 30)  # a later task timeout is put back, minus the time spent
        with deadline.deadline(2, "h", "step"):
            time.sleep(0.2)
        assert 29 < signal.getitimer(signal.ITIMER_REAL)[0] < 30
        assert signal.getsignal(signal.SIGALRM) is task_timeout
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, earlier)


def test_outside_the_main_thread_no_deadline_is_set():
    """signal.signal() works in the main thread only; elsewhere the step runs without a deadline."""
    import threading
    seen = []

    def step():
        with deadline.deadline(1, "h", "step"):
            seen.append(signal.getitimer(signal.ITIMER_REAL)[0])
    worker = threading.Thread(target=step)
    worker.start()
    worker.join(10)
    assert seen == [0.0]
