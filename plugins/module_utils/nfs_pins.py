# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NFSv3 side ports pinned in a filer's configuration files, as text edits (no I/O).

/etc/nfs.conf (nfs-utils 2: [mountd] port=, [statd] port= and outgoing-port=, [lockd] port= and
udp-port=; nfs.conf(5)) and /etc/sysconfig/nfs (older RHEL: MOUNTD_PORT, STATD_PORT,
STATD_OUTGOING_PORT, LOCKD_TCPPORT, LOCKD_UDPPORT).  Runs on the filer: Python 3.6, standard
library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# portmatrix_nfsv3_ports key -> (nfs.conf section, key), sysconfig variable
NFS_CONF_KEYS = (("mountd", ("mountd", "port")), ("statd", ("statd", "port")),
                 ("statd_outgoing", ("statd", "outgoing-port")), ("lockd_tcp", ("lockd", "port")),
                 ("lockd_udp", ("lockd", "udp-port")))
SYSCONFIG_KEYS = (("mountd", "MOUNTD_PORT"), ("statd", "STATD_PORT"), ("statd_outgoing", "STATD_OUTGOING_PORT"),
                  ("lockd_tcp", "LOCKD_TCPPORT"), ("lockd_udp", "LOCKD_UDPPORT"))
LAYOUTS = ("auto", "nfs.conf", "sysconfig", "both")


def layouts(config, nfs_conf_exists, sysconfig_exists):
    """The files to pin the ports in: 'auto' writes nfs.conf when it exists or when neither file
    does, and sysconfig when it exists."""
    if config not in LAYOUTS:
        raise ValueError("config must be one of %s, not %r" % (", ".join(LAYOUTS), config))
    chosen = []
    if config in ("nfs.conf", "both") or (config == "auto" and (nfs_conf_exists or not sysconfig_exists)):
        chosen.append("nfs.conf")
    if config in ("sysconfig", "both") or (config == "auto" and sysconfig_exists):
        chosen.append("sysconfig")
    return chosen


def nfs_conf_settings(ports):
    """[(section, key, value)] of the ports given."""
    return [(section, key, str(ports[name])) for name, (section, key) in NFS_CONF_KEYS
            if ports.get(name) is not None]


def sysconfig_settings(ports):
    """[(variable, value)] of the ports given."""
    return [(variable, str(ports[name])) for name, variable in SYSCONFIG_KEYS if ports.get(name) is not None]


def _lines(text):
    lines = text.splitlines()
    return lines


def _joined(lines):
    return "\n".join(lines) + "\n" if lines else ""


def _header(line, section):
    return re.match(r"^\[%s\]\s*$" % re.escape(section), line) is not None


def pin_nfs_conf(text, settings):
    """text with each (section, key, value) set: a section that is missing is added at the end;
    in every [section] the first 'key =' line (not commented out) becomes 'key=value', or
    'key=value' is added right below the header. Every other line stays as it was."""
    lines = _lines(text or "")
    for section in _unique(s for s, _k, _v in settings):
        if not any(_header(line, section) for line in lines):
            lines.append("[%s]" % section)
    for section, key, value in settings:
        setting = re.compile(r"^\s*%s\s*=" % re.escape(key))
        index = 0
        while index < len(lines):
            if not _header(lines[index], section):
                index += 1
                continue
            end = index + 1
            while end < len(lines) and not lines[end].startswith("["):
                end += 1
            found = [i for i in range(index + 1, end) if setting.match(lines[i])]
            if found:
                lines[found[0]] = "%s=%s" % (key, value)
            else:
                lines.insert(index + 1, "%s=%s" % (key, value))
                end += 1
            index = end
    return _joined(lines)


def pin_sysconfig(text, settings):
    """text with each VARIABLE=value set: the last line that sets it (or a commented-out
    '#VARIABLE=') becomes VARIABLE=value, else it is added at the end."""
    lines = _lines(text or "")
    for variable, value in settings:
        pattern = re.compile(r"^\s*#?\s*%s=" % re.escape(variable))
        found = [i for i, line in enumerate(lines) if pattern.match(line)]
        if found:
            lines[found[-1]] = "%s=%s" % (variable, value)
        else:
            lines.append("%s=%s" % (variable, value))
    return _joined(lines)


def _unique(values):
    out = []
    for value in values:
        if value not in out:
            out.append(value)
    return out
