# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import xensource_inventory

TEXT = """PRODUCT_BRAND='XenServer'
INSTALLATION_UUID='4f3c0e2a-1b1d-4d7e-9a55-0a1b2c3d4e5f'
# a comment = not a key
CC_PREPARATIONS="true"
MANAGEMENT_INTERFACE='xenbr0'
BUILD_NUMBER=  8.4.0\t
garbage line
"""


def test_parse_strips_quotes_and_blanks():
    parsed = xensource_inventory.parse(TEXT)
    assert parsed["INSTALLATION_UUID"] == "4f3c0e2a-1b1d-4d7e-9a55-0a1b2c3d4e5f"
    assert parsed["CC_PREPARATIONS"] == "true" and parsed["BUILD_NUMBER"] == "8.4.0"
    assert "# a comment " not in parsed and len(parsed) == 5
    assert xensource_inventory.parse("") == {} and xensource_inventory.parse(None) == {}
    assert xensource_inventory.parse("K='it''s'\nQ='") == {"K": "it''s", "Q": "'"}
