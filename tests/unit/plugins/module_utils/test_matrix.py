# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The matrix data against the vendor's table, written out here by hand."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest

from ansible_collections.portmatrix.xenserver.plugins.module_utils import matrix

# The vendor page "Communication ports used by XenServer", row by row, typed from
# ../shared/seed/xenserver-communication-ports.txt independently of matrix.py.
# (source, destination, protocols, ports); "dynamic" for the filer-chosen NFSv3 ports.
VENDOR_ROWS = [
    ("pool_host", "pool_host", "tcp", "80,443"),
    ("pool_host", "license_server", "tcp", "27000"),
    ("pool_host", "license_server", "tcp", "7279"),
    ("pool_host", "ntp_server", "tcp,udp", "123"),
    ("pool_host", "dns_server", "tcp,udp", "53"),
    ("pool_host", "domain_controller", "tcp,udp", "389"),
    ("pool_host", "domain_controller", "tcp", "636"),
    ("pool_host", "smb_filer", "tcp,udp", "139"),
    ("pool_host", "smb_filer", "tcp,udp", "445"),
    ("pool_host", "iscsi_target", "tcp", "3260"),
    ("pool_host", "nfs_filer", "tcp", "2049"),
    ("pool_host", "nfs_filer", "tcp,udp", "2049"),
    ("pool_host", "nfs_filer", "tcp,udp", "111"),
    ("pool_host", "nfs_filer", "tcp,udp", "dynamic"),
    ("pool_host", "syslog_server", "udp", "514"),
    ("pool_host", "pool_host", "tcp", "8892,21064"),
    ("pool_host", "pool_host", "udp", "5404,5405"),
    ("xencenter", "pool_host", "tcp", "22"),
    ("xencenter", "pool_host", "tcp", "443"),
    ("xencenter", "linux_vm", "tcp", "5900"),
    ("xencenter", "windows_vm", "tcp", "3389"),
    ("api_client", "pool_host", "tcp", "80,443"),
]


def _row(source, destination, protocols, ports):
    return (source, destination, tuple(sorted(protocols.split(","))), ports)


def _flow_row(flow):
    ports = "dynamic" if not flow.ports else ",".join(str(p) for p in flow.ports)
    return (flow.source, flow.destination, tuple(sorted(flow.protocols)), ports)


def test_vendor_rows_match_exactly():
    expected = sorted(_row(*r) for r in VENDOR_ROWS)
    actual = sorted(_flow_row(f) for f in matrix.FLOWS if not f.optional)
    assert actual == expected


def test_every_vendor_row_cites_the_vendor_and_optional_ones_do_not():
    for flow in matrix.FLOWS:
        assert (flow.source_ref == matrix.VENDOR_SOURCE) is (not flow.optional), flow.id


def _seed_path():
    # The seed lives in ../shared beside the checkout; from the ansible_collections tree
    # that is further up, so also look relative to the working directory.
    here = os.path.abspath(os.path.dirname(__file__))
    for _level in range(10):
        candidate = os.path.join(here, "..", "shared", "seed", "xenserver-communication-ports.txt")
        if os.path.exists(candidate):
            return os.path.abspath(candidate)
        here = os.path.dirname(here)
    env = os.environ.get("PORTMATRIX_SEED")
    return env if env and os.path.exists(env) else None


def test_hand_table_agrees_with_the_seed_text():
    """Every (protocol list, port list) of the seed appears in the hand table, in order."""
    path = _seed_path()
    if path is None:
        pytest.skip("../shared/seed/xenserver-communication-ports.txt not found beside the checkout")
    with open(path) as handle:
        text = handle.read()
    seen = []
    for line in text.splitlines():
        match = re.search(r"\b(TCP(?:, UDP)?|UDP)\s+((?:\d+(?:, )?)+|Dynamic)\b", line)
        if match:
            protocols = match.group(1).lower().replace(" ", "")
            ports = match.group(2).replace(" ", "").lower()
            seen.append((protocols, ports))
    assert seen == [(r[2], r[3]) for r in VENDOR_ROWS]


def test_components_are_exactly_the_agreed_names():
    assert list(matrix.COMPONENTS) == [
        "pool_host", "license_server", "ntp_server", "dns_server", "domain_controller",
        "smb_filer", "iscsi_target", "nfs_filer", "syslog_server", "xencenter", "linux_vm",
        "windows_vm", "api_client", "monitoring_server", "sdn_controller"]
    for flow in matrix.FLOWS:
        assert flow.source in matrix.COMPONENTS and flow.destination in matrix.COMPONENTS


def test_ids_unique_and_stable_shape():
    ids = [f.id for f in matrix.FLOWS]
    assert len(ids) == len(set(ids))
    for fid in ids:
        assert re.match(r"^[a-z][a-z0-9_]*$", fid)


def test_flow_fields_are_valid():
    for flow in matrix.FLOWS:
        assert set(flow.protocols) <= set(matrix.PROTOCOLS)
        assert flow.scope in matrix.SCOPES
        assert set(flow.notes) <= set(matrix.NOTES)
        assert all(1 <= p <= 65535 for p in flow.ports)
        assert flow.port_option is None or flow.port_option in matrix.PORT_OPTIONS


def test_optional_flows_from_domain_notes():
    optional = {f.id: (f.protocols, f.ports) for f in matrix.FLOWS if f.optional}
    assert optional["ha_heartbeat"] == (("udp",), (694,))
    assert optional["nbd"] == (("tcp",), (10809,))
    assert optional["vxlan"] == (("udp",), (4789,))
    assert optional["workload_balancing"] == (("tcp",), (8012,))
    assert optional["license_admin_console"] == (("tcp",), (8082,))
    assert optional["license_web_services"] == (("tcp",), (8083,))


# The vendor's "Active Directory integration" table (XenServer 8 "Manage users"), typed
# here by hand: port, protocols, use.  Pool hosts -> domain controllers.
AD_TABLE = [
    (53, "tcp,udp", "DNS"),
    (88, "tcp,udp", "Kerberos 5"),
    (123, "udp", "NTP"),
    (137, "udp", "NetBIOS Name Service"),
    (139, "tcp", "NetBIOS Session"),
    (389, "tcp,udp", "LDAP"),
    (445, "tcp", "SMB over TCP"),
    (464, "tcp,udp", "machine password changes"),
    (3268, "tcp", "Global Catalog search"),
]


def test_ad_integration_flows_are_the_vendor_table():
    flows = matrix.select_flows(feature="ad_integration")
    assert sorted((f.ports, tuple(sorted(f.protocols))) for f in flows) == sorted(
        ((port,), tuple(sorted(protocols.split(",")))) for port, protocols, _use in AD_TABLE)
    for flow in flows:
        assert (flow.source, flow.destination, flow.optional) == ("pool_host", "domain_controller", True)
        use = [u for port, _p, u in AD_TABLE if (port,) == flow.ports][0]
        assert use in flow.purpose, flow.id
        assert "ad_integration_ports" in flow.notes


def test_ad_integration_is_off_unless_asked_for():
    ids = [f.id for f in matrix.select_flows(destination="domain_controller")]
    assert ids == ["ldap", "ldaps"]
    ids = [f.id for f in matrix.select_flows(destination="domain_controller", include_optional=True)]
    assert ids[:2] == ["ldap", "ldaps"] and len(ids) == 2 + len(AD_TABLE)


def test_monitoring_flows():
    by_id = matrix.FLOWS_BY_ID
    snmp, nrpe = by_id["monitoring_snmp"], by_id["monitoring_nrpe"]
    assert (snmp.source, snmp.destination, snmp.protocols, snmp.ports, snmp.feature) == (
        "monitoring_server", "pool_host", ("udp",), (161,), "snmp")
    assert (nrpe.source, nrpe.destination, nrpe.protocols, nrpe.ports, nrpe.feature) == (
        "monitoring_server", "pool_host", ("tcp",), (5666,), "nrpe")
    assert snmp.optional and nrpe.optional
    assert [f.id for f in matrix.select_flows(source="monitoring_server")] == []
    assert [f.id for f in matrix.select_flows(source="monitoring_server", include_optional=True)] == [
        "monitoring_snmp", "monitoring_nrpe"]


def test_new_optional_flows_cite_a_vendor_page_with_its_url():
    for flow in matrix.FLOWS:
        if flow.feature in ("ad_integration", "snmp", "nrpe"):
            assert re.match(r"^XenServer 8: .+, https://docs\.xenserver\.com/\S+$", flow.source_ref), flow.id


def test_outbound_by_name():
    rows = [(o.id, o.source, o.destinations, o.protocol, o.port, o.only) for o in matrix.OUTBOUND]
    assert rows == [
        ("xenserver_updates", "pool_host", ("repo.ops.xenserver.com",), "tcp", 443, "pool_coordinator"),
        ("xenserver_update_sources", "pool_host", ("repo-src.ops.xenserver.com",), "tcp", 443, "pool_coordinator"),
        ("xenserver_telemetry", "pool_host", ("telemetry.ops.xenserver.com",), "tcp", 443, "pool_coordinator"),
        ("xencenter_updates", "xencenter", ("updates.ops.xenserver.com",), "tcp", 443, None),
    ]
    for entry in matrix.OUTBOUND:
        assert entry.source in matrix.COMPONENTS
        assert set(entry.notes) <= set(matrix.NOTES) and "outbound_by_name" in entry.notes
        assert entry.source_ref == matrix.CONNECTIVITY_SOURCE
        assert ("pool_coordinator_only" in entry.notes) is (entry.only == "pool_coordinator")
    # outbound entries are never flows: nothing turns them into host rules
    assert not set(matrix.OUTBOUND_BY_ID) & set(matrix.FLOWS_BY_ID)


def test_select_outbound():
    assert [o.id for o in matrix.select_outbound(source="xencenter")] == ["xencenter_updates"]
    assert len(matrix.select_outbound()) == 4
    assert len(matrix.select_outbound(port=443, protocol="tcp")) == 4
    assert matrix.select_outbound(protocol="udp") == []
    assert [o.id for o in matrix.select_outbound(outbound_id=["xenserver_telemetry"])] == ["xenserver_telemetry"]
    with pytest.raises(matrix.MatrixError) as err:
        matrix.select_outbound(outbound_id="telemetry")
    assert "unknown outbound id 'telemetry'; valid outbound ids: xenserver_updates," in str(err.value)
    with pytest.raises(matrix.MatrixError):
        matrix.select_outbound(source="pool")
    as_dict = matrix.outbound_as_dict(matrix.OUTBOUND_BY_ID["xenserver_updates"])
    assert as_dict["destinations"] == ["repo.ops.xenserver.com"] and as_dict["direction"] == "outbound"
    assert as_dict["only"] == "pool_coordinator" and as_dict["note_keys"] == ["pool_coordinator_only", "outbound_by_name"]


def test_vendor_notes_are_attached():
    by_id = matrix.FLOWS_BY_ID
    assert "port_80_closable" in by_id["pool_management_api"].notes
    assert "port_80_closable" in by_id["api_client"].notes
    assert "nfsv3_dynamic" in by_id["nfsv3_ancillary"].notes
    assert by_id["pool_management_api"].scope == "same_pool"
    assert by_id["clustering_tcp"].scope == "clustered_pool"
    assert by_id["clustering_udp"].scope == "clustered_pool"


def test_select_filters():
    ids = [f.id for f in matrix.select_flows(destination="license_server")]
    assert ids == ["license_request", "license_checkout"]
    ids = [f.id for f in matrix.select_flows(destination="license_server", include_optional=True)]
    assert ids == ["license_request", "license_checkout", "license_admin_console", "license_web_services"]
    assert [f.id for f in matrix.select_flows(port=2049, protocol="udp")] == ["nfsv3"]
    assert [f.id for f in matrix.select_flows(feature="ha")] == ["ha_heartbeat"]
    assert [f.id for f in matrix.select_flows(flow_id=["nbd"])] == ["nbd"]
    assert matrix.select_flows(source="xencenter", destination="pool_host", protocol="udp") == []


@pytest.mark.parametrize("kwargs, message", [
    ({"source": "pool"}, "unknown component 'pool'; valid components: pool_host,"),
    ({"protocol": "sctp"}, "unknown protocol 'sctp'; valid protocols: tcp, udp"),
    ({"feature": "nfs"}, "unknown feature 'nfs'; valid features: active_directory,"),
    ({"flow_id": "nope"}, "unknown flow id 'nope'"),
    ({"port": 70000}, "bad port 70000"),
    ({"port": "http"}, "bad port 'http'"),
])
def test_select_rejects_unknown_names(kwargs, message):
    with pytest.raises(matrix.MatrixError) as err:
        matrix.select_flows(**kwargs)
    assert message in str(err.value)


def test_port_overrides():
    by_id = matrix.FLOWS_BY_ID
    assert matrix.flow_ports(by_id["clustering_tcp"]) == (8892, 21064)
    assert matrix.flow_ports(by_id["clustering_tcp"], {"cluster_daemon_port": 8896}) == (8896, 21064)
    assert matrix.flow_ports(by_id["license_checkout"], {"license_vendor_daemon_port": 7190}) == (7190,)
    assert matrix.flow_ports(by_id["nfsv3_ancillary"]) == ()
    assert matrix.flow_ports(by_id["nfsv3_ancillary"], nfsv3_ports=[892, 662, 892]) == (662, 892)
    with pytest.raises(matrix.MatrixError):
        matrix.flow_ports(by_id["clustering_tcp"], {"cluster_daemon_port": 0})


def test_every_source_is_a_public_document_with_its_url():
    """Sources [1] (the vendor page) had no URL and [2] was "DOMAIN notes", no public document (issue 18)."""
    for item in list(matrix.FLOWS) + list(matrix.OUTBOUND):
        assert re.match(r"^[^,]+.*, https://\S+$", item.source_ref), item.id
        assert "DOMAIN" not in item.source_ref, item.id


def test_platform_rows_carry_their_primary_source():
    """The rows beyond the vendor page: ports as the named sources give them, off unless asked for."""
    by_id = matrix.FLOWS_BY_ID
    expect = {
        "cross_pool_migration": ("pool_host", "pool_host", ("tcp",), (443,), "migrating_pools", "xapi_vm_migrate.ml"),
        "sdn_controller_passive": ("sdn_controller", "pool_host", ("tcp",), (6640,), "any", "openvswitch-config-update"),
        "sdn_controller_active": ("pool_host", "sdn_controller", ("tcp",), (6632,), "any", "xapi_sdn_controller.ml"),
        "xostor_linstor": ("pool_host", "pool_host", ("tcp",), (3366, 3370, 3376, 3377, 8076, 8077), "same_pool",
                           "xcp-ng/sm drivers/linstor-manager"),
        "xostor_drbd": ("pool_host", "pool_host", ("tcp",), tuple(range(7000, 8001)), "same_pool",
                        "xcp-ng/sm drivers/linstor-manager"),
        "snmp_traps": ("pool_host", "monitoring_server", ("udp",), (162,), "any", "monitor-snmp"),
        "ha_heartbeat": ("pool_host", "pool_host", ("udp",), (694,), "same_pool", "xapi_globs.ml"),
    }
    for fid, (source, destination, protocols, ports, scope, ref) in expect.items():
        flow = by_id[fid]
        assert (flow.source, flow.destination, flow.protocols, flow.ports, flow.scope) == (
            source, destination, protocols, ports, scope), fid
        assert flow.optional and ref in flow.source_ref, fid
    assert matrix.select_flows(feature="xostor") == [by_id["xostor_linstor"], by_id["xostor_drbd"]]
    assert [f.id for f in matrix.select_flows(destination="sdn_controller")] == []
    assert matrix.port_text(by_id["xostor_linstor"].ports + by_id["xostor_drbd"].ports) == (
        "3366, 3370, 3376, 3377, 7000-8000, 8076, 8077")


def test_every_served_component_has_exactly_one_role():
    """The component-to-role mapping is in one place (matrix.ROLES): each component a host can
    serve belongs to one role, and only components of the matrix are named."""
    owners = {}
    for role, components in matrix.ROLES:
        for component in components:
            assert component in matrix.COMPONENTS, (role, component)
            owners.setdefault(component, []).append(role)
    assert all(len(roles) == 1 for roles in owners.values()), owners
    destinations = set(f.destination for f in matrix.FLOWS)
    assert destinations <= set(owners), destinations - set(owners)
