# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: planned_flows.yml beside this file (how ansible-doc finds filter docs).

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.portmatrix.xenserver.plugins.module_utils import planner
from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import engine


def planned_flows(settings):
    if not isinstance(settings, dict) or "components" not in settings:
        raise AnsibleFilterError("planned_flows takes a dictionary with at least 'components'")
    try:
        planned = planner.planned_flows(
            components=list(settings["components"]),
            clustered=boolean(settings.get("clustered", False), strict=False),
            features=list(settings.get("features") or []),
            skip_features=list(settings.get("skip_features") or []),
            https_only=boolean(settings.get("https_only", False), strict=False),
            port_options=engine.port_options(settings),
            nfsv3_ports=[to_native(p) for p in settings.get("nfsv3_ports") or []],
        )
    except planner.PlanError as exc:
        raise AnsibleFilterError(to_native(exc))
    return [{"id": flow.id, "source": flow.source, "destination": flow.destination, "scope": flow.scope,
             "feature": flow.feature, "purpose": flow.purpose, "protocol": protocol, "ports": list(ports)}
            for flow, by_protocol in planned for protocol, ports in by_protocol.items()]


class FilterModule:
    def filters(self):
        return {"planned_flows": planned_flows}
