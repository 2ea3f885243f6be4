# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nfsv3_pins module on real files in a temporary directory: check mode, diff, idempotence."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

from ansible.module_utils import basic

from ansible_collections.portmatrix.xenserver.plugins.modules import nfsv3_pins

PORTS = {"mountd": 892, "statd": 662, "statd_outgoing": 2020, "lockd_tcp": 32803, "lockd_udp": 32769}


def run(capsys, **args):
    args.setdefault("_ansible_remote_tmp", "/tmp")
    payload = json.dumps({"ANSIBLE_MODULE_ARGS": args})
    try:
        from ansible.module_utils.testing import patch_module_args  # ansible-core 2.19+
        context = patch_module_args(args)
    except ImportError:
        context = None
        basic._ANSIBLE_ARGS = payload.encode("utf-8")
    try:
        if context is None:
            nfsv3_pins.main()
        else:
            with context:
                nfsv3_pins.main()
    except SystemExit:
        pass
    finally:
        basic._ANSIBLE_ARGS = None
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def files(tmp_path):
    nfs_conf, sysconfig = str(tmp_path / "nfs.conf"), str(tmp_path / "sysconfig-nfs")
    return nfs_conf, sysconfig


def test_check_mode_writes_nothing_and_shows_the_diff(capsys, files):
    nfs_conf, sysconfig = files
    result = run(capsys, ports=PORTS, nfs_conf=nfs_conf, sysconfig=sysconfig, _ansible_check_mode=True)
    assert result["changed"] and result["changed_files"] == [nfs_conf]
    assert not os.path.exists(nfs_conf)
    assert "[mountd]\nport=892\n" in result["diff"][0]["after"] and "absent" in result["diff"][0]["before_header"]


def test_writes_once_then_is_idempotent(capsys, files):
    nfs_conf, sysconfig = files
    with open(sysconfig, "w") as handle:
        handle.write("#MOUNTD_PORT=892\n")
    os.chmod(sysconfig, 0o600)
    first = run(capsys, ports=PORTS, nfs_conf=nfs_conf, sysconfig=sysconfig)
    assert first["changed"] and first["files"] == [sysconfig]  # auto: only sysconfig exists
    with open(sysconfig) as handle:
        assert handle.read().splitlines()[0] == "MOUNTD_PORT=892"
    assert stat.S_IMODE(os.stat(sysconfig).st_mode) == 0o600  # an existing file keeps its mode
    again = run(capsys, ports=PORTS, nfs_conf=nfs_conf, sysconfig=sysconfig)
    assert not again["changed"] and again["changed_files"] == []
    both = run(capsys, ports=PORTS, nfs_conf=nfs_conf, sysconfig=sysconfig, config="both")
    assert both["changed_files"] == [nfs_conf] and stat.S_IMODE(os.stat(nfs_conf).st_mode) == 0o644


def test_bad_port_changes_nothing(capsys, files):
    nfs_conf, sysconfig = files
    result = run(capsys, ports={"mountd": 70000}, nfs_conf=nfs_conf, sysconfig=sysconfig)
    assert result["failed"] and "mountd: bad port 70000" in result["msg"]
    assert not os.path.exists(nfs_conf)
