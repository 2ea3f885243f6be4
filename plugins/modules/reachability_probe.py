#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: reachability_probe
author: portmatrix.xenserver maintainers (@portmatrix)
version_added: 0.3.0
short_description: Try many TCP and UDP connections at once from the host it runs on
description:
  - Runs on the source host and tries every target in one go (non-blocking sockets, at most O(parallel) open at
    once), so that a hundred targets take about one O(timeout), not a hundred. Changes nothing.
  - TCP - a connect. V(open) when it completes, V(refused) on a reset or an ICMP error (the kernel's error name is
    in C(detail)), V(timeout) when nothing came back (a drop).
  - UDP - a datagram on a connected socket, sent again at half the timeout. V(open) when a datagram comes back (a
    listener answered), V(refused) when the host or a firewall answered with ICMP port-unreachable or
    admin-prohibited (seen as an error on the socket), V(unknown) when nothing came back - most UDP services ignore
    an unexpected datagram, so silence proves neither way. Note that hosts limit how many ICMP errors they send per
    second (net.ipv4.icmp_ratelimit), so a burst of UDP probes to one host may read V(unknown) where a firewall
    rejected.
  - The portmatrix.xenserver.verify playbook runs it, one task per source host.
options:
  targets:
    description:
      - What to try, each with C(address) (an IP address, no name), C(proto) (V(tcp) or V(udp)) and C(port). Other
        keys are ignored. A bad target fails the task before anything is tried.
    type: list
    elements: dict
    required: true
  timeout:
    description: Seconds each attempt may take.
    type: float
    default: 2.0
  deadline:
    description: Seconds the whole run may take; targets not started by then are reported V(not_tried).
    type: float
    default: 20.0
  parallel:
    description: Sockets open at once, at most (and at most half of the free file descriptors).
    type: int
    default: 128
extends_documentation_fragment:
  - portmatrix.xenserver.attributes.probe
seealso:
  - module: portmatrix.xenserver.inventory_flows
"""

EXAMPLES = r"""
- name: Try two flows from this host
  portmatrix.xenserver.reachability_probe:
    targets:
      - {address: 198.18.77.31, proto: tcp, port: 2049}
      - {address: 198.18.77.32, proto: udp, port: 123}
    timeout: 2
  register: probe
"""

RETURN = r"""
results:
  description:
    - One per target, in the order given, with C(address), C(proto), C(port), C(observed) (V(open), V(refused),
      V(timeout), V(unknown) (UDP, no answer), V(not_tried) (the deadline came first) or V(error) (a local fault)),
      C(detail) and C(elapsed) (seconds).
  returned: always
  type: list
  elements: dict
  sample: [{address: 198.18.77.31, proto: tcp, port: 2049, observed: open, detail: connected, elapsed: 0.001}]
counts:
  description: How many results of each C(observed) value.
  returned: always
  type: dict
  sample: {open: 20, refused: 14}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.portmatrix.xenserver.plugins.module_utils import reachability


def main():
    module = AnsibleModule(
        argument_spec=dict(
            targets=dict(type="list", elements="dict", required=True),
            timeout=dict(type="float", default=2.0),
            deadline=dict(type="float", default=20.0),
            parallel=dict(type="int", default=128),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params["timeout"] <= 0 or params["deadline"] <= 0 or params["parallel"] < 1:
        module.fail_json(msg="reachability_probe: timeout and deadline must be above 0 and parallel at least 1")
    try:
        results = reachability.probe(params["targets"], timeout=params["timeout"], deadline=params["deadline"],
                                     parallel=reachability.fd_budget(params["parallel"]))
    except reachability.ProbeError as exc:
        module.fail_json(msg="reachability_probe: %s; nothing was tried" % exc)
    counts = {}
    for result in results:
        counts[result["observed"]] = counts.get(result["observed"], 0) + 1
    module.exit_json(changed=False, results=results, counts=counts)


if __name__ == "__main__":
    main()
