# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The commit-confirmed waiter: puts an unconfirmed change back at its deadline.

It runs detached on the host after the module has ended and its files are gone, so this file
is a program of its own: standard library only, Python 3.6+, no import of the collection.
confirm.arm() writes it out, with the restore runner (_restore_runner.py) beside it, and starts
``python -B confirm_waiter.py /run/portmatrix/confirm-TOKEN.pending``.  The pending file is the
waiter's state (see confirm.py); the runner is loaded, by the path the state names, as soon as
the waiter starts, so the code that rolls back is the code of the run that armed the change.

The same program confirms: the controller, over a NEW connection and with become, runs
``python -B confirm_waiter.py --confirm /run/portmatrix/confirm-TOKEN.pending`` (confirm()).  It
carries only the token; what the confirmation writes (the saved rules) was worked out by the
run that armed the change and waits in the pending file, so no module runs and no plan is
built again.  It prints one line of JSON saying what it did.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import importlib.util
import json
import os
import signal
import sys
import time

POLL = 0.2  # seconds between two looks at the pending file


def write_json(path, data, mode=None):
    """Write data as JSON to path by a temp file and a rename (with mode, when given)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(data, handle)
    if mode is not None:
        os.chmod(tmp, mode)
    os.rename(tmp, path)


def load_runner(path):
    """The restore runner written out at path, loaded as a module."""
    spec = importlib.util.spec_from_file_location("portmatrix_restore_runner", path)
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    return runner


def wait(pending, state, runner):
    """Until state["deadline"], exit quietly as soon as the pending file is gone (confirmed).
    Then take the host's lock and, unless the change was confirmed meanwhile, run the restore
    steps, leave the record of the rollback and remove the pending file. Returns the exit code."""
    while time.time() < state["deadline"]:
        if not os.path.exists(pending):
            return 0  # confirmed
        time.sleep(POLL)
    lock = runner.take_lock(state["lock"], state["lock_timeout"])
    try:
        if not os.path.exists(pending):
            return 0  # confirmed while the confirming run held the lock
        errors = runner.run_steps(state["steps"])
        write_json(state["record"], {"token": state["token"], "rolled_back_at": time.time(),
                                     "armed_at": state["armed_at"], "timeout": state["timeout"],
                                     "why": "no confirmation came within %ss" % state["timeout"],
                                     "errors": errors, "pid": os.getpid()})
        os.remove(pending)
        remove_file(pid_path(pending))  # the record is what is left; the next run reports it once
    finally:
        lock.close()
    return 1 if errors else 0


def pid_path(pending):
    """The waiter's pid file beside its pending file."""
    return pending[:-len(".pending")] + ".pid"


def remove_file(path):
    """Remove path if it exists."""
    try:
        os.remove(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise


def stop_waiter(pending):
    """Stop the waiter of pending by its pid, if that pid is still our waiter (its command line
    names the pending file), and remove its pid file."""
    pid_file = pid_path(pending)
    try:
        with open(pid_file) as handle:
            pid = int(handle.read().strip())
    except (IOError, OSError, ValueError):
        return
    if _is_waiter(pid, pending):
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError as exc:
            if exc.errno != errno.ESRCH:
                raise
        _wait_gone(pid)
    remove_file(pid_file)


def _is_waiter(pid, pending):
    """True when pid runs the waiter of pending (its command line names the pending file)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            cmdline = handle.read().decode("utf-8", "replace")
    except (IOError, OSError):
        return False
    return os.path.basename(pending) in cmdline and "--confirm" not in cmdline


def _wait_gone(pid):
    # It is not our child: look until it is gone, 5 s at most, in short steps (a stopped waiter is
    # gone within milliseconds, and the confirmation waits for this).
    deadline = time.time() + 5
    while os.path.exists("/proc/%d" % pid) and not _zombie(pid) and time.time() < deadline:
        time.sleep(0.005)


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().split(") ", 1)[1].startswith("Z")
    except (IOError, OSError, IndexError):
        return True


def rolled_back(record_path, pending):
    """The record of a rollback, consumed: the confirmation reports it, nobody else will."""
    with open(record_path) as handle:
        done = json.load(handle)
    if done.get("pid") and _is_waiter(done["pid"], pending):
        _wait_gone(done["pid"])  # it wrote the record and is exiting: the answer comes once it is gone
    remove_file(record_path)
    remove_file(pid_path(pending))
    return {"rolled_back": done}


def confirm(pending):
    """Confirm the change kept in pending (its waiter's state), under the host's lock: stop the
    rollback, check that the running owned scope is still the change's, then run the change's
    commit steps (write the saved rules). Returns what was done: {"confirmed": True, "persisted":
    bool}; {"rolled_back": record} when the waiter had already put the old rules back; or
    {"failed": True, "msg": ...} (when the check or the saving failed, the old rules are put back
    first, the saved files included)."""
    record = pending[:-len(".pending")] + ".rolled-back"
    try:
        with open(pending) as handle:
            state = json.load(handle)
    except (IOError, OSError) as exc:
        if exc.errno != errno.ENOENT:
            raise
        if os.path.exists(record):
            return rolled_back(record, pending)
        gone = os.path.basename(pending)
        return {"failed": True,
                "msg": "no change is waiting for confirmation on this host (%s is gone: rebooted, or confirmed "
                       "already)" % gone}
    runner = load_runner(state["runner"])
    lock = runner.take_lock(state["lock"], state["lock_timeout"])
    try:
        if not os.path.exists(pending):  # the waiter rolled back while we waited for the lock
            return rolled_back(record, pending)
        os.remove(pending)  # from now on the waiter exits without touching anything
        stop_waiter(pending)
        try:
            changed = [why for why in (runner.differs(step) for step in state.get("applied", [])) if why]
        except Exception as exc:  # the waiter is stopped: whatever happens, the old rules come back below
            changed = ["could not read them: %s" % exc]
        errors = [] if changed else runner.run_steps(state.get("commit", []))
        if not changed and not errors:
            done = {"confirmed": True, "persisted": bool(state.get("commit"))}
            unsettled = runner.run_steps(state.get("settled", []))  # the change stays: only said
            if unsettled:
                done["warnings"] = ["confirmed, but %s" % "; ".join(unsettled)]
            return done
        undone = runner.run_steps(state["steps"])
        return {"failed": True, "confirmed": False, "persisted": False, "msg": "%s; %s" % (
            "the rules changed between the change and its confirmation: %s" % "; ".join(changed) if changed else
            "saving the rules for the next boot failed: %s" % "; ".join(errors),
            "the owned scope was put back as it was before the change" if not undone else
            "putting the owned scope back as it was ALSO FAILED: %s" % "; ".join(undone))}
    finally:
        lock.close()


def main(argv):
    """``confirm_waiter.py PENDING``: wait for the change kept in the pending file;
    ``confirm_waiter.py --confirm PENDING``: confirm it, and print what was done as JSON."""
    if argv[1] == "--confirm":
        started = time.time()
        done = confirm(argv[2])
        done["host_seconds"] = round(time.time() - started, 3)  # the rest of the confirmation is the connection
        sys.stdout.write(json.dumps(done) + "\n")
        return 0
    pending = argv[1]
    try:
        with open(pending) as handle:
            state = json.load(handle)
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return 0  # confirmed before the waiter got to read it
        raise
    return wait(pending, state, load_runner(state["runner"]))


if __name__ == "__main__":  # the waiter on its own: no AnsibleModule, its exit code is its result
    sys.exit(main(sys.argv))  # pylint: disable=ansible-bad-function
