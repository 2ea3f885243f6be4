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
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import importlib.util
import json
import os
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
                                     "errors": errors})
        os.remove(pending)
    finally:
        lock.close()
    return 1 if errors else 0


def main(argv):
    """``confirm_waiter.py PENDING``: wait for the change kept in the pending file."""
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
