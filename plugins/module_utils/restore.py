# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Snapshots of the owned scope as restore steps, and the runner that executes them.

A backend's ``snapshot()`` returns a JSON-serialisable list of steps that put its owned
scope back exactly as it was (runtime and, where the backend has them, permanent files).
The steps must still work when this collection's code is gone (a rollback started after
the module ended), so the runner is kept as source text, RUNNER_SOURCE: standard library
only, Python 3.6+.  This module runs that same text to get its functions, so the module
and a standalone ``python -c RUNNER_SOURCE STEPS.json`` are one implementation.

Steps (each a dict with one of these keys):

- ``{"run": argv, "stdin": text, "ok": [rc, ...]}``: run a command (``ok`` defaults to [0]).
- ``{"write": path, "text": text, "mode": int}``: write a file atomically (temp file, rename).
- ``{"remove": path}``: remove a file if it exists.
- ``{"sync": dir, "prefix": p, "suffix": s, "files": {name: {"text": t, "mode": m}}}``: the files
  of dir whose names start with p and end with s become exactly ``files``.
- ``{"iptables": {"save": argv, "restore": argv, "prefix": p, "chains": [[name, [rules]]],
  "jumps": [[chain, index, rule]]}}``: one ``restore --noflush`` transaction (tested first
  with ``--test``) that removes every chain named p* and every rule elsewhere that jumps
  into one, then declares ``chains`` with their rules and inserts each jump rule into its
  chain after ``index`` rules that are not ours (as many as there are, when fewer).
- ``{"lock": path, "timeout": seconds}``: hold an exclusive flock on path until the steps end.

Every step is tried even when an earlier one failed; the errors are returned (the runner
exits 1 and prints them).  Text is read and written as UTF-8 with surrogateescape, so any
bytes come back as they were.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import stat
import tempfile

RUNNER_SOURCE = r'''
import collections
import fcntl
import json
import os
import subprocess
import sys
import time

ENCODING = {"encoding": "utf-8", "errors": "surrogateescape"}


def call(argv, stdin=None):
    """(rc, stdout, stderr) of argv, with stdin text."""
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    data = None if stdin is None else stdin.encode("utf-8", "surrogateescape")
    out, err = process.communicate(data)
    return (process.returncode, out.decode("utf-8", "surrogateescape"), err.decode("utf-8", "surrogateescape"))


def read_file(path):
    """Text of path, or None when it does not exist."""
    try:
        with open(path, "r", **ENCODING) as handle:
            return handle.read()
    except IOError as exc:
        if exc.errno == 2:
            return None
        raise


def write_file(path, text, mode):
    if read_file(path) == text and os.stat(path).st_mode & 0o7777 == mode:
        return  # already so: a restore touches nothing that is right
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    tmp = os.path.join(directory, ".%s.portmatrix-tmp" % os.path.basename(path))
    with open(tmp, "w", **ENCODING) as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.rename(tmp, path)


def remove_file(path):
    if os.path.lexists(path):
        os.remove(path)


def sync_dir(directory, prefix, suffix, files):
    if os.path.isdir(directory):
        for name in sorted(os.listdir(directory)):
            if name.startswith(prefix) and name.endswith(suffix) and name not in files:
                os.remove(os.path.join(directory, name))
    for name in sorted(files):
        write_file(os.path.join(directory, name), files[name]["text"], files[name]["mode"])


# --- iptables: iptables-save text in, iptables-restore --noflush payload out ---

def parse_filter(text):
    """The filter table of iptables-save output: (chains {name: policy}, rules {chain: [lines]})."""
    chains = collections.OrderedDict()
    rules = collections.OrderedDict()
    in_filter = False
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            in_filter = line == "*filter"
        elif not in_filter:
            continue
        elif line == "COMMIT":
            in_filter = False
        elif line.startswith(":"):
            name, policy = line[1:].split()[:2]
            chains[name] = policy
            rules.setdefault(name, [])
        elif line.startswith("-A "):
            chain = line.split()[1]
            rules.setdefault(chain, []).append(line)
            chains.setdefault(chain, "-")
    return chains, rules


def rule_target(rule):
    words = rule.split()
    for index, word in enumerate(words[:-1]):
        if word in ("-j", "--jump", "-g", "--goto"):
            return words[index + 1]
    return None


def owned_iptables(text, prefix):
    """The owned scope of iptables-save text: (chains [[name, [rules]]], jumps [[chain, index, rule]]);
    index counts the rules of that chain before the jump that are not ours."""
    chains, rules = parse_filter(text)
    owned = [[name, list(rules.get(name, []))] for name in chains if name.startswith(prefix)]
    jumps = []
    for chain, lines in rules.items():
        if chain.startswith(prefix):
            continue
        foreign = 0
        for rule in lines:
            if (rule_target(rule) or "").startswith(prefix):
                jumps.append([chain, foreign, rule])
            else:
                foreign += 1
    return owned, jumps


def iptables_payload(text, prefix, chains, jumps):
    """One iptables-restore --noflush transaction from the state in text to the owned scope given.

    Declaring a chain creates or flushes it; stray jumps are deleted before the wanted ones are
    inserted (positions count rules that are not ours); chains no longer wanted go last."""
    current, current_jumps = owned_iptables(text, prefix)
    existing_rules = parse_filter(text)[1]
    wanted = [name for name, unused in chains]
    stale = [name for name, unused in current if name not in wanted]
    lines = ["*filter"]
    lines += [":%s - [0:0]" % name for name in wanted + stale]
    for unused, rules in chains:
        lines.extend(rules)
    for chain, unused, rule in current_jumps:
        lines.append("-D" + rule[2:])
    inserted = {}
    for chain, index, rule in sorted(jumps, key=lambda jump: jump[1]):
        foreign = len([r for r in existing_rules.get(chain, []) if not (rule_target(r) or "").startswith(prefix)])
        position = min(index, foreign) + inserted.get(chain, 0) + 1
        inserted[chain] = inserted.get(chain, 0) + 1
        lines.append("-I %s %d %s" % (chain, position, rule.split(None, 2)[2]))
    lines += ["-X %s" % name for name in stale]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def restore_iptables(spec, run):
    rc, out, err = run(spec["save"])
    if rc != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(spec["save"]), (err or out).strip()))
    payload = iptables_payload(out, spec["prefix"], spec["chains"], spec["jumps"])
    for argv in (spec["restore"] + ["--test", "--noflush"], spec["restore"] + ["--noflush"]):
        rc, out, err = run(argv, payload)
        if rc != 0:
            raise RuntimeError("%s refused the change: %s\n%s" % (" ".join(argv), (err or out).strip(), payload))


# --- the runner ---

def take_lock(path, timeout):
    handle = open(path, "a")
    deadline = time.time() + timeout
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except (IOError, OSError):
            if time.time() >= deadline:
                handle.close()
                raise RuntimeError("%s is still locked after %ss" % (path, timeout))
            time.sleep(0.2)


def run_step(step, run, held):
    if "run" in step:
        rc, out, err = run(step["run"], step.get("stdin"))
        if rc not in step.get("ok", [0]):
            raise RuntimeError("%s: exit %d: %s" % (" ".join(step["run"]), rc, (err or out).strip()))
    elif "write" in step:
        write_file(step["write"], step["text"], step["mode"])
    elif "remove" in step:
        remove_file(step["remove"])
    elif "sync" in step:
        sync_dir(step["sync"], step["prefix"], step["suffix"], step["files"])
    elif "iptables" in step:
        restore_iptables(step["iptables"], run)
    elif "lock" in step:
        held.append(take_lock(step["lock"], step.get("timeout", 60)))
    else:
        raise ValueError("unknown step %r" % (sorted(step),))


def run_steps(steps, run=call):
    """Run every step; return the errors as text (empty when all went well)."""
    errors = []
    held = []
    try:
        for number, step in enumerate(steps, 1):
            try:
                run_step(step, run, held)
            except Exception as exc:  # every step is tried: a restore does what it can
                errors.append("step %d (%s): %s" % (number, sorted(step)[0], exc))
    finally:
        for handle in held:
            handle.close()
    return errors


def main(argv):
    source = sys.stdin if len(argv) < 2 or argv[1] == "-" else open(argv[1], **ENCODING)
    errors = run_steps(json.load(source))
    for error in errors:
        sys.stderr.write(error + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
'''

_RUNNER = {"__name__": "portmatrix_restore_runner"}
exec(compile(RUNNER_SOURCE, "<portmatrix restore runner>", "exec"), _RUNNER)

call = _RUNNER["call"]
run_steps = _RUNNER["run_steps"]
read_file = _RUNNER["read_file"]
write_file = _RUNNER["write_file"]
parse_filter = _RUNNER["parse_filter"]
rule_target = _RUNNER["rule_target"]
owned_iptables = _RUNNER["owned_iptables"]
iptables_payload = _RUNNER["iptables_payload"]


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
    handle = _RUNNER["take_lock"](path or lock_path(), timeout)
    try:
        yield handle
    finally:
        handle.close()


def adapt(run):
    """The runner's call(argv, stdin) made of a module-style run(argv, data=None)."""
    return lambda argv, stdin=None: run(argv, data=stdin)


def cannot_write(path):
    """Why path cannot be written by a temp file and a rename in its directory, or None."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
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
    return [python, "-c", RUNNER_SOURCE, steps_path]


def file_steps(paths):
    """Restore steps that put files back as they are now: written again, or removed if missing."""
    steps = []
    for path in paths:
        text = read_file(path)
        if text is None:
            steps.append({"remove": path})
        else:
            steps.append({"write": path, "text": text, "mode": stat.S_IMODE(os.stat(path).st_mode)})
    return steps
