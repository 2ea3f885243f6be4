# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why the owned scope drifted, when the views tell: the usual cause is another tool that
manages the same firewall (a baseline role, a boot script). Pure functions of the views that
the transaction compares (see docs/guides/existing-repo.md for the baselines behind them)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

FLUSHERS = ("iptables -F/-X, a flush-and-rewrite script such as geerlingguy.firewall's (at every restart and "
            "boot), ufw reset, or an iptables-restore of a full rules file")


def _family(key):
    return key if isinstance(key, str) else "IPv%s" % key


def _names(lines, pattern):
    return sorted(set(m.group(1) for m in (re.match(pattern, line) for line in lines) if m))


def iptables_hints(now, want, saved_now=None, saved_want=None):
    hints = []
    for key in sorted(want, key=str):
        chains = _names(want[key], r"^:(\S+)")
        present = _names(now.get(key, []), r"^:(\S+)")
        jumps = [line for line in now.get(key, []) if line.startswith("-A INPUT -j ")]
        if chains and not present:
            hints.append("the PMX chains are gone (%s): another tool flushed iptables (%s)" % (_family(key), FLUSHERS))
        elif chains and set(chains) - set(present):
            hints.append("chains gone (%s): %s: another tool deleted them" % (
                _family(key), ", ".join(sorted(set(chains) - set(present)))))
        elif chains and not jumps:
            hints.append("the jumps into PMX-INPUT and PMX-RESTRICT are gone from INPUT (%s): another tool "
                         "rewrote INPUT" % _family(key))
    for key in sorted(saved_want or {}, key=str):
        if _names(saved_want[key], r"^:(\S+)") and not _names((saved_now or {}).get(key, []), r"^:(\S+)"):
            hints.append("the saved rules (%s) hold none of the PMX chains: another tool wrote the saved file (a full "
                         "rules file, or iptables-save after a flush); the next boot loads it without them" % _family(key))
    return hints


def nftables_hints(now, want):
    hints = []
    for key in sorted(want, key=str):
        if want[key] and not now.get(key):
            hints.append("the pmx chains and sets are gone: another tool flushed the ruleset (nft flush ruleset, or "
                         "a reload of a configuration file without the collection's include)")
    return hints


def firewalld_hints(now, want):
    lines = now.get("firewalld", [])
    objects = _names(want.get("firewalld", []), r"^(policy \S+|ipset \S+): ")
    kept, runtime_only, permanent_only = set(), set(), set()
    for line in lines:
        match = re.match(r"^(policy \S+|ipset \S+): ", line)
        if not match:
            continue
        which = (runtime_only if line.endswith("# runtime only") else
                 permanent_only if line.endswith("# permanent only") else kept)
        which.add(match.group(1))
    gone = [name for name in objects if name not in kept | runtime_only | permanent_only]
    hints = []
    if gone:
        what = ("the policy and ipsets are gone" if len(gone) == len(objects) and len(gone) > 1 else
                "gone")
        hints.append("%s (%s): another tool reset firewalld's configuration (linux-system-roles firewall with "
                     "previous: replaced?, or /etc/firewalld restored from elsewhere)" % (what, ", ".join(gone)))
    files_gone = sorted((runtime_only - kept) & set(objects))
    if files_gone:
        hints.append("still running but their files are gone from /etc/firewalld (%s): another tool removed them; "
                     "the next reload or boot drops them" % ", ".join(files_gone))
    not_running = sorted((permanent_only - kept) & set(objects))
    if not_running:
        hints.append("in /etc/firewalld but not running (%s): a change without --permanent removed them, or firewalld "
                     "was not reloaded after the files were written" % ", ".join(not_running))
    return hints


def hints(backend, now, want, saved_now=None, saved_want=None):
    """Phrases naming what of the owned scope is gone and the likely cause; [] when nothing says."""
    if backend == "iptables":
        return iptables_hints(now, want, saved_now, saved_want)
    if backend == "nftables":
        return nftables_hints(now, want)
    if backend == "firewalld":
        return firewalld_hints(now, want)
    return []
