# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: verify_tcp_targets.yml, verify_tcp_results.yml, verify_udp_lines.yml and verify_summary.yml
# beside this file.
# Thin wrappers over plugins/plugin_utils/verify_report.py (pure code, unit-tested there).

from ansible.errors import AnsibleFilterError

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import report, verify_report


def verify_tcp_targets(flows):
    if flows is not None and not isinstance(flows, list):
        raise AnsibleFilterError("verify_tcp_targets takes a host's list of flows (inventory_flows targets)")
    return verify_report.tcp_targets(flows)


def verify_tcp_results(host_vars, hosts, register="__verify_tcp"):
    registered = {}
    for host in hosts:
        found = host_vars[host].get(register) if host in host_vars else None
        if isinstance(found, dict):
            registered[str(host)] = found
    return verify_report.tcp_results(registered)


def verify_udp_lines(targets):
    if not isinstance(targets, dict):
        raise AnsibleFilterError("verify_udp_lines takes the flows of every source host (inventory_flows targets)")
    return verify_report.udp_lines(targets)


def verify_summary(results, targets, html_path):
    if not isinstance(targets, dict):
        raise AnsibleFilterError("verify_summary takes the flows of every source host (inventory_flows targets)")
    try:
        return verify_report.summary_lines(list(results or []), targets, str(html_path), report.render_text)
    except report.ReportError as exc:
        raise AnsibleFilterError("verify_summary: %s" % exc)


class FilterModule:
    def filters(self):
        return {"verify_tcp_targets": verify_tcp_targets, "verify_tcp_results": verify_tcp_results,
                "verify_udp_lines": verify_udp_lines, "verify_summary": verify_summary}
