# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: planned_flows
author: portmatrix.xenserver maintainers (@portmatrix)
version_added: 0.1.0
short_description: The matrix flows a host serves, with their concrete ports
description:
  - Takes the same settings as P(portmatrix.xenserver.firewall_rules#module) and returns the flows
    to that host with their ports per protocol after optional features, skipped features, clustering,
    https-only and port overrides. It is the module's own computation (C(planner.planned_flows)), so
    flow listings and reports never disagree with what the module applies.
options:
  _input:
    description:
      - A dictionary with C(components) (required) and optionally C(clustered), C(features),
        C(skip_features), C(https_only), C(cluster_daemon_port), C(license_vendor_daemon_port) and
        C(nfsv3_ports), as for the module.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: The flows a clustered pool host serves
  ansible.builtin.debug:
    msg: "{{ {'components': ['pool_host'], 'clustered': true} | portmatrix.xenserver.planned_flows }}"
"""

RETURN = r"""
_value:
  description: One entry per flow and protocol.
  type: list
  elements: dict
  contains:
    id: {description: Flow id., type: str}
    source: {description: Source component., type: str}
    destination: {description: Destination component., type: str}
    scope: {description: "V(any), V(same_pool) or V(clustered_pool).", type: str}
    feature: {description: Feature., type: str}
    purpose: {description: Purpose., type: str}
    protocol: {description: Protocol., type: str}
    ports: {description: Ports., type: list, elements: int}
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.portmatrix.xenserver.plugins.module_utils import planner


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
            port_options={"cluster_daemon_port": settings.get("cluster_daemon_port"),
                          "license_vendor_daemon_port": settings.get("license_vendor_daemon_port")},
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
