# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The digest of the plan a host's firewall was last set from, kept on the host.

firewall_rules writes it when a change is in place for good (applied without confirmation,
nothing to change, or confirmed from a new connection) and removes it with state=absent; drift
reads it.  The digest is the estate's (plugin_utils/plan_file.py on the controller): a run
without a plan file records the one a plan of the same inventory has.  It lives in the
collection's own directory under /etc (beside nftables.nft), kept across reboots like the
saved rules.  Runs on the target: Python 3.6, standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

RECORD = "/etc/portmatrix/plan-digest"


def read(path=RECORD):
    """The recorded digest, None when there is none."""
    try:
        with open(path) as handle:
            return handle.read().strip() or None
    except (IOError, OSError):
        return None


def write(digest, path=RECORD):
    """Record digest (replaced at once: a reader sees the old one or the new one)."""
    if read(path) == digest:
        return False
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "w") as handle:
        handle.write(digest + "\n")
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)
    return True


def steps(digest, path=RECORD):
    """The restore-runner steps (_restore_runner.run_step) that record digest: what a change's
    confirmation runs once the change is in place for good (confirm.arm(record=))."""
    return [{"write": path, "text": digest + "\n", "mode": 0o644}] if digest else []


def remove(path=RECORD):
    """Forget the record (the collection's rules are gone)."""
    try:
        os.unlink(path)
        return True
    except OSError:
        return False
