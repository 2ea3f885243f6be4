# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ports
author: portmatrix.xenserver maintainers (@portmatrix)
version_added: 0.1.0
short_description: Query the XenServer communication-port matrix
description:
  - Returns the flows of the XenServer communication-port matrix (source component, destination
    component, protocols, ports, purpose and the vendor's notes) as a list of dictionaries.
  - The data is the same the P(portmatrix.xenserver.firewall_rules#module) module applies, so a
    perimeter-firewall change request templated from this lookup matches what the hosts enforce.
  - Every filter takes one value or a list; a flow is returned when it matches every given filter.
  - Unknown component, protocol, feature or flow id names fail with a message listing the valid ones.
options:
  _terms:
    description:
      - Flow ids to return (the same as O(id)). Optional.
    type: list
    elements: str
    required: false
  source:
    description:
      - Source component(s), for example V(pool_host) or V(xencenter).
    type: list
    elements: str
  destination:
    description:
      - Destination component(s), for example V(license_server) or V(nfs_filer).
    type: list
    elements: str
  protocol:
    description:
      - Protocol(s) a flow must use.
    type: list
    elements: str
    choices: [tcp, udp]
  port:
    description:
      - Port(s) a flow must include. Flows with dynamic ports (NFSv3 ancillary) have none.
    type: list
    elements: int
  feature:
    description:
      - Feature(s) a flow serves, for example V(licensing), V(clustering), V(nfsv3), V(ha).
      - Naming an optional feature returns its flows even when O(include_optional=false).
    type: list
    elements: str
  id:
    description:
      - Flow id(s), for example V(license_request).
    type: list
    elements: str
  include_optional:
    description:
      - Include the optional flows (HA heartbeat, VXLAN, NBD, Workload Balancing, license
        server administration, Active Directory integration, SNMP and NRPE monitoring) that are
        not on the vendor page and are off unless asked for.
    type: bool
    default: false
  outbound:
    description:
      - Return the outbound connections to the vendor's services on the internet instead of the
        flows (the pool coordinator to the update and telemetry domains, XenCenter to the update
        domain), from the vendor page "Connectivity requirements".
      - Their destinations are DNS names, for perimeter firewalls, proxies and change requests;
        the collection never turns them into host rules.
      - Filters O(source), O(protocol), O(port) and O(id) (outbound ids) apply; O(destination),
        O(feature) and O(include_optional) do not and fail when given.
    type: bool
    default: false
  query:
    description:
      - A JMESPath expression applied to the list of flows; its result is returned instead.
      - Needs the C(jmespath) Python package on the controller.
    type: str
requirements:
  - jmespath (only for O(query))
notes:
  - The cluster daemon port is 8892 on the vendor page and 8896 in xapi's source; the data keeps
    the vendor's value and the firewall module makes it configurable.
seealso:
  - module: portmatrix.xenserver.firewall_rules
"""

EXAMPLES = r"""
- name: What must reach the license server
  ansible.builtin.debug:
    msg: "{{ lookup('portmatrix.xenserver.ports', destination='license_server', wantlist=True) }}"

- name: All TCP ports a pool host must reach on filers, as a flat list
  ansible.builtin.debug:
    msg: >-
      {{ lookup('portmatrix.xenserver.ports', source='pool_host',
                destination=['nfs_filer', 'smb_filer', 'iscsi_target'], protocol='tcp',
                query='[].ports[]', wantlist=True) | unique }}

- name: One flow by id, with the optional flows
  ansible.builtin.debug:
    msg: "{{ query('portmatrix.xenserver.ports', 'ha_heartbeat', include_optional=true) }}"

- name: The DNS names the pool coordinators reach on the internet (for the proxy's allow list)
  ansible.builtin.debug:
    msg: >-
      {{ lookup('portmatrix.xenserver.ports', outbound=true, source='pool_host',
                query='[].destinations[]', wantlist=True) }}
"""

RETURN = r"""
_raw:
  description:
    - One dictionary per flow, or the result of O(query).
  type: list
  elements: dict
  contains:
    id:
      description: Stable flow identifier.
      type: str
      sample: license_request
    source:
      description: Source component.
      type: str
      sample: pool_host
    destination:
      description: Destination component.
      type: str
      sample: license_server
    protocols:
      description: Protocols of the flow.
      type: list
      elements: str
      sample: [tcp]
    ports:
      description: Destination ports; empty when the ports are chosen by the filer.
      type: list
      elements: int
      sample: [27000]
    dynamic_ports:
      description: True when the ports are chosen at run time (NFSv3 ancillary services).
      type: bool
    purpose:
      description: What the flow is for, after the vendor's wording.
      type: str
    feature:
      description: The feature the flow serves.
      type: str
      sample: licensing
    optional:
      description: True when the flow is not on the vendor page and is off unless asked for.
      type: bool
    scope:
      description: V(any), V(same_pool), V(clustered_pool) or V(migrating_pools).
      type: str
    notes:
      description: The vendor's notes that apply.
      type: list
      elements: str
    note_keys:
      description: Short keys of those notes.
      type: list
      elements: str
    port_option:
      description: The firewall module option that overrides the first port, if any.
      type: str
    source_ref:
      description: Where the flow comes from (the vendor page's title, and its URL where it has one).
      type: str
    destinations:
      description: With O(outbound=true) only, the DNS names connected to (instead of RV(_raw.destination)).
      type: list
      elements: str
      sample: [repo.ops.xenserver.com]
    direction:
      description: With O(outbound=true) only, always V(outbound).
      type: str
    protocol:
      description: With O(outbound=true) only, the protocol (instead of RV(_raw.protocols)).
      type: str
      sample: tcp
    port:
      description: With O(outbound=true) only, the destination port (instead of RV(_raw.ports)).
      type: int
      sample: 443
    only:
      description:
        - With O(outbound=true) only, V(pool_coordinator) when only the pool coordinator makes the
          connection, else null (every host of the source component).
      type: str
"""

import json

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.lookup import LookupBase

from ansible_collections.portmatrix.xenserver.plugins.module_utils.matrix import (
    MatrixError,
    flow_as_dict,
    outbound_as_dict,
    select_flows,
    select_outbound,
)

try:
    import jmespath
    HAS_JMESPATH = True
except ImportError:
    HAS_JMESPATH = False


def _plain(value):
    """Plain Python data: ansible-core 2.19+ tags strings and lists, which jmespath rejects."""
    return json.loads(json.dumps(value))


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        ids = _plain(list(terms or []) + list(self.get_option("id") or []))
        if self.get_option("outbound"):
            return self._query(self._outbound(ids))
        try:
            flows = select_flows(
                source=_plain(self.get_option("source")),
                destination=_plain(self.get_option("destination")),
                protocol=_plain(self.get_option("protocol")),
                port=_plain(self.get_option("port")),
                feature=_plain(self.get_option("feature")),
                flow_id=ids or None,
                include_optional=self.get_option("include_optional"),
            )
        except MatrixError as exc:
            raise AnsibleLookupError(to_native(exc))
        return self._query([flow_as_dict(flow) for flow in flows])

    def _outbound(self, ids):
        unusable = [name for name in ("destination", "feature") if self.get_option(name)]
        if self.get_option("include_optional"):
            unusable.append("include_optional")
        if unusable:
            raise AnsibleLookupError("%s do(es) not apply with outbound=true: outbound entries have DNS "
                                     "names as destinations and no features" % ", ".join(unusable))
        try:
            entries = select_outbound(
                source=_plain(self.get_option("source")),
                protocol=_plain(self.get_option("protocol")),
                port=_plain(self.get_option("port")),
                outbound_id=ids or None,
            )
        except MatrixError as exc:
            raise AnsibleLookupError(to_native(exc))
        return [outbound_as_dict(entry) for entry in entries]

    def _query(self, result):
        query = self.get_option("query")
        if query is None:
            return _plain(result)
        if not HAS_JMESPATH:
            raise AnsibleLookupError("the query option needs the jmespath Python package on the controller")
        try:
            found = jmespath.search(to_native(query), _plain(result))
        except jmespath.exceptions.JMESPathError as exc:
            raise AnsibleLookupError("bad JMESPath query %r: %s" % (to_native(query), to_native(exc)))
        return found if isinstance(found, list) else [found]
