# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore steps around a change: the host's lock, write checks, file snapshots.

A backend's ``snapshot()`` returns restore steps (their format, and the runner that executes
them, are in _restore_runner.py, a program of its own that works without this collection).
This module holds what the module needs around them: the host's lock, whether a file can be
written before anything changes, steps that put files back as they are now, and the command
that runs steps without the collection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import inspect
import os
import stat
import tempfile

from ansible_collections.portmatrix.xenserver.plugins.module_utils import _restore_runner


# One run at a time per host: every run holds this lock around read-compare-write-save.
LOCK_NAME = "portmatrix.firewall_rules.lock"
LOCK_DIRS = ("/run/lock", "/var/lock", "/run", "/tmp")
LOCK_TIMEOUT = 120


def lock_path():
    for directory in LOCK_DIRS:
        if os.path.isdir(directory):
            return os.path.join(directory, LOCK_NAME)
    raise RuntimeError("none of %s exists for the lock file" % ", ".join(LOCK_DIRS))


@contextlib.contextmanager
def host_lock(path=None, timeout=LOCK_TIMEOUT):
    """Hold the host's lock (exclusive flock) for the block; RuntimeError after timeout s."""
    handle = _restore_runner.take_lock(path or lock_path(), timeout)
    try:
        yield handle
    finally:
        handle.close()


def adapt(run):
    """The runner's call(argv, stdin) made of a module-style run(argv, data=None)."""
    return lambda argv, stdin=None: run(argv, data=stdin)


def cannot_write(path, ours=False):
    """Why path cannot be written by a temp file and a rename in its directory, or None.
    ours: the directory is ours and is made when missing (then its parent must be writable)."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        if ours and directory != os.path.dirname(directory):
            return cannot_write(directory)
        return "%s does not exist" % directory
    try:
        handle, probe = tempfile.mkstemp(prefix=".portmatrix-probe-", dir=directory)
    except (IOError, OSError) as exc:
        return "cannot create a file in %s: %s" % (directory, exc.strerror or exc)
    os.close(handle)
    os.remove(probe)
    if os.path.lexists(path) and not os.path.isfile(path):
        return "%s is not a regular file" % path
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return "%s is not writable" % path
    return None


def standalone_argv(python, steps_path):
    """The command that runs the steps in steps_path (JSON) without this collection."""
    return [python, "-c", inspect.getsource(_restore_runner), steps_path]


def run_or_raise(steps, run, error):
    """Run steps with the module's run; raise error (a class) with their errors when any failed."""
    errors = _restore_runner.run_steps(steps, run=adapt(run))
    if errors:
        raise error("; ".join(errors))


def file_steps(paths):
    """Restore steps that put files back as they are now: written again, or removed if missing."""
    steps = []
    for path in paths:
        text = _restore_runner.read_file(path)
        if text is None:
            steps.append({"remove": path})
        else:
            steps.append({"write": path, "text": text, "mode": stat.S_IMODE(os.stat(path).st_mode)})
    return steps
