# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a firewall backend gives the Transaction (transaction.py): get and set of the owned scope.

The iptables, nftables and firewalld backends subclass Backend.  A backend only reads, compares
as lines, writes and saves; check mode, the read-back, the rollback on failure and commit
confirmed live in the Transaction.  The module calls validate() first; a Transaction then calls
read, views, saved_views, rule_count and shadowing, and for a change snapshot, write, read and
views again (the read-back), and save.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class Backend:
    """get/set of one kind of firewall's owned scope.

    ``name``: the backend's name in results and messages; ``families``: the address families it
    filters (4, 6); ``run(argv, data=None) -> (rc, stdout, stderr)``: the module's run_command;
    ``state``: ``present`` (the plan) or ``absent`` (nothing of ours)."""

    name = None

    def __init__(self, run, state="present", families=(4, 6)):
        self.run = run
        self.state = state
        self.families = tuple(families)

    def validate(self, which):
        """Check, before anything changes, that this host can take the change and keep it: the tools
        (``which(tool)`` finds one, or returns None) and that what will be saved can be written.
        Raises the backend's error otherwise."""
        raise NotImplementedError

    def read(self):
        """The current state, as views(), shadowing(), write() and snapshot() take it."""
        raise NotImplementedError

    def views(self, current, plan):
        """(now, want): the owned scope as it is in current and as the plan wants it, each a dict of
        lists of comparable lines (per family, or one key for the whole backend)."""
        raise NotImplementedError

    def shadowing(self, current, plan):
        """Foreign rules that could accept a new connection to a restricted port before the owned
        restrictions are checked, keyed as views()."""
        raise NotImplementedError

    @staticmethod
    def rule_count(views):
        """Rules the owned scope of views puts in the kernel, keyed as views()."""
        raise NotImplementedError

    def write(self, current, plan):
        """Change the running owned scope from current to the plan, in one transaction."""
        raise NotImplementedError

    def snapshot(self, current=None):
        """Restore steps (see _restore_runner.py) that put the owned scope back as it is in current
        (read now when None), runtime and saved alike, from whatever state it is in by then."""
        raise NotImplementedError

    def running_steps(self, current):
        """Restore steps of the running owned scope of current alone (no files): what commit confirmed
        checks the kernel against before it saves (_restore_runner.differs); [] when nothing is compared."""
        raise NotImplementedError

    def saved_views(self, plan):
        """(now, want) of what the host loads at boot, as views(); (None, None) when the backend keeps
        nothing apart from its running state."""
        raise NotImplementedError

    def save_steps(self, plan):
        """Restore steps (see _restore_runner.py) that make what the host loads at boot hold the plan
        (worked out after the read-back; commit confirmed keeps them for the confirmation)."""
        raise NotImplementedError

    def save(self, plan):
        """Make what the host loads at boot hold the plan (runs after the read-back)."""
        raise NotImplementedError
