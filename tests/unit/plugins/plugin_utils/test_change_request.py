# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The change request a network team reads (issue 18, item 7): one address family per row,
labelled with the groups that produce it, the matrix's purpose text, sorted, dated, named;
NFS appliances' side ports stated, profiled or warned about; CSV, JSON and Markdown agree."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io
import json

import pytest

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import engine, flows_output, settings

GROUPS = {
    "all": ["a1", "a2", "b1", "b2", "nas", "netapp", "xc"],
    "xen_a": ["a1", "a2"],
    "xen_b": ["b1", "b2"],
    "linux_nfs": ["nas"],
    "appliances": ["netapp"],
    "xencenters": ["xc"],
}
HOSTS = {
    "a1": {"portmatrix_addresses": ["198.18.1.11", "fd00::11"], "portmatrix_pool": "pool_a"},
    "a2": {"portmatrix_addresses": ["198.18.1.12", "fd00::12"], "portmatrix_pool": "pool_a"},
    "b1": {"portmatrix_addresses": ["198.18.2.21"], "portmatrix_pool": "pool_b"},
    "b2": {"portmatrix_addresses": ["198.18.2.22"], "portmatrix_pool": "pool_b"},
    "nas": {"portmatrix_addresses": ["198.18.3.40", "fd00::40"]},
    "netapp": {"portmatrix_addresses": ["198.18.3.41", "fd00::41"], "portmatrix_manage_firewall": False},
    "xc": {"portmatrix_addresses": ["198.18.4.50", "fd00::50"]},
}
EXTRA = {"portmatrix_groups": {"pool_host": ["xen_a", "xen_b"], "nfs_filer": ["linux_nfs", "appliances"]}}


def build(netapp_vars=None):
    estate = engine.build_estate(GROUPS, HOSTS, EXTRA, lambda name: [])
    host_vars = dict((h, dict(v)) for h, v in HOSTS.items())
    host_vars["netapp"].update(netapp_vars or {})
    calls = engine.plan_hosts(estate, host_vars)
    return estate, calls, engine.merged_flows(estate, calls, inventory_groups=GROUPS)


def family_of(address):
    return "IPv6" if ":" in address else "IPv4"


def test_no_row_mixes_address_families_and_both_families_have_rows():
    _estate, _calls, rows = build()
    for row in rows:
        assert set(family_of(a) for a in row["sources"] + row["destinations"]) == {row["family"]}, row
    api = [r for r in rows if r["source_group"] == "xencenters" and "a1" in r["destination_hosts"]
           and r["protocol"] == "tcp" and 443 in r["ports"]]
    assert sorted((r["family"], r["destination_group"]) for r in api) == [("IPv4", "xen_a/xen_b"), ("IPv6", "xen_a")]
    # pool b has no IPv6: its rows are IPv4 only, and no IPv6 row names its hosts
    assert all(r["family"] == "IPv4" for r in rows if set(r["destination_hosts"]) & {"b1", "b2"})


def test_rows_are_labelled_with_the_groups_that_produce_them():
    _estate, _calls, rows = build({"portmatrix_nfs_appliance": "netapp_ontap"})  # other ports: rows of its own
    pool_a = [r for r in rows if r["pool"] == "pool_a"]
    assert pool_a and all(r["source_group"] == r["destination_group"] == "xen_a" for r in pool_a)
    pool_b = [r for r in rows if r["pool"] == "pool_b"]
    assert pool_b and all(r["source_group"] == r["destination_group"] == "xen_b" for r in pool_b)
    to_nas4 = [r for r in rows if r["destination_hosts"] == ["nas"] and r["family"] == "IPv4"]
    assert to_nas4 and all(r["source_group"] == "xen_a/xen_b" and r["destination_group"] == "linux_nfs"
                           for r in to_nas4)
    to_nas6 = [r for r in rows if r["destination_hosts"] == ["nas"] and r["family"] == "IPv6"]
    assert to_nas6 and all(r["source_group"] == "xen_a" and r["source_hosts"] == ["a1", "a2"] for r in to_nas6)
    _estate, _calls, rows = build()  # the same ports on both filers: one row, both groups
    assert set(r["destination_group"] for r in rows if "nas" in r["destination_hosts"]) == {"linux_nfs/appliances"}


def test_rows_carry_the_matrix_purpose_and_are_sorted_by_destination_port_source():
    _estate, _calls, rows = build()
    nfs = [r for r in rows if "nfsv4" in r["flows"]]
    assert nfs and all("NFSv4 storage" in r["purpose"] for r in nfs)
    api = [r for r in rows if r["flows"] == ["pool_management_api"]]
    assert api and "management API" in api[0]["purpose"]
    keys = [(r["destination_group"], r["ports"][:1], r["ports"], r["protocol"], r["source_group"]) for r in rows]
    assert keys == sorted(keys)


def test_an_unmanaged_filer_without_stated_ports_is_warned_about_on_its_rows():
    _estate, calls, rows = build()
    assert calls["netapp"]["settings"]["nfsv3_origin"] == "assumed"
    assert calls["nas"]["settings"]["nfsv3_origin"] == "pinned"   # the storage_filer role pins them
    side = [r for r in rows if "nfsv3_ancillary" in r["flows"]]
    assert side and all("ASSUMED" in r["note"] and "netapp" in r["note"] and "nas," not in r["note"]
                        for r in side if "netapp" in r["destination_hosts"])
    assert all(r["note"] == "" for r in rows if "netapp" not in r["destination_hosts"])
    warnings = flows_output.nfsv3_warnings(calls)
    assert len(warnings) == 1 and warnings[0].startswith("netapp: NFSv3 side ports assumed")


def test_netapp_profile_gives_the_ontap_ports_and_no_warning():
    _estate, calls, rows = build({"portmatrix_nfs_appliance": "netapp_ontap"})
    assert calls["netapp"]["args"]["nfsv3_ports"] == ["635/tcp", "4045/tcp", "4046/tcp", "635/udp", "4045/udp",
                                                      "4046/udp"]
    to_netapp = [r for r in rows if r["destination_hosts"] == ["netapp"] and r["protocol"] == "tcp"]
    assert [635, 4045, 4046] == [p for p in to_netapp[0]["ports"] if p in (635, 4045, 4046)]
    assert not [p for r in to_netapp for p in r["ports"] if p in (662, 892, 32803)]
    assert flows_output.nfsv3_warnings(calls) == [] and all(r["note"] == "" for r in rows)


def test_stated_ports_win_and_a_managed_filer_cannot_take_an_appliance_profile():
    _estate, calls, _rows = build({"portmatrix_nfsv3_ports": {"mountd": 300, "statd": 302, "lockd_tcp": 304,
                                                              "lockd_udp": 304},
                                   "portmatrix_nfs_appliance": "netapp_ontap"})
    assert calls["netapp"]["settings"]["nfsv3_origin"] == "stated"
    assert calls["netapp"]["args"]["nfsv3_ports"] == ["300/tcp", "302/tcp", "304/tcp", "300/udp", "302/udp", "304/udp"]
    estate = engine.build_estate(GROUPS, HOSTS, EXTRA, lambda name: [])
    with pytest.raises(engine.EngineError) as err:
        engine.plan_hosts(estate, {"nas": {"portmatrix_nfs_appliance": "netapp_ontap"}})
    assert "nas: portmatrix_nfs_appliance netapp_ontap is for filers the collection does not manage" in str(err.value)
    with pytest.raises(settings.SettingsError) as err:
        settings.read("netapp", {"portmatrix_nfs_appliance": "isilon"})
    assert "netapp: portmatrix_nfs_appliance must be one of netapp_ontap, linux, got 'isilon'" in str(err.value)


def test_csv_json_and_markdown_say_the_same():
    estate, calls, rows = build()
    outbound = engine.outbound_flows(estate)
    header = {"inventory": "lab-east", "generated": "2026-12-05", "warnings": flows_output.nfsv3_warnings(calls)}
    table = list(csv.DictReader(io.StringIO(flows_output.merged_csv(rows, outbound, **header))))
    data = json.loads(flows_output.merged_json(rows, outbound, **header))
    text = flows_output.merged_markdown(rows, outbound, **header)
    assert data["inventory"] == "lab-east" and data["generated"] == "2026-12-05" and data["warnings"]
    assert set((r["inventory"], r["generated"]) for r in table) == {("lab-east", "2026-12-05")}
    from_csv = [(r["source_group"], r["destination_group"], r["family"], r["protocol"], r["ports"], r["purpose"],
                 r["sources"], r["note"]) for r in table if r["destination_group"] != "(internet, by name)"]
    from_json = [(r["source_group"], r["destination_group"], r["family"], r["protocol"],
                  " ".join(str(p) for p in r["ports"]), r["purpose"], " ".join(r["sources"]), r["note"])
                 for r in data["flows"]]
    assert from_csv == from_json and len(from_json) == len(rows)
    md_rows = [line for line in text.splitlines() if line.startswith("| ") and " | IPv" in line]
    assert len(md_rows) == len(rows) + len(data["outbound"])
    assert "Inventory **lab-east**, generated 2026-12-05" in text and "## Warnings" in text
    assert len([r for r in table if r["destination_group"] == "(internet, by name)"]) == len(data["outbound"])
    for o in data["outbound"]:
        assert set(family_of(a) for a in o["sources"]) == {o["family"]}


@pytest.mark.parametrize("sources, name", [
    (["/srv/inventories/lab-east/hosts.yml"], "lab-east"),
    (["/srv/inventories/prod.ini"], "prod"),
    (["/srv/inventories/lab-west/inventory"], "lab-west"),
    ([], ""),
])
def test_inventory_name_from_the_inventory_source(sources, name):
    assert flows_output.inventory_name(sources) == name


def test_a_change_request_that_differs_only_in_its_date_is_the_same(tmp_path):
    old, new, other = tmp_path / "old", tmp_path / "new", tmp_path / "other"
    old.write_text('"lab","2026-12-01","xen_a"\n')
    new.write_text('"lab","2026-12-05","xen_a"\n')
    other.write_text('"lab","2026-12-05","xen_b"\n')
    assert flows_output.same_content(str(new), str(old), dated=True)
    assert not flows_output.same_content(str(other), str(old), dated=True)
    assert not flows_output.same_content(str(new), str(old))
    assert not flows_output.same_content(str(new), str(tmp_path / "missing"), dated=True)
