# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolve inventory address entries on the controller (portmatrix.xenserver.peers).

Usage: resolve.py ENTRY...   Prints one JSON object: entry -> list of addresses, or null.

An entry that is an IPv4/IPv6 address or network is returned as it is (canonical form);
anything else is a name, resolved with getaddrinfo (IPv4 and IPv6). A name that does not
resolve maps to null; the role stops the play naming the host. Always exits 0.
"""

import ipaddress
import json
import socket
import sys


def resolve(entry):
    text = entry.strip()
    try:
        return [str(ipaddress.ip_address(text))]
    except ValueError:
        pass
    try:
        return [str(ipaddress.ip_network(text, strict=False))]
    except ValueError:
        pass
    if not text or "/" in text or " " in text:
        return None
    try:
        infos = socket.getaddrinfo(text, None, 0, socket.SOCK_STREAM)
    except (socket.gaierror, socket.herror, UnicodeError, OSError):
        return None
    found = []
    for info in infos:
        address = info[4][0].split("%", 1)[0]
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            continue
        if parsed.version == 6 and parsed.ipv4_mapped:
            parsed = parsed.ipv4_mapped
        if parsed.is_link_local:
            continue
        if str(parsed) not in found:
            found.append(str(parsed))
    return found or None


def main(argv):
    print(json.dumps(dict((entry, resolve(entry)) for entry in argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
