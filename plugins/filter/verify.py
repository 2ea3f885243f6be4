# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: verify_report.yml beside this file.
# A thin wrapper over plugins/plugin_utils/verify_report.py (pure code, unit-tested there).

from ansible.errors import AnsibleFilterError

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import verify_report as report


def verify_report(host_vars, probes, html_path, not_contacted=None, hosts=None, register="__verify_probe"):
    if not isinstance(probes, dict):
        raise AnsibleFilterError("verify_report takes the probes of inventory_flows (targets: true)")
    if hosts is not None:  # the play's hosts (--limit): the others were not asked to probe
        probes = dict((h, items) for h, items in probes.items() if h in hosts)
    registered = {}
    for host in probes:
        found = host_vars[host].get(register) if host in host_vars else None
        if isinstance(found, dict):
            registered[str(host)] = found
    return report.report(probes, registered, str(html_path), [str(h) for h in not_contacted or []])


class FilterModule:
    def filters(self):
        return {"verify_report": verify_report}
