"""What real platforms do beyond the vendor's port page (issue 14), proven by traffic on an
estate of its own (estate_platforms.yml): cross-pool migration between named pools in strict
mode, the SDN controller, XOSTOR between the members of an XCP-ng pool; and what xapi and
linstor-manager do to a host's firewall at run time and at boot (the lab's stand-ins, modelled
on xen-api scripts/plugins/firewall-port and xcp-ng/sm drivers/linstor-manager)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from conftest import PREFIX, built_lab, flow, probe

ESTATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "estate_platforms.yml")
PLATFORMS_PREFIX = os.environ.get("PORTMATRIX_IT_PREFIX_PLATFORMS", PREFIX[:-1] + "p-")
MANAGED = ["xcp1", "xcp2", "ypool1", "sdn"]
# group_vars of the estate: strict pool hosts, pool_y migrates to pool_x, pool_x uses XOSTOR and
# the SDN controller (passive mode: it connects in on 6640).
GROUP_VARS = {
    "all": {"vars": {"portmatrix_strict": True, "portmatrix_migration_pools": {"pool_y": ["pool_x"]}}},
    "pool_x": {"vars": {"portmatrix_features": ["xostor", "sdn_controller"]}},
    "sdn_controllers": {"vars": {"portmatrix_features": ["sdn_controller"]}},
}


class InventoryRunner:
    """firewall_rules with from_inventory on lab hosts, the lab's inventory plus group_vars."""

    def __init__(self, lab, collections, tmp):
        self.lab, self.collections = lab, collections
        self.ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
        self.extra = os.path.join(str(tmp), "group_vars.yml")

    def __call__(self, hosts, group_vars, check=False):
        with open(self.extra, "w") as handle:
            yaml.safe_dump(group_vars, handle)
        argv = [self.ansible, ",".join(hosts), "-i", self.lab.inventory_path, "-i", self.extra,
                "-m", "portmatrix.xenserver.firewall_rules", "-a", json.dumps({"from_inventory": True}), "--forks", "4"]
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=self.collections, ANSIBLE_STDOUT_CALLBACK="oneline",
                   ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1")
        done = subprocess.run(argv + (["--check"] if check else []), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, env=env, timeout=300, check=False)
        results = {}
        for line in done.stdout.splitlines():
            match = re.match(r"^(\S+) \| (\w+)!? => (\{.*\})$", line)
            if match:
                results[match.group(1)] = dict(json.loads(match.group(3)), status=match.group(2))
        assert sorted(results) == sorted(hosts), done.stdout[-3000:]
        failed = dict((h, r.get("msg")) for h, r in results.items() if r["status"] not in ("SUCCESS", "CHANGED"))
        assert not failed, failed
        return results


@pytest.fixture(scope="module")
def platforms(collections_path, tmp_path_factory):
    with built_lab(PLATFORMS_PREFIX, ESTATE) as the_lab:
        yield the_lab, InventoryRunner(the_lab, collections_path, tmp_path_factory.mktemp("platforms"))


MATRIX_FLOWS = [
    # cross-pool migration: pool_y -> pool_x only, in strict mode
    flow("ypool1", "xcp1", "tcp", 443, "open"), flow("ypool1", "xcp2", "tcp", 443, "open", family=6),
    flow("xcp1", "ypool1", "tcp", 443, "refused"), flow("outsider", "xcp1", "tcp", 443, "refused"),
    flow("xcp2", "xcp1", "tcp", 443, "open"),
    # the SDN controller: in on 6640 (passive mode), out to 6632 on the controller
    flow("sdn", "xcp1", "tcp", 6640, "open"), flow("outsider", "xcp1", "tcp", 6640, "refused"),
    flow("ypool1", "xcp1", "tcp", 6640, "refused"),
    flow("xcp1", "sdn", "tcp", 6632, "open"), flow("outsider", "sdn", "tcp", 6632, "refused"),
    # XOSTOR between the members of pool_x only
    flow("xcp2", "xcp1", "tcp", 3366, "open"), flow("xcp2", "xcp1", "tcp", 7000, "open", family=6),
    flow("xcp1", "xcp2", "tcp", 7999, "open"), flow("xcp1", "xcp2", "tcp", 8077, "open"),
    flow("ypool1", "xcp1", "tcp", 3366, "refused"), flow("ypool1", "xcp1", "tcp", 7999, "refused"),
    flow("outsider", "xcp1", "tcp", 8000, "refused"), flow("outsider", "xcp2", "tcp", 3370, "refused", family=6),
    flow("xcp2", "xcp1", "tcp", 9999, "refused"),
]


def test_migration_sdn_and_xostor_by_traffic(platforms):
    lab, run = platforms
    lab.reset(MANAGED)
    results = run(MANAGED, GROUP_VARS)
    assert all(r["changed"] for r in results.values())
    probe(lab, MATRIX_FLOWS)
    assert not any(r["changed"] for r in run(MANAGED, GROUP_VARS, check=True).values())
    # without portmatrix_migration_pools pool_x refuses pool_y on 443 (strict mode)
    no_migration = dict(GROUP_VARS, all={"vars": {"portmatrix_strict": True}})
    run(["xcp1"], no_migration)
    probe(lab, [flow("ypool1", "xcp1", "tcp", 443, "refused"), flow("xcp2", "xcp1", "tcp", 443, "open"),
                flow("sdn", "xcp1", "tcp", 6640, "open")])
