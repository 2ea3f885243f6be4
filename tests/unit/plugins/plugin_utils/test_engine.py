# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller engine, on plain data: no Ansible, no network (names go through a fake resolver)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io
import json

import pytest

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import engine, flows_output, settings

NAMES = {"dc.example.test": ["192.0.2.53", "2001:db8::53"], "nas.example.test": ["192.0.2.40"]}


def resolver(name):
    return NAMES.get(name, [])


def estate(groups, hosts, extra=None):
    return engine.build_estate(groups, hosts, extra, resolver)


GROUPS = {
    "all": ["a1", "a2", "a3", "b1", "nas", "xc", "lic", "win", "dc"],
    "pool_hosts": ["a1", "a2", "a3", "b1"],
    "nfs_filers": ["nas"],
    "xencenters": ["xc", "win"],
    "license_servers": ["lic"],
    "domain_controllers": ["dc"],
}
HOSTS = {
    "a1": {"ansible_host": "192.0.2.11", "portmatrix_pool": "pool_a"},
    "a2": {"ansible_host": "192.0.2.12", "portmatrix_pool": "pool_a", "portmatrix_addresses": ["192.0.2.112", "2001:db8::12"]},
    "a3": {"ansible_host": "192.0.2.13", "portmatrix_pool": "pool_a"},
    "b1": {"ansible_host": "192.0.2.21", "portmatrix_pool": "pool_b"},
    "nas": {"portmatrix_addresses": "nas.example.test", "portmatrix_manage_firewall": False},
    "xc": {"ansible_host": "192.0.2.50"},
    "win": {"ansible_host": "192.0.2.51", "ansible_connection": "winrm"},
    "lic": {"ansible_host": "192.0.2.34"},
    "dc": {},  # the inventory name, resolved
}
NAMES["dc"] = ["192.0.2.53"]


def call(the_estate, host, **variables):
    return engine.host_call(the_estate, host, settings.read(host, variables))


def test_components_addresses_and_precedence():
    e = estate(GROUPS, HOSTS, {"portmatrix_clustered_pools": ["pool_a"]})
    assert e.hosts["a1"].addresses == ("192.0.2.11",)                        # ansible_host
    assert e.hosts["a2"].addresses == ("192.0.2.112", "2001:db8::12")        # portmatrix_addresses first
    assert e.hosts["nas"].addresses == ("192.0.2.40",)                       # a name, resolved
    assert e.hosts["dc"].addresses == ("192.0.2.53",)                        # the inventory name, resolved
    assert e.hosts["nas"].managed is False and e.hosts["win"].managed is False and e.hosts["win"].windows
    assert e.pool_members == {"pool_a": ["a1", "a2", "a3"], "pool_b": ["b1"]}
    assert e.by_component["xencenter"] == ["192.0.2.51", "192.0.2.50"]   # host-name order (win, xc)


def test_pool_host_call_pool_peers_clustered_and_families():
    e = estate(GROUPS, HOSTS, {"portmatrix_clustered_pools": ["pool_a"]})
    c = call(e, "a1")
    assert c["manage"] and c["served"] == ["pool_host"]
    assert c["args"]["pool_peers"] == ["192.0.2.112", "2001:db8::12", "192.0.2.13"]
    assert c["args"]["clustered"] is True
    assert c["args"]["peers"] == {"xencenter": ["192.0.2.51", "192.0.2.50"], "api_client": []}
    assert "public_ports" not in c["args"]
    only4 = call(e, "a1", portmatrix_address_families=[4])
    assert only4["args"]["pool_peers"] == ["192.0.2.112", "192.0.2.13"]
    b1 = call(e, "b1")
    assert b1["args"]["pool_peers"] == [] and b1["args"]["clustered"] is False


def test_strict_https_only_admin_and_extra_rules():
    e = estate(GROUPS, HOSTS)
    c = call(e, "a1", portmatrix_strict=True, portmatrix_https_only="yes", portmatrix_admin_sources="198.51.100.7",
             portmatrix_extra_rules=[{"name": "backup", "sources": ["198.51.100.0/24"], "ports": [10809]}])
    assert c["args"]["public_ports"] == [] and c["args"]["https_only"] is True
    assert c["args"]["extra_rules"] == [
        {"name": "admin", "sources": ["198.51.100.7"], "protocol": "tcp", "ports": [22, 443]},
        {"name": "backup", "sources": ["198.51.100.0/24"], "protocol": "tcp", "ports": [10809]}]
    assert engine.check_call(c) is None
    clash = call(e, "a1", portmatrix_strict=True, portmatrix_admin_sources=["198.51.100.7"],
                 portmatrix_extra_rules=[{"name": "admin", "sources": ["198.51.100.8"], "ports": [22]}])
    assert "used twice" in engine.check_call(clash)


def test_filer_license_unmanaged_and_source_only_hosts():
    e = estate(GROUPS, HOSTS)
    nas = call(e, "nas")
    assert nas["manage"] is False and nas["served"] == ["nfs_filer"]
    assert nas["args"]["nfsv3_ports"] == ["662/tcp", "892/tcp", "32803/tcp", "662/udp", "892/udp", "32769/udp"]
    assert call(e, "nas", portmatrix_skip_features=["nfsv3"])["args"]["nfsv3_ports"] == []
    assert call(e, "nas", portmatrix_nfsv3_ports={})["args"]["nfsv3_ports"] == []
    assert call(e, "xc")["manage"] is False and call(e, "xc")["served"] == []
    lic = call(e, "lic", portmatrix_features=["license_admin"], portmatrix_license_admin_sources=["198.51.100.9"],
               portmatrix_license_vendor_daemon_port=7190)
    assert lic["manage"] and lic["args"]["license_vendor_daemon_port"] == 7190
    assert lic["args"]["extra_rules"][0]["ports"] == [8082, 8083]
    assert sorted(lic["args"]["peers"]) == ["pool_host", "xencenter"]


def test_group_mapping_lists_and_typos():
    groups = dict(GROUPS, netapp=["nas"], linux_nfs=["lic"])
    e = estate(groups, HOSTS, {"portmatrix_groups": {"nfs_filer": ["netapp", "linux_nfs"]}})
    assert e.hosts["lic"].components == ("license_server", "nfs_filer")
    assert "nfs_filer" in e.hosts["nas"].components
    with pytest.raises(engine.EngineError) as err:
        estate(groups, HOSTS, {"portmatrix_groups": {"nfs_filer": "netap"}})
    assert "portmatrix_groups: nfs_filer -> 'netap': no such inventory group (did you mean netapp?)" in str(err.value)
    with pytest.raises(engine.EngineError) as err:
        estate(groups, HOSTS, {"portmatrix_groups": {"nfs_filers": "netapp"}})
    assert "unknown component 'nfs_filers'" in str(err.value)


def test_every_problem_named_by_host_and_variable_at_once():
    hosts = dict(HOSTS)
    hosts["a3"] = {"portmatrix_addresses": "ghost.invalid", "portmatrix_pool": "pool_a"}
    hosts["b1"] = {"ansible_host": "192.0.2.21", "portmatrix_clustered_pools": "pool_b, pool_c"}
    with pytest.raises(engine.EngineError) as err:
        estate(GROUPS, hosts)
    text = str(err.value)
    assert "a3: 'ghost.invalid' (from portmatrix_addresses) is neither" in text
    assert ("b1: portmatrix_clustered_pools is one string with commas ('pool_b, pool_c'): write a YAML list, "
            "for example [pool_b, pool_c]") in text


def test_estate_settings_must_agree():
    hosts = dict(HOSTS)
    hosts["a1"] = dict(HOSTS["a1"], portmatrix_clustered_pools=["pool_a"])
    hosts["b1"] = dict(HOSTS["b1"], portmatrix_clustered_pools=["pool_b"])
    with pytest.raises(engine.EngineError) as err:
        estate(GROUPS, hosts)
    assert "portmatrix_clustered_pools differs between a1 and b1" in str(err.value)


@pytest.mark.parametrize("name, value, message", [
    ("portmatrix_address_families", "4,6", "is one string with commas ('4,6'): write a YAML list, for example [4, 6]"),
    ("portmatrix_admin_sources", {"a": 1}, "must be a list, for example"),
    ("portmatrix_strict", "maybe", "must be true or false, got the string 'maybe'"),
    ("portmatrix_features", ["hа"], "unknown feature"),
    ("portmatrix_nfsv3_ports", {"mountd": 70000}, "mountd: bad port 70000"),
    ("portmatrix_nfsv3_ports", {"mountd": 0}, "mountd: bad port 0"),
    ("portmatrix_nfsv3_ports", {"mount": 892}, "unknown key 'mount'"),
    ("portmatrix_firewall_backend", "ufw", "must be one of auto, iptables, firewalld, nftables"),
    ("portmatrix_cluster_daemon_port", True, "bad port True"),
    ("portmatrix_extra_rules", [{"name": "x", "ports": [1], "source": []}], "unknown key(s) source"),
    ("pool_host_strict", True, "pool_host_strict is no longer read; use portmatrix_strict"),
])
def test_bad_settings_name_the_host_and_the_variable(name, value, message):
    with pytest.raises(settings.SettingsError) as err:
        settings.read("a1", {name: value})
    assert str(err.value).startswith("a1: ")
    assert message in str(err.value)


def test_unpooled_hosts_and_unknown_clustered_pools_stop_the_run():
    """Both slips once only warned: b1 went into pool 'default' (losing 80/443 to its real pool), and
    a misspelt clustered pool rejected the cluster ports on every member of the real one."""
    hosts = dict(HOSTS, b1={"ansible_host": "192.0.2.21"})
    with pytest.raises(engine.EngineError) as err:
        estate(GROUPS, hosts, {"portmatrix_clustered_pools": ["pool-a"]})
    assert err.value.messages == [
        "b1: a pool host (group pool_hosts) without portmatrix_pool: set the pool it is in (known pools: pool_a)",
        "portmatrix_clustered_pools names 'pool-a', which no pool host is in; did you mean 'pool_a'? "
        "(known pools: pool_a)",
    ]


def test_a_lonely_clustered_pool_warns():
    e = estate(GROUPS, HOSTS, {"portmatrix_clustered_pools": ["pool_b"]})
    assert any("clustered pool 'pool_b' has one member (b1)" in w for w in e.warnings)


def pair_files(the_estate, calls):
    """engine.pairs() written as the flows playbook writes them; flows.json read back as rows."""
    csv_file, json_file, md_file = io.StringIO(), io.StringIO(), io.StringIO()
    managed = dict((h, c["manage"]) for h, c in calls.items())
    count = flows_output.write_pairs(engine.pair_groups(the_estate, calls), the_estate.hosts, managed,
                                     csv_file, json_file, md_file)
    data = json.loads(json_file.getvalue())
    hosts = data["hosts"]
    rows = [{"src": src, "dst": dst, "proto": proto, "ports": ports, "flows": flows,
             "src_addresses": hosts[src]["addresses"] if src else data["extra_rule_sources"][flows[0]],
             "dst_addresses": hosts[dst]["addresses"], "dst_managed": hosts[dst]["managed"]}
            for src, dst, proto, ports, flows in data["pairs"]]
    assert count == len(rows) == len(csv_file.getvalue().splitlines()) - 1  # the CSV: a header, a line a pair
    assert md_file.getvalue().count("\n| ") >= count
    return rows


def test_flows_and_merged_view():
    e = estate(GROUPS, HOSTS, {"portmatrix_clustered_pools": ["pool_a"]})
    calls = engine.plan_hosts(e, dict((h, {}) for h in ["a1", "a2", "a3", "b1", "nas", "lic", "xc", "dc"]))
    rows = pair_files(e, calls)
    keys = set((r["src"], r["dst"], r["proto"], p) for r in rows for p in r["ports"])
    assert ("a2", "a1", "tcp", 21064) in keys                 # clustered pool
    assert ("b1", "a1", "tcp", 443) not in keys               # other pool
    assert ("a1", "b1", "tcp", 443) not in keys
    assert ("a1", "a1", "tcp", 443) not in keys               # never a host to itself
    assert ("a1", "nas", "udp", 32769) in keys and ("a1", "nas", "tcp", 32769) not in keys
    assert ("xc", "a1", "tcp", 22) in keys and ("win", "b1", "tcp", 443) in keys
    nas = [r for r in rows if r["src"] == "a1" and r["dst"] == "nas" and r["proto"] == "tcp"]
    assert len(nas) == 1 and nas[0]["ports"] == [111, 662, 892, 2049, 32803]     # one row per pair and protocol
    assert nas[0]["flows"] == ["nfsv4", "nfsv3", "nfsv3_rpcbind", "nfsv3_ancillary"]
    assert all(r["dst_managed"] is False for r in rows if r["dst"] == "nas")
    merged = engine.merged_flows(e, calls)
    nfs = [m for m in merged if m["destination_group"] == "nfs_filers" and m["protocol"] == "tcp"]
    assert len(nfs) == 1 and nfs[0]["source_group"] == "pool_hosts" and nfs[0]["family"] == "IPv4"
    # the filer has no IPv6 address: a2's IPv6 address has nothing to reach there
    assert nfs[0]["sources"] == ["192.0.2.11", "192.0.2.13", "192.0.2.21", "192.0.2.112"]
    pool = [m for m in merged if m["source_group"] == "pool_hosts" and m["destination_group"] == "pool_hosts"]
    assert sorted(set(m["pool"] for m in pool)) == ["pool_a"]   # pool_b has one member: no flow
    assert all(set(m["source_hosts"]) <= {"a1", "a2", "a3"} for m in pool)
    # the merged view says the same as the pairs: every (source address, destination, port) of one is in the other
    by_pair = set((a, d, r["proto"], p) for r in rows if r["src"] for a in r["src_addresses"]
                  for d in r["dst_addresses"] for p in r["ports"] if (":" in a) == (":" in d))
    by_group = set((a, d, m["protocol"], p) for m in merged for a in m["sources"] for d in m["destinations"]
                   for p in m["ports"])
    assert by_pair <= by_group


def test_extra_rule_flows_carry_their_addresses():
    e = estate(GROUPS, HOSTS)
    calls = engine.plan_hosts(e, {"lic": {"portmatrix_extra_rules": [
        {"name": "backup", "sources": ["198.51.100.0/24"], "ports": [10809, 10808]}]}})
    extra = [r for r in pair_files(e, calls) if r["flows"] == ["extra:backup"]]
    assert extra == [dict(extra[0], src="", src_addresses=["198.51.100.0/24"], ports=[10808, 10809])]
    merged = [m for m in engine.merged_flows(e, calls) if m["flows"] == ["extra:backup"]]
    assert merged[0]["source_group"] == "(extra rule backup)" and merged[0]["sources"] == ["198.51.100.0/24"]


def per_pair_files(the_estate, calls):
    """The per-pair files rendered the plain way, one engine.pairs() entry at a time (what
    write_pairs() renders group by group)."""
    csv_file, json_rows, md_rows = io.StringIO(), [], []
    writer = csv.writer(csv_file, lineterminator="\n")
    writer.writerow(flows_output.PAIR_COLUMNS)
    current = None
    for p in engine.pairs(the_estate, calls):
        spaced = dict((h, " ".join(the_estate.hosts[h].addresses)) for h in (p.src, p.dst) if h)
        if p.dst != current:
            current = p.dst
            md_rows.append("\n## To %s%s\n\n| source | protocol | ports | flows |\n|---|---|---|---|\n" % (
                p.dst, "" if calls[p.dst]["manage"] else " (not managed by the collection)"))
        src_text = spaced[p.src] if p.src else " ".join(p.addresses)
        ports, flows = " ".join(str(n) for n in p.ports), " ".join(p.flows)
        writer.writerow((p.src, p.src_component, src_text, p.dst, p.dst_component, spaced[p.dst], p.proto, ports, flows))
        row = [json.dumps(p.src), json.dumps(p.dst), p.proto, json.dumps(list(p.ports)), json.dumps(list(p.flows))]
        json_rows.append('\n[%s, %s, "%s", %s, %s]' % tuple(row))
        md_rows.append("| %s | %s | %s | %s |\n" % (p.src or src_text, p.proto, ports, flows))
    return csv_file.getvalue(), ",".join(json_rows), "".join(md_rows)


def test_pair_files_say_row_for_row_what_the_pairs_say():
    # a pool's flows list the destination among their sources, an extra rule has addresses for a source,
    # and a name with a comma and a quote needs CSV quoting: write_pairs renders each group's share once
    groups = dict(GROUPS, all=GROUPS["all"] + ['x,"c'], xencenters=["xc", "win", 'x,"c'])
    hosts = dict(HOSTS, **{'x,"c': {"ansible_host": "192.0.2.52"}})
    e = estate(groups, hosts, {"portmatrix_clustered_pools": ["pool_a"]})
    calls = engine.plan_hosts(e, dict((h, {}) for h in ["a1", "a2", "a3", "b1", "nas", "xc", "dc"]))
    calls.update(engine.plan_hosts(e, {"lic": {"portmatrix_extra_rules": [
        {"name": "backup", "sources": ["198.51.100.0/24", "2001:db8:5::/64"], "ports": [10809]}]}}))
    csv_file, json_file, md_file = io.StringIO(), io.StringIO(), io.StringIO()
    managed = dict((h, c["manage"]) for h, c in calls.items())
    count = flows_output.write_pairs(engine.pair_groups(e, calls), e.hosts, managed, csv_file, json_file, md_file)
    want_csv, want_json, want_md = per_pair_files(e, calls)
    assert count == len(list(engine.pairs(e, calls))) > 20
    assert '"x,""c"' in csv_file.getvalue() and csv_file.getvalue() == want_csv
    assert json_file.getvalue().startswith('{"pairs": [' + want_json + "\n]")
    assert md_file.getvalue().split("extra rule.\n", 1)[1].split("\n## Hosts")[0] == want_md


def test_linear_in_hosts():
    # 50 pools of 16: the engine indexes peers once; the work per host does not grow with the estate.
    groups = {"pool_hosts": ["p%03d" % i for i in range(800)], "xencenters": ["xc"]}
    hosts = dict(("p%03d" % i, {"ansible_host": "198.18.%d.%d" % (i // 200, i % 200 + 1),
                                "portmatrix_pool": "pool%d" % (i // 16)}) for i in range(800))
    hosts["xc"] = {"ansible_host": "198.19.0.1"}
    e = estate(groups, hosts)
    calls = engine.plan_hosts(e, dict((h, {}) for h in hosts))
    assert len(calls["p000"]["args"]["pool_peers"]) == 15
    assert calls["p799"]["args"]["peers"]["xencenter"] == ["198.19.0.1"]


def test_rollout_canary_then_one_host_per_pool_per_wave():
    e = estate(GROUPS, HOSTS, {"portmatrix_clustered_pools": ["pool_a"]})
    hosts = ["a1", "a2", "a3", "b1", "nas", "lic", "xc", "dc"]
    calls = engine.plan_hosts(e, dict((h, {}) for h in hosts))
    plan = engine.rollout(calls, hosts)
    assert plan["waves"][0] == ["a1"]                                    # the canary, alone
    for wave in plan["waves"][:-1]:
        pools = [calls[h]["pool"] for h in wave if "pool_host" in calls[h]["served"]]
        assert len(pools) == len(set(pools)), wave                       # never two members of a pool
    assert plan["waves"][-1] == ["nas", "xc"]                            # unmanaged: nothing to change, last
    assert sorted(plan["order"]) == sorted(hosts)
    assert plan["batches"] == [len(w) for w in plan["waves"]]
    assert plan["order"][:plan["batches"][0]] == ["a1"]
    assert engine.rollout(calls, hosts, canary=0)["waves"][0] == ["a1", "b1", "lic", "dc"]


def test_outbound_by_name_for_change_requests():
    e = estate(GROUPS, HOSTS)
    rows = engine.outbound_flows(e)
    repo = [r for r in rows if r["destination"] == "repo.ops.xenserver.com"]
    assert len(repo) == 1 and repo[0]["source_group"] == "pool_hosts" and repo[0]["port"] == 443
    assert repo[0]["source_hosts"] == ["a1", "a2", "a3", "b1"] and "pool coordinator only" in repo[0]["purpose"]
    updates = [r for r in rows if r["destination"] == "updates.ops.xenserver.com"]
    assert updates[0]["sources"] == ["192.0.2.50", "192.0.2.51"]
    assert all(r["source_ref"] for r in rows)


def test_cross_pool_migration_follows_portmatrix_migration_pools():
    """Pool b migrates to pool a: a's hosts take 443 from b's hosts, not the other way round."""
    e = estate(GROUPS, HOSTS)
    migration = {"portmatrix_migration_pools": {"pool_b": "pool_a"}, "portmatrix_strict": True}
    a1 = call(e, "a1", **migration)
    assert a1["args"]["migration_peers"] == ["192.0.2.21"] and "cross_pool_migration" in a1["args"]["features"]
    assert a1["settings"]["migration_from"] == ["pool_b"]
    b1 = call(e, "b1", **migration)
    assert b1["args"]["migration_peers"] == [] and "cross_pool_migration" not in b1["args"]["features"]
    assert call(e, "a1", portmatrix_skip_features=["cross_pool_migration"], **migration)["args"]["migration_peers"] == []
    calls = engine.plan_hosts(e, dict((h, dict(migration)) for h in ["a1", "a2", "a3", "b1"]))
    keys = set((r["src"], r["dst"], r["proto"], p) for r in pair_files(e, calls) for p in r["ports"])
    assert ("b1", "a1", "tcp", 443) in keys and ("a1", "b1", "tcp", 443) not in keys
    merged = [m for m in engine.merged_flows(e, calls) if "cross_pool_migration" in m["flows"]]
    assert [(m["source_hosts"], m["pool"], m["ports"]) for m in merged] == [
        (["b1"], "pool_a (cross-pool migration in)", [443])]
    both = {"portmatrix_migration_pools": {"pool_b": ["pool_a"], "pool_a": ["pool_b"]}, "portmatrix_strict": True}
    assert call(e, "b1", **both)["args"]["migration_peers"] == ["192.0.2.11", "192.0.2.112", "2001:db8::12",
                                                                "192.0.2.13"]


@pytest.mark.parametrize("value, message", [
    ("pool_a", "must be a dictionary from a sending pool"),
    ({"pool_a": ["pool_a"]}, "a pool does not migrate to itself"),
    ({"pool_a": [{"x": 1}]}, "must be a list of names"),
])
def test_bad_migration_pools(value, message):
    with pytest.raises(settings.SettingsError) as err:
        settings.read("a1", {"portmatrix_migration_pools": value})
    assert "a1: portmatrix_migration_pools " in str(err.value) and message in str(err.value)


def test_platform_is_passed_to_pool_hosts_only():
    e = estate(GROUPS, HOSTS)
    assert call(e, "a1", portmatrix_platform="xcp-ng8")["args"]["platform"] == "xcp-ng8"
    assert "platform" not in call(e, "a1")["args"]                        # auto: the module detects it
    assert "platform" not in call(e, "lic", portmatrix_platform="xenserver8")["args"]
    with pytest.raises(settings.SettingsError) as err:
        settings.read("a1", {"portmatrix_platform": "xcpng"})
    assert "a1: portmatrix_platform must be one of auto, xenserver8, xenserver9, xcp-ng8" in str(err.value)


@pytest.mark.parametrize("variable, value, message", [
    ("portmatrix_admin_sources", ["10.0.0.0/33"], "'10.0.0.0/33': the prefix length of an IPv4 network is 0 to 32, not 33"),
    ("portmatrix_admin_sources", "fd00::/129", "the prefix length of an IPv6 network is 0 to 128, not 129"),
    ("portmatrix_admin_sources", ["198.51.100.300"], "'198.51.100.300' is not an IPv4/IPv6 address"),
    ("portmatrix_admin_sources", ["198.51.100.0/24x"], "'198.51.100.0/24x' is not an IPv4 network"),
    ("portmatrix_license_admin_sources", ["2001:db8::zz/64"], "'2001:db8::zz' is not an IPv4/IPv6 address"),
])
def test_a_bad_source_network_names_the_variable_not_a_rule(variable, value, message):
    # Issue 18 item 11: 10.0.0.0/33 in portmatrix_admin_sources was reported as "extra rule admin".
    e = estate(GROUPS, HOSTS)
    calls, problems = engine.plan_each(e, {"a1": {"portmatrix_strict": True, variable: value}})
    assert not calls
    assert len(problems["a1"]) == 1 and problems["a1"][0].startswith("a1: %s " % variable)
    assert message in problems["a1"][0]
    assert "extra rule" not in problems["a1"][0]
