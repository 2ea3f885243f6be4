# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A deadline around one controller step that talks to a host (portmatrix_host_timeout).

A stalled SSH session (its sshd stopped, its packets dropped) never ends a read: the SSH
connection plugin waits on the ssh client for ever, and ConnectTimeout only covers connecting.
An action plugin runs in the main thread of its worker process, so an interval timer
(SIGALRM) can interrupt the wait.  Ansible's own task timeout (the ``timeout`` keyword) uses
the same signal: it is saved, still fires at its own time, and is put back afterwards.
Controller-only, no Ansible imports."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import signal
import threading
import time


class HostTimeout(RuntimeError):
    """A step passed its deadline; the message names the host, the step and the setting."""


def message(host, step, seconds, after=""):
    return ("%s: no answer from the host within %ss (portmatrix_host_timeout) while %s; its SSH session is "
            "stalled or the host is overloaded%s" % (host, seconds, step, after))


@contextlib.contextmanager
def deadline(seconds, host, step, after=""):
    """Raise HostTimeout if the block takes more than seconds (0 or None: no deadline).
    after: what the message adds (what happened to the host's firewall)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only (Ansible runs actions there, in worker processes)
        return
    started = time.time()
    earlier_handler = signal.getsignal(signal.SIGALRM)
    earlier_left = signal.getitimer(signal.ITIMER_REAL)[0]
    # The task's own timeout, when it comes first, fires as it would have.
    ours = not earlier_left or seconds < earlier_left

    def expired(signum, frame):
        if not ours and callable(earlier_handler):
            earlier_handler(signum, frame)
        raise HostTimeout(message(host, step, seconds, after))

    signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds if ours else earlier_left)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, earlier_handler)
        if earlier_left:
            signal.setitimer(signal.ITIMER_REAL, max(0.001, earlier_left - (time.time() - started)))
