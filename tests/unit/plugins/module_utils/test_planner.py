# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.portmatrix.xenserver.plugins.module_utils import planner


def _groups(plan):
    return dict((g.name, g) for g in plan.groups)


def test_pool_host_groups_and_restricted_ports():
    plan = planner.build_plan(
        ["pool_host"], peers={"xencenter": ["198.51.100.50", "2001:db8::50"], "api_client": ["203.0.113.0/24"]},
        pool_peers=["198.51.100.11", "198.51.100.12"], clustered=True)
    groups = _groups(plan)
    assert groups["pool_member"].networks == {4: ["198.51.100.11/32", "198.51.100.12/32"], 6: []}
    assert dict(groups["pool_member"].ports) == {"tcp": (80, 443, 8892, 21064), "udp": (5404, 5405)}
    assert dict(groups["xencenter"].ports) == {"tcp": (22, 443)}
    assert groups["xencenter"].networks[6] == ["2001:db8::50/128"]
    assert dict(groups["api_client"].ports) == {"tcp": (80, 443)}
    # 22, 80 and 443 stay public by default; cluster ports are for pool members only.
    assert dict(plan.restricted) == {"tcp": (8892, 21064), "udp": (5404, 5405)}
    assert plan.families == (4, 6)


def test_unclustered_pool_serves_cluster_ports_to_nobody_and_strict_mode_restricts_all():
    plan = planner.build_plan(["pool_host"], pool_peers=["10.0.0.1"])
    assert dict(_groups(plan)["pool_member"].ports) == {"tcp": (80, 443)}
    assert dict(plan.restricted) == {"tcp": (8892, 21064), "udp": (5404, 5405)}
    plan = planner.build_plan(["pool_host"], pool_peers=["10.0.0.1"], public_ports=[])
    assert dict(plan.restricted) == {"tcp": (22, 80, 443, 8892, 21064), "udp": (5404, 5405)}


def test_overrides_https_only_and_optional_features():
    plan = planner.build_plan(["pool_host"], pool_peers=["10.0.0.1"], clustered=True, https_only=True,
                              port_options={"cluster_daemon_port": 8896}, features=["ha"])
    ports = dict(_groups(plan)["pool_member"].ports)
    assert ports == {"tcp": (443, 8896, 21064), "udp": (694, 5404, 5405)}


def test_filer_nfsv3_pinned_ports_and_skip():
    plan = planner.build_plan(["nfs_filer"], peers={"pool_host": ["10.0.0.1"]}, nfsv3_ports=[892, 662, 32803])
    assert dict(_groups(plan)["pool_host"].ports) == {"tcp": (111, 662, 892, 2049, 32803), "udp": (111, 662, 892, 2049, 32803)}
    plan = planner.build_plan(["nfs_filer"], peers={"pool_host": ["10.0.0.1"]}, skip_features=["nfsv3"])
    assert dict(_groups(plan)["pool_host"].ports) == {"tcp": (2049,)}


def test_nfsv3_ports_per_protocol():
    plan = planner.build_plan(["nfs_filer"], peers={"pool_host": ["10.0.0.1"]},
                              nfsv3_ports=["892", "662", "32803/tcp", "32769/udp"])
    ports = dict(_groups(plan)["pool_host"].ports)
    assert 32803 in ports["tcp"] and 32803 not in ports["udp"]
    assert 32769 in ports["udp"] and 32769 not in ports["tcp"]
    assert 892 in ports["tcp"] and 892 in ports["udp"]
    for bad in (["892/sctp"], ["0"], ["x/tcp"]):
        with pytest.raises(planner.PlanError) as err:
            planner.build_plan(["nfs_filer"], nfsv3_ports=bad)
        assert "nfsv3_ports" in str(err.value)


def test_rules_grow_with_addresses_plus_ports():
    small = planner.rule_summary(planner.build_plan(["pool_host"], pool_peers=["10.0.0.%d" % i for i in range(1, 9)], clustered=True))
    large = planner.rule_summary(planner.build_plan(["pool_host"], pool_peers=["10.0.%d.%d" % (i // 200, i % 200 + 1) for i in range(64)], clustered=True))
    assert small["ports"] == large["ports"]
    assert large["addresses"][4] == 64


def test_extra_rules():
    plan = planner.build_plan(["license_server"], extra_rules=[{"name": "monitoring", "sources": ["192.0.2.9"], "protocol": "tcp", "ports": [9100]}])
    assert dict(_groups(plan)["monitoring"].ports) == {"tcp": (9100,)}
    assert 9100 in plan.restricted["tcp"]


@pytest.mark.parametrize("kwargs, message", [
    ({"components": ["pool"]}, "unknown component 'pool'"),
    ({"components": ["pool_host"], "features": ["ha2"]}, "unknown feature 'ha2'"),
    ({"components": ["pool_host"], "pool_peers": ["xs1.example.com"]}, "pool_peers: 'xs1.example.com' is not an IPv4/IPv6"),
    ({"components": ["pool_host"], "peers": {"xencenter": ["300.1.1.1"]}}, "peers.xencenter"),
    ({"components": ["pool_host"], "peers": {"xen_center": ["10.0.0.1"]}}, "peers: unknown component 'xen_center'"),
    ({"components": ["license_server"], "port_options": {"license_vendor_daemon_port": 70000}}, "bad port 70000"),
    ({"components": ["nfs_filer"], "nfsv3_ports": ["abc"]}, "nfsv3_ports: bad port 'abc'"),
    ({"components": ["pool_host"], "public_ports": ["22"]}, "write PORT/PROTOCOL"),
    ({"components": ["pool_host"], "extra_rules": [{"name": "Bad-Name", "sources": [], "ports": [1]}]}, "extra rule name"),
    ({"components": ["pool_host"], "guards": [("not-an-ip", 22)]}, "guard: "),
])
def test_bad_input_is_refused(kwargs, message):
    with pytest.raises(planner.PlanError) as err:
        planner.build_plan(**kwargs)
    assert message in str(err.value)


def test_migration_peers_xostor_and_sdn_rows():
    plan = planner.build_plan(
        ["pool_host"], peers={"sdn_controller": ["198.51.100.60"]}, pool_peers=["198.51.100.11"],
        migration_peers=["198.51.100.21"], features=["cross_pool_migration", "xostor", "sdn_controller"],
        public_ports=[])
    groups = _groups(plan)
    assert dict(groups["migration_peer"].ports) == {"tcp": (443,)}
    assert groups["migration_peer"].networks[4] == ["198.51.100.21/32"]
    assert dict(groups["sdn_controller"].ports) == {"tcp": (6640,)}
    member_tcp = groups["pool_member"].ports["tcp"]
    assert set((3366, 3370, 3376, 3377, 8076, 8077, 7000, 7500, 8000)) <= set(member_tcp)
    assert set(range(7000, 8001)) <= set(plan.restricted["tcp"]) and 6640 in plan.restricted["tcp"]
    # without the feature, nobody from another pool is served 443 in strict mode
    plan = planner.build_plan(["pool_host"], pool_peers=["198.51.100.11"], migration_peers=["198.51.100.21"],
                              public_ports=[])
    assert "migration_peer" not in _groups(plan)
    with pytest.raises(planner.PlanError):
        planner.build_plan(["pool_host"], extra_rules=[{"name": "migration_peer", "sources": ["192.0.2.1"],
                                                        "ports": [443]}])


def test_records_name_their_fields():
    plan = planner.build_plan(["pool_host"], pool_peers=["198.51.100.11"], peers={"xencenter": ["2001:db8::50"]},
                              guards=[("198.51.100.99", 2222), ("198.51.100.99/32", "2222"), ("2001:db8::9", 22)])
    assert plan.guards == (planner.Guard("198.51.100.99/32", 4, 2222), planner.Guard("2001:db8::9/128", 6, 22))
    assert [g.port for g in plan.guards] == [2222, 22]
    assert plan.families == (4, 6)
    member = next(g for g in plan.groups if g.name == planner.POOL_MEMBER)
    assert member.networks == {4: ["198.51.100.11/32"], 6: []}
    for port, flows in member.port_flows["tcp"].items():
        assert port in member.ports["tcp"] and set(flows) <= set(member.flows)
    planned = planner.planned_flows(["pool_host"], clustered=True)
    assert planned and all(isinstance(p, planner.PlannedFlow) and p.flow.destination == "pool_host" for p in planned)
    assert all(p.ports and set(p.ports) <= {"tcp", "udp"} for p in planned)
