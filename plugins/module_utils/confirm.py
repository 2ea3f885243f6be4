# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit confirmed: a change that nobody confirms puts itself back.

Before a change the module keeps the restore steps of the previous owned scope (the
backends' snapshot(), see _restore_runner.py) in a pending file under /run/portmatrix and starts a
waiter: a detached process (its own session, so the SSH session ending does not stop it)
that sleeps until the deadline and then, unless the pending file is gone, takes the host's
lock, runs the steps and leaves a record of the rollback (the next run reports it, once:
rollbacks()).  The controller confirms from a NEW connection carrying only the token: it runs
the waiter program with --confirm (_confirm_waiter.confirm()), which takes the lock, removes
the pending file (the waiter then exits), stops the waiter, checks that the running owned
scope is still the change's, and only then runs the commit steps the arming run left in the
pending file (writing the saved rules).  /run is emptied at boot, and the saved rules are
written only after the confirmation, so a reboot in the window comes back with the rules of
before.

The waiter (_confirm_waiter.py) and the restore runner (_restore_runner.py) it loads are
written out into the state directory from their modules' source when a change is armed: the
module's files are gone when they run.  Both are standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import inspect
import json
import os
import sys
import time
import uuid

from ansible_collections.portmatrix.xenserver.plugins.module_utils import _confirm_waiter, _restore_runner, restore

STATE_DIR = "/run/portmatrix"
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


def confirm_argv(python, token, state_dir=STATE_DIR):
    """The command that confirms the change token (run as root over a new connection): the
    waiter program in its confirm mode, with the interpreter the arming run reported."""
    # -S: no site packages to look through (the program needs the standard library only)
    return [python, "-B", "-S", os.path.join(state_dir, WAITER_FILE), "--confirm", _paths(token, state_dir)[0]]


def _write_program(module, path):
    """Write module's source to path, a program the host's python runs without this collection."""
    _restore_runner.write_file(path, inspect.getsource(module), 0o600)
    return path


def arm(steps, timeout, lock_path, python=None, state_dir=STATE_DIR, commit=(), applied=(), settled=()):
    """Keep the restore steps and start the waiter; returns {token, timeout, deadline, python}.
    commit: the steps the confirmation runs (writing the saved rules); applied: "iptables"/"nft"
    steps describing the running owned scope after the change, which the confirmation checks
    first (_restore_runner.differs); settled: steps run once the change is confirmed, whose
    failure is reported but does not undo it (the plan record, plan_record.steps())."""
    if not os.path.isdir(state_dir):
        os.makedirs(state_dir, 0o700)
    token = uuid.uuid4().hex
    pending, record, pid_file = _paths(token, state_dir)
    runner = _write_program(_restore_runner, os.path.join(state_dir, RUNNER_FILE))
    waiter = _write_program(_confirm_waiter, os.path.join(state_dir, WAITER_FILE))
    now = time.time()
    state = {"token": token, "steps": steps, "deadline": now + timeout, "armed_at": now, "timeout": timeout,
             "record": record, "lock": lock_path, "lock_timeout": restore.LOCK_TIMEOUT, "runner": runner,
             "commit": list(commit), "applied": list(applied), "settled": list(settled)}
    _confirm_waiter.write_json(pending, state, mode=0o600)
    try:
        pid = _spawn_detached([python or sys.executable, "-B", waiter, pending])
    except ConfirmError:
        os.remove(pending)
        raise
    with open(pid_file, "w") as handle:
        handle.write("%d\n" % pid)
    return {"token": token, "timeout": timeout, "deadline": state["deadline"], "python": python or sys.executable}


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


def rollbacks(state_dir=STATE_DIR):
    """The records of changes rolled back since the last run, oldest first, each a dict (token,
    armed_at, rolled_back_at, timeout, why, errors). Reading changes nothing: forget() does."""
    found = []
    for name in leftovers(state_dir):
        if name.endswith(".rolled-back"):
            try:
                with open(os.path.join(state_dir, name)) as handle:
                    record = json.load(handle)
            except (IOError, OSError, ValueError) as exc:
                record = {"rolled_back_at": None, "why": "unreadable record (%s)" % exc, "errors": []}
            record["token"] = name[len("confirm-"):-len(".rolled-back")]
            found.append(record)
    return sorted(found, key=lambda record: record.get("rolled_back_at") or 0)


def forget(records, state_dir=STATE_DIR):
    """Remove the records given (a run reported them: a rollback is reported once), and the pid
    files no pending change stands behind (a waiter that is done removes its own; older ones did not)."""
    for record in records:
        _confirm_waiter.remove_file(_paths(record["token"], state_dir)[1])
    for name in leftovers(state_dir):
        path = os.path.join(state_dir, name)
        if name.endswith(".pid") and not os.path.exists(path[:-len(".pid")] + ".pending"):
            _confirm_waiter.remove_file(path)


def describe_rollbacks(records):
    """One sentence per rollback since the last run, for the run's warnings and the drift report."""
    return ["rolled back since the last run: the change of %s was put back at %s (%s)%s" % (
        _when(record.get("armed_at")), _when(record.get("rolled_back_at")), record.get("why") or "not confirmed",
        "; the rollback reported errors: %s" % "; ".join(record["errors"]) if record.get("errors") else "")
        for record in records]


def _when(stamp):
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(stamp)) if stamp else "an unknown time"


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
