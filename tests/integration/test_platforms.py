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

from conftest import PREFIX, built_lab, flow, probe, stop_firewalld

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

    def __call__(self, hosts, group_vars, check=False, expect_failure=False):
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
        assert bool(failed) == expect_failure and (not expect_failure or sorted(failed) == sorted(hosts)), failed
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


def iptables_rules(lab, host, tool="iptables-save"):
    return [re.sub(r"\[\d+:\d+\]", "[0:0]", line) for line in lab.exec(host, [tool], check=True).stdout.splitlines()
            if not line.startswith("#")]


XOSTOR_FLOWS = [flow("xcp2", "xcp1", "tcp", 3366, "open"), flow("xcp2", "xcp1", "tcp", 7000, "open"),
                flow("ypool1", "xcp1", "tcp", 3366, "refused"), flow("ypool1", "xcp1", "tcp", 7999, "refused"),
                flow("outsider", "xcp1", "tcp", 7000, "refused"), flow("outsider", "xcp1", "tcp", 8077, "refused"),
                flow("outsider", "xcp1", "tcp", 3370, "refused", family=6)]


def test_linstor_manager_and_a_boot_on_the_xcp_ng_host(platforms):
    """linstor-manager opens the XOSTOR ports to everyone (xapi-INPUT, and DRBD with iptables -I INPUT);
    the collection puts its reject-only chain back above them once, and linstor-manager's next run
    (it only checks that its rules exist) changes nothing: no loop. A boot: the saved rules loaded,
    then xapi opens 80 again (on top of RH-Firewall-1-INPUT, as in xcp-ng/xcp#807): no drift."""
    lab, run = platforms
    lab.reset(["xcp1", "xcp2", "ypool1"])
    assert lab.info()["hosts"]["xcp1"]["platform"] == "xcp-ng8"
    results = run(["xcp1", "xcp2", "ypool1"], GROUP_VARS)
    assert results["xcp1"]["platform"]["name"] == "xcp-ng8"
    assert results["xcp1"]["platform"]["detected_from"] == "/etc/xensource-inventory"
    for host in ("xcp1", "xcp2"):
        lab.exec(host, ["linstor-manager-ports", "open"], check=True)
    drbd = ["iptables", "-C", "INPUT", "-p", "tcp", "--dport", "7000:8000", "-j", "ACCEPT"]
    assert lab.exec("xcp1", drbd).returncode == 0
    drift = run(["xcp1"], GROUP_VARS, check=True)["xcp1"]
    assert drift["changed"] and "-A INPUT -p tcp -m tcp --dport 7000:8000 -j ACCEPT" in drift["shadowing"]["4"]
    run(["xcp1", "xcp2"], GROUP_VARS)
    probe(lab, XOSTOR_FLOWS)
    before = iptables_rules(lab, "xcp1")
    lab.exec("xcp1", ["linstor-manager-ports", "open"], check=True)   # its next run: its rules exist
    assert iptables_rules(lab, "xcp1") == before
    assert not run(["xcp1"], GROUP_VARS, check=True)["xcp1"]["changed"]
    assert lab.exec("xcp1", drbd).returncode == 0                      # linstor-manager's rules stay
    assert lab.exec("xcp1", ["iptables", "-C", "xapi-INPUT", "-p", "tcp", "-m", "conntrack", "--ctstate", "NEW",
                             "-m", "tcp", "--dport", "3366", "-j", "ACCEPT"]).returncode == 0

    # a locked-down host without the stock port-80 rule (xcp-ng/xcp#807), then a boot
    lab.exec("xcp1", ["sh", "-c", "iptables -D RH-Firewall-1-INPUT -p tcp -m conntrack --ctstate NEW -m tcp --dport 80 "
                                  "-j ACCEPT && /usr/libexec/iptables/iptables.init save"], check=True)
    lab.exec("xcp1", ["/usr/libexec/iptables/iptables.init", "start"], check=True)
    lab.exec("xcp1", ["xe", "lab-xapi-start"], check=True)
    rh = [line for line in iptables_rules(lab, "xcp1") if line.startswith("-A RH-Firewall-1-INPUT")]
    assert rh[0] == "-A RH-Firewall-1-INPUT -p tcp -m conntrack --ctstate NEW -m tcp --dport 80 -j ACCEPT"
    assert not run(["xcp1"], GROUP_VARS, check=True)["xcp1"]["changed"]
    probe(lab, XOSTOR_FLOWS + [f for f in MATRIX_FLOWS if f["dst"] == "xcp1"] + [
        flow("outsider", "xcp1", "tcp", 80, "refused"), flow("xcp2", "xcp1", "tcp", 80, "open"),
        flow("ypool1", "xcp1", "tcp", 80, "refused")])


def test_common_criteria_host(platforms):
    """https-only through the collection fails clearly with nothing changed (xapi refuses it in FIPS
    mode); the collection's rules live beside the CC default-deny rules and open nothing they drop."""
    lab, run = platforms
    lab.reset(["ccxs", "ypool1"])
    before = (iptables_rules(lab, "ccxs"), lab.exec("ccxs", ["cat", "/etc/sysconfig/iptables"], check=True).stdout)
    https = dict(GROUP_VARS, pool_y={"vars": {"portmatrix_https_only": True}})
    failed = run(["ccxs"], https, expect_failure=True)["ccxs"]
    assert "Common Criteria" in failed["msg"] and "CC_PREPARATIONS=true" in failed["msg"]
    assert "nothing was changed" in failed["msg"] and failed["platform"]["cc_preparations"] is True
    assert (iptables_rules(lab, "ccxs"), lab.exec("ccxs", ["cat", "/etc/sysconfig/iptables"], check=True).stdout) == before
    xe_log = os.path.join(lab.host_dir("ccxs"), "xe.log")
    assert not os.path.exists(xe_log) or "param-set" not in open(xe_log).read()
    # without https-only: applied beside the CC rules, which stay as they were
    run(["ccxs", "ypool1"], GROUP_VARS)
    assert [l for l in iptables_rules(lab, "ccxs") if "PMX-" not in l] == before[0]
    assert not run(["ccxs"], GROUP_VARS, check=True)["ccxs"]["changed"]
    probe(lab, [flow("ypool1", "ccxs", "tcp", 443, "open"), flow("ccxs", "xcp1", "tcp", 443, "open"),
                flow("ypool1", "ccxs", "tcp", 80, "refused"),     # a matrix flow, but CC drops 80
                flow("outsider", "ccxs", "tcp", 443, "refused"),  # strict mode
                flow("outsider", "ccxs", "tcp", 80, "refused"), flow("ypool1", "ccxs", "udp", 694, "refused")])


def test_xenserver9_default_zone_not_public_and_a_firewalld_restart(platforms):
    """xapi adds its services to the DEFAULT zone (no --zone); after a firewalld restart
    update-xapi-firewalld.service adds them again. No drift, every flow as before."""
    lab, run = platforms
    lab.reset(["xs9z"])
    zone = lab.exec("xs9z", ["firewall-cmd", "--get-default-zone"], check=True).stdout.strip()
    assert zone == "xapi"
    uuid = lab.exec("xs9z", ["xe", "host-list", "--minimal"], check=True).stdout.strip()
    lab.exec("xs9z", ["xe", "host-param-set", "uuid=" + uuid, "https-only=true"], check=True)
    lab.exec("xs9z", ["xe", "host-param-set", "uuid=" + uuid, "https-only=false"], check=True)
    assert "xapi-insecure" in lab.exec("xs9z", ["firewall-cmd", "--zone=xapi", "--list-services"], check=True).stdout
    relaxed = dict(GROUP_VARS, all={"vars": {}})
    result = run(["xs9z"], relaxed)["xs9z"]
    assert result["backend"] == "firewalld" and result["platform"]["name"] == "xenserver9"
    flows = [flow("outsider", "xs9z", "tcp", 80, "open"), flow("outsider", "xs9z", "tcp", 443, "open"),
             flow("outsider", "xs9z", "udp", 694, "open"),     # xapi's xenha service: HA armed at up
             flow("outsider", "xs9z", "tcp", 9999, "refused")]
    probe(lab, flows)
    stop_firewalld(lab, "xs9z")
    lab.up()                                                        # firewalld starts again
    lab.exec("xs9z", ["xe", "host-update-firewalld-service-status"], check=True)   # update-xapi-firewalld.service
    assert not run(["xs9z"], relaxed, check=True)["xs9z"]["changed"]
    probe(lab, flows)
