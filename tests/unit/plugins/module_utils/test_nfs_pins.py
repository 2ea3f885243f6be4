# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NFSv3 port pins as text edits (plugins/module_utils/nfs_pins.py), on the lab filer's stock files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.portmatrix.xenserver.plugins.module_utils import nfs_pins

# RHEL's stock files, as the lab filer has them (lab/portmatrix_lab/stock.py)
NFS_CONF = """#
# NFS daemons
[general]
# pipefs-directory=/var/lib/nfs/rpc_pipefs
[mountd]
# port=0
[statd]
# port=0
# outgoing-port=0
[lockd]
# port=0
# udp-port=0
"""
SYSCONFIG = """RPCNFSDARGS=""
#MOUNTD_PORT=892
#STATD_PORT=662
#LOCKD_TCPPORT=32803
#LOCKD_UDPPORT=32769
"""
PORTS = {"mountd": 892, "statd": 662, "statd_outgoing": 2020, "lockd_tcp": 32803, "lockd_udp": 32769}


def test_nfs_conf_keys_below_their_headers_and_comments_kept():
    pinned = nfs_pins.pin_nfs_conf(NFS_CONF, nfs_pins.nfs_conf_settings(PORTS))
    assert pinned.splitlines() == [
        "#", "# NFS daemons", "[general]", "# pipefs-directory=/var/lib/nfs/rpc_pipefs",
        "[mountd]", "port=892", "# port=0",
        "[statd]", "outgoing-port=2020", "port=662", "# port=0", "# outgoing-port=0",
        "[lockd]", "udp-port=32769", "port=32803", "# port=0", "# udp-port=0"]
    # idempotent
    assert nfs_pins.pin_nfs_conf(pinned, nfs_pins.nfs_conf_settings(PORTS)) == pinned


def test_nfs_conf_replaces_the_key_of_its_own_section_only():
    text = "[mountd]\nmanage-gids=y\n port = 20048\n[statd]\nport=1\n"
    pinned = nfs_pins.pin_nfs_conf(text, [("mountd", "port", "892")])
    assert pinned == "[mountd]\nmanage-gids=y\nport=892\n[statd]\nport=1\n"


def test_nfs_conf_adds_missing_sections_at_the_end_and_creates_from_nothing():
    assert nfs_pins.pin_nfs_conf("[nfsd]\nvers3=y", [("lockd", "port", "32803")]) == \
        "[nfsd]\nvers3=y\n[lockd]\nport=32803\n"
    assert nfs_pins.pin_nfs_conf("", nfs_pins.nfs_conf_settings({"mountd": 892})) == "[mountd]\nport=892\n"


def test_sysconfig_sets_the_last_line_or_appends():
    pinned = nfs_pins.pin_sysconfig(SYSCONFIG + "MOUNTD_PORT=1\n", nfs_pins.sysconfig_settings(PORTS))
    assert pinned.splitlines() == ['RPCNFSDARGS=""', "#MOUNTD_PORT=892", "STATD_PORT=662", "LOCKD_TCPPORT=32803",
                                   "LOCKD_UDPPORT=32769", "MOUNTD_PORT=892", "STATD_OUTGOING_PORT=2020"]
    assert nfs_pins.pin_sysconfig(pinned, nfs_pins.sysconfig_settings(PORTS)) == pinned


@pytest.mark.parametrize("config, nfs_conf, sysconfig, expected", [
    ("auto", True, False, ["nfs.conf"]), ("auto", False, False, ["nfs.conf"]),
    ("auto", False, True, ["sysconfig"]), ("auto", True, True, ["nfs.conf", "sysconfig"]),
    ("both", False, False, ["nfs.conf", "sysconfig"]), ("sysconfig", True, False, ["sysconfig"]),
    ("nfs.conf", False, True, ["nfs.conf"])])
def test_layouts(config, nfs_conf, sysconfig, expected):
    assert nfs_pins.layouts(config, nfs_conf, sysconfig) == expected


def test_unknown_layout():
    with pytest.raises(ValueError):
        nfs_pins.layouts("nfs", True, True)


def test_ports_left_out_are_not_written():
    assert nfs_pins.nfs_conf_settings({"mountd": 892, "statd": None}) == [("mountd", "port", "892")]
    assert nfs_pins.sysconfig_settings({"lockd_udp": 32769}) == [("LOCKD_UDPPORT", "32769")]
