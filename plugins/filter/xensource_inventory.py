# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: xensource_inventory.yml beside this file.
# Thin wrapper over plugins/plugin_utils/xensource_inventory.py (pure code, unit-tested there).

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import xensource_inventory as inventory


def xensource_inventory(text):
    if text is None:
        return {}
    if not isinstance(text, (str, bytes)):
        raise AnsibleFilterError("xensource_inventory takes the text of /etc/xensource-inventory")
    return inventory.parse(to_text(text))


class FilterModule:
    def filters(self):
        return {"xensource_inventory": xensource_inventory}
