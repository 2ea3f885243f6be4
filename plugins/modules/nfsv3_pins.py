#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: nfsv3_pins
author: portmatrix.xenserver maintainers (@portmatrix)
version_added: 0.2.0
short_description: Pin an NFS filer's NFSv3 side ports (mountd, statd, lockd) in its configuration files
description:
  - mountd, statd and lockd pick random ports unless pinned, and no firewall rule can name a random port. This
    module writes the pinned ports to C(/etc/nfs.conf) (nfs-utils 2 - C([mountd] port=), C([statd] port=) and
    C(outgoing-port=), C([lockd] port=) and C(udp-port=)) and/or C(/etc/sysconfig/nfs) (older RHEL - C(MOUNTD_PORT),
    C(STATD_PORT), C(STATD_OUTGOING_PORT), C(LOCKD_TCPPORT), C(LOCKD_UDPPORT)).
  - In C(/etc/nfs.conf) a missing section is added at the end; in each section the first C(key=) line that is not
    commented out is set, or the key is added below the section header. In C(/etc/sysconfig/nfs) the last line
    setting the variable (or a commented-out C(#VARIABLE=)) is set, or the variable is added at the end. Every other
    line stays as it was. A file that does not exist is created (mode 0644).
  - It does not restart the NFS services; the P(portmatrix.xenserver.storage_filer#role) role does that, by a
    handler, when this module changed a file.
options:
  ports:
    description:
      - The ports, by service (the keys of C(portmatrix_nfsv3_ports), docs/settings.md). A key that is left out
        is not written.
    type: dict
    required: true
    suboptions:
      mountd: {description: mountd's port (TCP and UDP)., type: int}
      statd: {description: statd's port (TCP and UDP)., type: int}
      statd_outgoing: {description: statd's outgoing port (not opened by the firewall)., type: int}
      lockd_tcp: {description: lockd's TCP port., type: int}
      lockd_udp: {description: lockd's UDP port., type: int}
  config:
    description:
      - Which files to write. V(auto) writes O(nfs_conf) when it exists (or when neither file does) and O(sysconfig)
        when that exists.
    type: str
    choices: [auto, nfs.conf, sysconfig, both]
    default: auto
  nfs_conf:
    description: Path of nfs.conf.
    type: path
    default: /etc/nfs.conf
  sysconfig:
    description: Path of the sysconfig file.
    type: path
    default: /etc/sysconfig/nfs
attributes:
  check_mode:
    support: full
    description: Reports what it would write, and writes nothing (a missing file is not created).
  diff_mode:
    support: full
    description: One diff per file it writes (or would write).
  platform:
    support: full
    platforms: posix
    description: Runs on the filer (Python 3.6 or later, standard library only).
seealso:
  - module: portmatrix.xenserver.firewall_rules
"""

EXAMPLES = r"""
- name: Pin the NFSv3 side ports
  portmatrix.xenserver.nfsv3_pins:
    ports: {mountd: 892, statd: 662, statd_outgoing: 2020, lockd_tcp: 32803, lockd_udp: 32769}
"""

RETURN = r"""
files:
  description: The files chosen to pin the ports in (whether they changed or not).
  returned: always
  type: list
  elements: str
  sample: [/etc/nfs.conf]
changed_files:
  description: The files that changed (or in check mode would change).
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.portmatrix.xenserver.plugins.module_utils import nfs_pins

PORT_KEYS = ("mountd", "statd", "statd_outgoing", "lockd_tcp", "lockd_udp")


def _read(path):
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return handle.read()


def _write(module, path, text):
    """Write text to path atomically; a new file gets mode 0644, an existing one keeps its own."""
    directory = os.path.dirname(path) or "."
    temp = os.path.join(directory, ".%s.portmatrix.tmp" % os.path.basename(path))
    with open(temp, "w") as handle:
        handle.write(text)
    if not os.path.exists(path):
        os.chmod(temp, 0o644)
    module.atomic_move(temp, path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ports=dict(type="dict", required=True, options=dict((key, dict(type="int")) for key in PORT_KEYS)),
            config=dict(type="str", default="auto", choices=list(nfs_pins.LAYOUTS)),
            nfs_conf=dict(type="path", default="/etc/nfs.conf"),
            sysconfig=dict(type="path", default="/etc/sysconfig/nfs"),
        ),
        supports_check_mode=True,
    )
    ports = dict((k, v) for k, v in module.params["ports"].items() if v is not None)
    bad = ["%s: bad port %s" % (k, v) for k, v in sorted(ports.items()) if not 1 <= v <= 65535]
    if bad:
        module.fail_json(msg="nfsv3_pins: %s; nothing was changed" % "; ".join(bad))
    paths = {"nfs.conf": module.params["nfs_conf"], "sysconfig": module.params["sysconfig"]}
    edits = {"nfs.conf": (nfs_pins.pin_nfs_conf, nfs_pins.nfs_conf_settings(ports)),
             "sysconfig": (nfs_pins.pin_sysconfig, nfs_pins.sysconfig_settings(ports))}
    chosen = nfs_pins.layouts(module.params["config"], os.path.exists(paths["nfs.conf"]),
                              os.path.exists(paths["sysconfig"]))
    # Work out every file first, then write: a file that cannot be read changes nothing.
    planned = []
    for layout in chosen:
        pin, settings = edits[layout]
        before = _read(paths[layout])
        after = pin(before or "", settings)
        if after != before:
            planned.append((paths[layout], before, after))
    if not module.check_mode:
        for path, _before, after in planned:
            _write(module, path, after)
    module.exit_json(changed=bool(planned), files=[paths[layout] for layout in chosen],
                     changed_files=[path for path, _b, _a in planned],
                     diff=[{"before": before or "", "after": after, "before_header": path if before is not None else
                            "%s (absent)" % path, "after_header": path} for path, before, after in planned])


if __name__ == "__main__":
    main()
