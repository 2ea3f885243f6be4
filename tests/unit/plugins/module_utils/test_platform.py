# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.portmatrix.xenserver.plugins.module_utils import platform

XCP_NG = "PRODUCT_BRAND='XCP-ng'\nPRODUCT_VERSION='8.3.0'\nINSTALLATION_UUID='u1'\n"
XS8 = "PRODUCT_BRAND='XenServer'\nPRODUCT_VERSION='8.4.0'\n"
XS9 = 'PRODUCT_BRAND="XenServer"\nPRODUCT_VERSION="9.0.0"\n'


@pytest.mark.parametrize("inventory, os_release, name, source", [
    (XCP_NG, "", "xcp-ng8", "/etc/xensource-inventory"),
    (XS8, "", "xenserver8", "/etc/xensource-inventory"),
    (XS9, "", "xenserver9", "/etc/xensource-inventory"),
    ("PRODUCT_BRAND='Citrix Hypervisor'\nPRODUCT_VERSION='8.2.1'\n", "", "xenserver8", "/etc/xensource-inventory"),
    (None, 'ID="xcp-ng"\nVERSION_ID="8.3.0"\n', "xcp-ng8", "/etc/os-release"),
    (None, 'ID=debian\nVERSION_ID="12"\n', None, None),
    ("PRODUCT_BRAND='XenServer'\nPRODUCT_VERSION='7.1.2'\n", "", None, "/etc/xensource-inventory"),
])
def test_detected_from_the_inventory_then_os_release(inventory, os_release, name, source):
    found = platform.from_files(inventory, os_release)
    assert (found["platform"], found["detected_from"]) == (name, source)
    assert found["cc_preparations"] is False


@pytest.mark.parametrize("line, cc", [
    ("CC_PREPARATIONS='true'", True), ("CC_PREPARATIONS=TRUE", True), ("CC_PREPARATIONS='false'", False),
    ("CC_PREPARATIONS='yes'", True),    # xapi's cc_prep: anything but "false" is CC mode
    ("", False),
])
def test_common_criteria_as_xapi_reads_it(line, cc):
    assert platform.from_files(XS8 + line + "\n", None)["cc_preparations"] is cc


def test_problems_stop_before_any_change():
    xcp = platform.from_files(XCP_NG, None)
    assert platform.problem("auto", xcp, "auto", False) is None
    assert platform.problem("xcp-ng8", xcp, "iptables", True) is None
    assert "portmatrix_platform is xenserver9 but this host is xcp-ng8" in platform.problem(
        "xenserver9", xcp, "auto", False)
    assert "backend firewalld on a xcp-ng8 host: xapi drives iptables" in platform.problem("xcp-ng8", xcp, "firewalld", False)
    assert platform.problem("auto", xcp, "firewalld", False) is None   # the backend's own checks speak
    unknown = platform.from_files(None, None)
    assert platform.problem("xenserver9", unknown, "auto", False) is None   # nothing contradicts it
    assert "xapi drives firewalld" in platform.problem("xenserver9", unknown, "iptables", False)
    cc = platform.from_files(XS8 + "CC_PREPARATIONS='true'\n", None)
    message = platform.problem("auto", cc, "auto", True)
    assert "CC_PREPARATIONS=true in /etc/xensource-inventory" in message and "nothing was changed" in message
    assert "ILLEGAL_IN_FIPS_MODE" in message
    assert platform.problem("auto", cc, "auto", False) is None
    report = platform.describe("auto", xcp)
    assert report["name"] == "xcp-ng8" and report["expects"]["backend"] == "iptables"
