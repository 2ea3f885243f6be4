"""What `labctl probe --flows` reads: a list of flows, or the flows playbook's flows.json (no lab needed)."""

import pytest

from portmatrix_lab import LabError, flows_from_file

FLOWS_JSON = {
    "pairs": [["pool-a2", "pool-a1", "tcp", [80, 443], ["pool_management_api"]],
              ["pool-a1", "filer", "udp", [2049], ["nfsv3"]],
              ["", "license", "tcp", [8082], ["extra:admin"]]],
    "columns": ["src", "dst", "proto", "ports", "flows"],
    "hosts": {"pool-a1": {"addresses": ["198.18.0.11", "fd00::11"]},
              "pool-a2": {"addresses": ["198.18.0.12", "fd00::12"]},
              "filer": {"addresses": ["198.18.0.40"]},
              "license": {"addresses": ["198.18.0.50"]}},
    "extra_rule_sources": {"extra:admin": ["198.51.100.0/24"]},
}


def test_the_flows_playbooks_file_becomes_flows_expected_open():
    flows = flows_from_file(FLOWS_JSON)
    assert flows == [
        {"src": "pool-a2", "dst": "pool-a1", "proto": "tcp", "port": 80, "family": 4, "expect": "open"},
        {"src": "pool-a2", "dst": "pool-a1", "proto": "tcp", "port": 443, "family": 4, "expect": "open"},
        {"src": "pool-a2", "dst": "pool-a1", "proto": "tcp", "port": 80, "family": 6, "expect": "open"},
        {"src": "pool-a2", "dst": "pool-a1", "proto": "tcp", "port": 443, "family": 6, "expect": "open"},
        {"src": "pool-a1", "dst": "filer", "proto": "udp", "port": 2049, "family": 4, "expect": "open"},
    ]


def test_a_list_of_flows_is_taken_as_it_is_and_anything_else_is_refused():
    flows = [{"src": "vm1", "dst": "filer", "proto": "tcp", "port": 2049}]
    assert flows_from_file(flows) is flows
    with pytest.raises(LabError, match="neither a list of flows nor the flows playbook's flows.json"):
        flows_from_file({"results": []})
