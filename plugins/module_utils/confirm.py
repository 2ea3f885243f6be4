# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit confirmed: a change that nobody confirms puts itself back.

Before a change the module keeps the restore steps of the previous owned scope (the
backends' snapshot(), see _restore_runner.py) in a pending file under /run/portmatrix and starts a
waiter: a detached process (its own session, so the SSH session ending does not stop it)
that sleeps until the deadline and then, unless the pending file is gone, takes the host's
lock, runs the steps and leaves a record of the rollback.  The controller confirms from a
NEW connection: that run takes the lock, removes the pending file (the waiter then exits),
stops the waiter, and only then writes the saved rules.  /run is emptied at boot, and the
saved rules are written only after the confirmation, so a reboot in the window comes back
with the rules of before.

The waiter (_confirm_waiter.py) and the restore runner (_restore_runner.py) it loads are
written out into the state directory from their modules' source when a change is armed: the
module's files are gone when they run.  Both are standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import inspect
import json
import os
import signal
import sys
import time
import uuid

from ansible_collections.portmatrix.xenserver.plugins.module_utils import _confirm_waiter, _restore_runner, restore

STATE_DIR = "/run/portmatrix"
# The confirming run finds the change's token in its environment, set by the action plugin: it is
# no module argument, so no public name of the module.
TOKEN_ENV = "PORTMATRIX_CONFIRM_TOKEN"
# The programs that run detached after the module's files are gone, written out into STATE_DIR
# from their modules' source at every arm().
RUNNER_FILE = "restore_runner.py"
WAITER_FILE = "confirm_waiter.py"


class ConfirmError(RuntimeError):
    pass


def _paths(token, state_dir=STATE_DIR):
    if not token or not all(c in "0123456789abcdef" for c in token):
        raise ConfirmError("bad confirm token %r" % (token,))
    base = os.path.join(state_dir, "confirm-%s" % token)
    return base + ".pending", base + ".rolled-back", base + ".pid"


def _write_program(module, path):
    """Write module's source to path, a program the host's python runs without this collection."""
    _restore_runner.write_file(path, inspect.getsource(module), 0o600)
    return path


def arm(steps, timeout, lock_path, python=None, state_dir=STATE_DIR):
    """Keep the restore steps and start the waiter; returns {token, timeout, deadline}."""
    if not os.path.isdir(state_dir):
        os.makedirs(state_dir, 0o700)
    token = uuid.uuid4().hex
    pending, record, pid_file = _paths(token, state_dir)
    runner = _write_program(_restore_runner, os.path.join(state_dir, RUNNER_FILE))
    waiter = _write_program(_confirm_waiter, os.path.join(state_dir, WAITER_FILE))
    now = time.time()
    state = {"token": token, "steps": steps, "deadline": now + timeout, "armed_at": now, "timeout": timeout,
             "record": record, "lock": lock_path, "lock_timeout": restore.LOCK_TIMEOUT, "runner": runner}
    _confirm_waiter.write_json(pending, state, mode=0o600)
    try:
        pid = _spawn_detached([python or sys.executable, "-B", waiter, pending])
    except ConfirmError:
        os.remove(pending)
        raise
    with open(pid_file, "w") as handle:
        handle.write("%d\n" % pid)
    return {"token": token, "timeout": timeout, "deadline": state["deadline"]}


def _spawn_detached(argv):
    """Start argv in a session of its own (the SSH session's end, a SIGHUP to its process group,
    does not reach it), with /dev/null for stdin, stdout and stderr and no other descriptor: the
    module's pipes close when the module ends, so Ansible does not wait for it.  Returns once
    argv runs (a close-on-exec pipe tells), or raises ConfirmError when it could not start."""
    ready, report = os.pipe()  # both close on exec (Python 3.4+)
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.closerange(3, report)
            os.closerange(report + 1, 65536)
            os.chdir("/")
            os.execv(argv[0], argv)
        except OSError as exc:
            os.write(report, ("%s" % exc).encode("utf-8", "replace"))
        finally:
            os._exit(127)
    os.close(report)
    failure = os.read(ready, 4096)
    os.close(ready)
    if failure:
        raise ConfirmError("cannot start the rollback waiter (%s): %s" % (argv[0], failure.decode("utf-8", "replace")))
    return pid


def _stop_waiter(pid_file, token):
    """Stop the waiter by its pid, if that pid is still our waiter (its command line names the token)."""
    try:
        with open(pid_file) as handle:
            pid = int(handle.read().strip())
    except (IOError, OSError, ValueError):
        return
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            cmdline = handle.read().decode("utf-8", "replace")
    except (IOError, OSError):
        cmdline = ""
    if ("confirm-%s.pending" % token) in cmdline:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError as exc:
            if exc.errno != errno.ESRCH:
                raise
        for _attempt in range(50):  # it is not our child: wait until it is gone, 5 s at most
            if not os.path.exists("/proc/%d" % pid) or _zombie(pid):
                break
            time.sleep(0.1)
    os.remove(pid_file)


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().split(") ", 1)[1].startswith("Z")
    except (IOError, OSError, IndexError):
        return True


def settle(token, state_dir=STATE_DIR):
    """Confirm (call with the host's lock held): {"confirmed": True, "steps": [...]} when the change
    was still pending, {"rolled_back": record} when the waiter already put the old rules back.
    ConfirmError when the token is unknown."""
    pending, record, pid_file = _paths(token, state_dir)
    if os.path.exists(pending):
        with open(pending) as handle:
            state = json.load(handle)
        os.remove(pending)  # from now on the waiter exits without touching anything
        _stop_waiter(pid_file, token)
        return {"confirmed": True, "steps": state["steps"], "armed_at": state["armed_at"]}
    if os.path.exists(record):
        with open(record) as handle:
            done = json.load(handle)
        os.remove(record)
        if os.path.exists(pid_file):
            os.remove(pid_file)
        return {"rolled_back": done}
    raise ConfirmError("no change is waiting for confirmation %s on this host (rebooted, or confirmed already)"
                       % token)


def pending(state_dir=STATE_DIR):
    """Changes waiting for their confirmation on this host."""
    return [name for name in leftovers(state_dir) if name.endswith(".pending")]


@contextlib.contextmanager
def settled_lock(lock, timeout, state_dir=STATE_DIR):
    """The host's lock (a context manager factory, restore.host_lock), held only when no other
    run's change waits for its confirmation: such a change is confirmed or rolled back within its
    window, and a run in between would see its unsaved rules as drift and save them. After
    timeout seconds the lock is taken whatever is pending."""
    deadline = time.time() + timeout
    while True:
        with lock() as handle:
            if not pending(state_dir) or time.time() >= deadline:
                yield handle
                return
        time.sleep(0.5)


def leftovers(state_dir=STATE_DIR):
    """What commit-confirmed left behind: pending files and waiters still alive (tests, drift)."""
    if not os.path.isdir(state_dir):
        return []
    return sorted(name for name in os.listdir(state_dir) if name.startswith("confirm-"))
