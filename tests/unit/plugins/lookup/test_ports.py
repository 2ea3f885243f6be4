# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ports lookup through Ansible's plugin loader."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleError
from ansible.plugins.loader import lookup_loader


@pytest.fixture
def lookup():
    plugin = lookup_loader.get("portmatrix.xenserver.ports")
    assert plugin is not None, "lookup portmatrix.xenserver.ports not found on the collection path"
    return plugin


def test_license_server_flows(lookup):
    flows = lookup.run([], destination="license_server")
    assert [(f["id"], f["protocols"], f["ports"]) for f in flows] == [
        ("license_request", ["tcp"], [27000]),
        ("license_checkout", ["tcp"], [7279]),
    ]


def test_terms_are_flow_ids(lookup):
    flows = lookup.run(["ha_heartbeat"], include_optional=True)
    assert [f["id"] for f in flows] == ["ha_heartbeat"]
    assert flows[0]["optional"] is True


def test_optional_flows_need_asking(lookup):
    ids = [f["id"] for f in lookup.run([], destination="pool_host")]
    assert "ha_heartbeat" not in ids and "pool_management_api" in ids
    ids = [f["id"] for f in lookup.run([], destination="pool_host", include_optional=True)]
    assert "ha_heartbeat" in ids and "nbd" in ids


def test_query_jmespath(lookup):
    ports = lookup.run([], source="pool_host", destination="nfs_filer", protocol="udp",
                       query="[].ports[]")
    assert sorted(ports) == [111, 2049]
    one = lookup.run([], id=["iscsi"], query="[0].ports[0]")
    assert one == [3260]


def test_unknown_names_list_valid_ones(lookup):
    with pytest.raises(AnsibleError) as err:
        lookup.run([], destination="licence_server")
    assert "valid components: pool_host" in str(err.value)
    with pytest.raises(AnsibleError) as err:
        lookup.run([], feature="nfs")
    assert "valid features:" in str(err.value)


def test_bad_query(lookup):
    with pytest.raises(AnsibleError) as err:
        lookup.run([], query="[?")
    assert "bad JMESPath query" in str(err.value)


def test_new_optional_flows(lookup):
    ids = [f["id"] for f in lookup.run([], feature="ad_integration")]
    assert ids == ["ad_dns", "ad_kerberos", "ad_ntp", "ad_netbios_name", "ad_netbios_session",
                   "ad_ldap", "ad_smb", "ad_kpasswd", "ad_global_catalog"]
    flows = lookup.run([], source="monitoring_server", include_optional=True)
    assert [(f["id"], f["protocols"], f["ports"]) for f in flows] == [
        ("monitoring_snmp", ["udp"], [161]), ("monitoring_nrpe", ["tcp"], [5666])]
    assert flows[0]["source_ref"].endswith("https://docs.xenserver.com/en-us/xenserver/8/monitor-performance/monitor-snmp")


def test_platform_rows(lookup):
    flows = lookup.run([], destination="sdn_controller", include_optional=True)
    assert [(f["id"], f["source"], f["ports"]) for f in flows] == [("sdn_controller_active", "pool_host", [6632])]
    migration = lookup.run([], feature="cross_pool_migration")
    assert [(f["id"], f["scope"], f["ports"]) for f in migration] == [("cross_pool_migration", "migrating_pools", [443])]
    assert "xapi_vm_migrate.ml" in migration[0]["source_ref"]
    assert [f["id"] for f in lookup.run([], feature="xostor")] == ["xostor_linstor", "xostor_drbd"]
    assert lookup.run([], destination="monitoring_server", include_optional=True)[0]["ports"] == [162]


def test_outbound(lookup):
    entries = lookup.run([], outbound=True, source="pool_host")
    assert [(e["id"], e["destinations"], e["protocol"], e["port"], e["only"]) for e in entries] == [
        ("xenserver_updates", ["repo.ops.xenserver.com"], "tcp", 443, "pool_coordinator"),
        ("xenserver_update_sources", ["repo-src.ops.xenserver.com"], "tcp", 443, "pool_coordinator"),
        ("xenserver_telemetry", ["telemetry.ops.xenserver.com"], "tcp", 443, "pool_coordinator"),
    ]
    names = lookup.run(["xencenter_updates"], outbound=True, query="[].destinations[]")
    assert names == ["updates.ops.xenserver.com"]


def test_outbound_rejects_flow_filters(lookup):
    with pytest.raises(AnsibleError) as err:
        lookup.run([], outbound=True, destination="pool_host")
    assert "destination do(es) not apply with outbound=true" in str(err.value)
    with pytest.raises(AnsibleError) as err:
        lookup.run(["ldap"], outbound=True)
    assert "unknown outbound id 'ldap'" in str(err.value)
