# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans and partial inventories on the lab (issue 15): a pool short of its portmatrix_pool_size
stops site on the controller, before any host changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from test_sliced_apply import states


def test_a_pool_short_of_its_declared_size_stops_site_before_any_host_changes(lab, run_playbook):
    hosts = sorted(lab.info()["hosts"])
    stock = states(lab, hosts, raw=True)
    declared = os.path.join(lab.state_dir, "pool-size.json")
    with open(declared, "w") as handle:  # pool_a has 3 hosts in the lab: declared 4, one is "missing"
        json.dump({"all": {"hosts": dict((h, {"portmatrix_pool_size": 4}) for h in hosts if h.startswith("pool-a"))}},
                  handle)
    done = run_playbook("portmatrix.xenserver.site", inventories=[declared])
    assert done.returncode != 0, done.stdout[-3000:]
    assert "pool pool_a: portmatrix_pool_size says 4 hosts, the inventory has 3" in done.stdout, done.stdout[-3000:]
    assert "portmatrix.xenserver.plan" in done.stdout and "nothing was changed" in done.stdout
    assert "PLAY [Open exactly" not in done.stdout  # stopped in the first play, on the controller
    assert states(lab, hosts, raw=True) == stock
