# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.portmatrix.xenserver.plugins.filter.planned_flows import planned_flows


def _ports(flows, flow_id, protocol):
    return [f["ports"] for f in flows if f["id"] == flow_id and f["protocol"] == protocol]


def test_switches_and_overrides_as_the_module_applies_them():
    flows = planned_flows({"components": ["pool_host"], "clustered": "false", "https_only": "true"})
    assert _ports(flows, "pool_management_api", "tcp") == [[443]]
    assert not _ports(flows, "clustering_tcp", "tcp")  # the string "false" is false
    flows = planned_flows({"components": ["pool_host"], "clustered": True, "cluster_daemon_port": 8896})
    assert _ports(flows, "clustering_tcp", "tcp") == [[8896, 21064]]


def test_nfsv3_side_ports_per_protocol():
    flows = planned_flows({"components": ["nfs_filer"], "nfsv3_ports": ["892", "32803/tcp", "32769/udp"]})
    assert _ports(flows, "nfsv3_ancillary", "tcp") == [[892, 32803]]
    assert _ports(flows, "nfsv3_ancillary", "udp") == [[892, 32769]]


def test_bad_settings():
    with pytest.raises(AnsibleFilterError):
        planned_flows({"features": ["ha"]})
    with pytest.raises(AnsibleFilterError) as err:
        planned_flows({"components": ["nas"]})
    assert "unknown component 'nas'" in str(err.value)
