# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/plugin_utils/settings.py: every portmatrix_* variable checked, each problem named."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.portmatrix.xenserver.plugins.module_utils import matrix
from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import settings


@pytest.mark.parametrize("name, value, checked", [
    ("portmatrix_strict", "yes", True),
    ("portmatrix_strict", "Off", False),
    ("portmatrix_pool", 7, "7"),
    ("portmatrix_clustered_pools", [" pool_a "], ["pool_a"]),
    ("portmatrix_cluster_daemon_port", "8896", 8896),
    ("portmatrix_address_families", ["6", 4, 4], [4, 6]),
    ("portmatrix_addresses", "198.18.0.1", ["198.18.0.1"]),
    ("portmatrix_addresses", None, None),
    ("portmatrix_features", ["ha"], ["ha"]),
    ("portmatrix_firewall_backend", "nftables", "nftables"),
    ("portmatrix_groups", {"pool_host": "xen"}, {"pool_host": ["xen"]}),
    ("portmatrix_groups", None, {}),
    ("portmatrix_nfsv3_ports", {"mountd": "20048", "statd": None}, {"mountd": 20048}),
    ("portmatrix_nfsv3_ports", [], {}),
    ("portmatrix_extra_rules", [{"name": "backup", "sources": "198.18.0.0/24", "ports": [10809]}],
     [{"name": "backup", "sources": ["198.18.0.0/24"], "protocol": "tcp", "ports": [10809]}]),
    ("portmatrix_confirm_timeout", "0", 0),
])
def test_good_values(name, value, checked):
    assert settings.check(name, value) == checked


@pytest.mark.parametrize("name, value, message", [
    ("portmatrix_strict", "sometimes", "must be true or false, got the string 'sometimes'"),
    ("portmatrix_pool", " ", "must be a name"),
    ("portmatrix_clustered_pools", "pool_a,pool_b", "write a YAML list, for example [pool_a, pool_b]"),
    ("portmatrix_clustered_pools", {"pool_a": 1}, "must be a list, for example [prod1, prod2], got a dictionary"),
    ("portmatrix_cluster_daemon_port", 70000, "bad port"),
    ("portmatrix_cluster_daemon_port", True, "bad port"),
    ("portmatrix_address_families", [5], "must be a list of 4 and/or 6"),
    ("portmatrix_address_families", [], "at least one address family"),
    ("portmatrix_addresses", [{"a": 1}], "got an item that is a dictionary"),
    ("portmatrix_features", ["warp"], "warp"),
    ("portmatrix_firewall_backend", "pf", "must be one of auto, iptables, firewalld, nftables"),
    ("portmatrix_groups", ["pool_hosts"], "must be a dictionary from component to inventory group"),
    ("portmatrix_groups", {"hypervisor": "xen"}, "hypervisor"),
    ("portmatrix_groups", {"pool_host": "xen prod"}, "is not an inventory group name"),
    ("portmatrix_groups", {"pool_host": []}, "must be a group name or a list of group names"),
    ("portmatrix_nfsv3_ports", {"rquotad": 875}, "unknown key 'rquotad'"),
    ("portmatrix_nfsv3_ports", {"mountd": 0}, "mountd: bad port"),
    ("portmatrix_extra_rules", [{"name": "x", "ports": [1], "colour": "red"}], "unknown key(s) colour"),
    ("portmatrix_extra_rules", [{"name": "x", "protocol": "sctp", "ports": [1]}], "item 1"),
    ("portmatrix_confirm_timeout", 3601, "from 0 to 3600"),
])
def test_bad_values_say_why(name, value, message):
    with pytest.raises(ValueError) as caught:
        settings.check(name, value)
    assert message in str(caught.value)


def test_read_collects_every_problem_naming_host_and_variable():
    with pytest.raises(settings.SettingsError) as caught:
        settings.read("a1", {"portmatrix_strict": "sometimes", "portmatrix_pool": [], "pool_host_strict": True})
    messages = caught.value.messages
    assert len(messages) == 3
    assert messages[0].startswith("a1: portmatrix_pool ") or messages[0].startswith("a1: portmatrix_strict ")
    assert "a1: pool_host_strict is no longer read; use portmatrix_strict" in messages


def test_read_gives_defaults_that_are_copies():
    first = settings.read("a1", {})
    first["portmatrix_nfsv3_ports"]["mountd"] = 1
    first["portmatrix_address_families"].append(5)
    second = settings.read("a2", {})
    assert second["portmatrix_nfsv3_ports"]["mountd"] == 892
    assert second["portmatrix_address_families"] == [4, 6]
    assert list(second) == list(settings.SETTINGS)


def test_every_setting_has_a_check_and_a_valid_default():
    for name, setting in settings.SETTINGS.items():
        assert name.startswith("portmatrix_")
        if setting.default is not None:
            assert settings.check(name, setting.default) == setting.default, name
    assert set(settings.ESTATE_SETTINGS) >= set(["portmatrix_groups", "portmatrix_clustered_pools"])
    assert not set(settings.ESTATE_SETTINGS) & set(settings.HOST_SETTINGS)


def test_group_map_merges_over_the_default_names():
    mapping = settings.group_map({"pool_host": ["xen_a", "xen_b"]})
    assert list(mapping) == list(matrix.COMPONENTS)
    assert mapping["pool_host"] == ["xen_a", "xen_b"]
    assert mapping["nfs_filer"] == ["nfs_filers"]


# One rule for every list setting (issue 18 item 11: a string admin source was accepted, a string
# clustered_pools refused): one item may be written alone, a string with commas is refused.
ONE_ITEM = {"str_list": "pool_a", "families": 4, "addresses": "198.18.0.1", "features": "ha",
            "flows_formats": "csv"}


@pytest.mark.parametrize("name", [n for n, s in settings.SETTINGS.items()
                                  if isinstance(s.default, list) or s.kind == "addresses"])
def test_every_list_setting_takes_one_item_alone_and_refuses_commas(name):
    kind = settings.SETTINGS[name].kind
    if kind == "extra_rules":  # its items are dictionaries: a list of them is the only spelling
        return
    assert kind in ONE_ITEM, "add an example item for the list kind %s" % kind
    item = ONE_ITEM[kind]
    assert settings.check(name, item) == settings.check(name, [item])
    with pytest.raises(ValueError) as caught:
        settings.check(name, "%s,%s" % (item, item))
    assert "write a YAML list" in str(caught.value)


def test_a_misspelt_variable_is_unknown_and_the_closest_name_is_given():
    # Issue 18 item 11: portmatrix_migration_pool (no s) was silently ignored.
    assert settings.unknown_variables(["portmatrix_migration_pool", "portmatrix_strict", "portmatrix_enforce",
                                       "portmatrix_lab_ns", "portmatrix_plan", "portmatrix_colour", "other"]) == [
        ("portmatrix_migration_pool", "portmatrix_migration_pools"), ("portmatrix_colour", None)]
    assert settings.unknown_variables(["portmatrix_rollout_canaray"]) == [
        ("portmatrix_rollout_canaray", "portmatrix_rollout_canary")]


def test_every_portmatrix_variable_the_playbooks_and_roles_use_is_in_a_table():
    import glob
    import os
    import re
    root = os.path.join(os.path.dirname(__file__), *[os.pardir] * 4)
    used = set()
    for path in glob.glob(os.path.join(root, "playbooks", "**", "*.yml"), recursive=True) + glob.glob(
            os.path.join(root, "roles", "**", "*.yml"), recursive=True):
        with open(path) as handle:
            used.update(re.findall(r"\bportmatrix_[a-z0-9_]*[a-z0-9]\b", handle.read()))
    used.discard("portmatrix_xenserver")  # the roles' handler topics ("portmatrix_xenserver : ...")
    assert len(used) > 10
    assert settings.unknown_variables(sorted(used)) == []
