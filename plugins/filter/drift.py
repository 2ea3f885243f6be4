# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: drift_report.yml, drift_table.yml and drift_hosts.yml beside this file.
# Thin wrappers over plugins/plugin_utils/drift_report.py (pure code, unit-tested there).

from ansible.errors import AnsibleError, AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import drift_report as report


def drift_report(host_vars, hosts, enforce=False, settings_error=None):
    try:
        names = [str(host) for host in hosts]
    except TypeError:
        raise AnsibleFilterError("drift_report takes the list of the run's hosts")
    missing = [name for name in names if name not in host_vars]
    if missing:
        raise AnsibleFilterError("drift_report: no variables for %s" % ", ".join(missing))
    enforce = boolean(enforce, strict=False)
    return report.summary(report.host_rows(names, host_vars, enforce), enforce, settings_error)


def drift_table(value):
    if not isinstance(value, dict) or "hosts" not in value:
        raise AnsibleFilterError("drift_table takes the result of drift_report")
    return report.table_lines(value)


def drift_hosts(localhost_vars):
    hosts, settings_error = report.run_hosts(localhost_vars)
    if settings_error:
        # Raised while a play's hosts are worked out, this ends ansible-playbook with exit status 1,
        # the one status no host outcome gives (2 failed, 4 unreachable): bad settings, nothing checked.
        raise AnsibleError(settings_error)
    return hosts


class FilterModule:
    def filters(self):
        return {"drift_report": drift_report, "drift_table": drift_table, "drift_hosts": drift_hosts}
