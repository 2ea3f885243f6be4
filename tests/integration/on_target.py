# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs inside a lab host with the host's Python and the collection's module_utils on
PYTHONPATH, for what the module does not expose: `snapshot BACKEND OUT.json` writes the
backend's restore steps."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import sys

from ansible_collections.portmatrix.xenserver.plugins.module_utils import _restore_runner, firewalld, iptables, nftables

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def which(tool):
    return shutil.which(tool, path=PATH)


def run(argv, data=None):
    return _restore_runner.call(argv, data)


def main(argv):
    command, kind, out = argv[1:4]
    if command != "snapshot":
        raise SystemExit("unknown command %s" % command)
    if kind == "iptables":
        families = [4, 6] if os.path.exists("/proc/net/if_inet6") else [4]
        backend = iptables.IptablesBackend(run, families)
    elif kind == "nftables":
        backend = nftables.NftablesBackend(run)
    else:
        backend = firewalld.FirewalldBackend(run)
    backend.validate(which)
    with open(out, "w") as handle:
        json.dump(backend.snapshot(), handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
