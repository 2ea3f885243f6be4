# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: reachability_html.yml and reachability_text.yml beside this file.
# Thin wrappers over plugins/plugin_utils/report.py (pure code, unit-tested there).

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import report


def _results(value):
    try:
        return [dict(item) for item in value]
    except (TypeError, ValueError):
        raise AnsibleFilterError("reachability filters take a list of result dictionaries")


def reachability_html(results, title="portmatrix reachability", groups=None):
    if groups is not None and not isinstance(groups, dict):
        raise AnsibleFilterError("reachability_html: groups must be a dictionary from host to group")
    try:
        return report.render_html(_results(results), title=to_native(title), groups=groups)
    except report.ReportError as exc:
        raise AnsibleFilterError(to_native(exc))


def reachability_text(results):
    try:
        return report.render_text(_results(results))
    except report.ReportError as exc:
        raise AnsibleFilterError(to_native(exc))


class FilterModule:
    def filters(self):
        return {"reachability_html": reachability_html, "reachability_text": reachability_text}
