"""Probe worker: runs inside one source host's netns, tries each flow once, prints JSON results.

stdin: {"timeout": seconds, "workers": n, "flows": [{"id": i, "addr": ip, "proto": "tcp"|"udp", "port": n, "family": 4|6}]}
stdout: [{"id": i, "observed": "open"|"refused", "detail": "...", "elapsed": seconds}]
"""

import concurrent.futures
import errno
import json
import socket
import sys
import time


def _error_name(exc):
    if isinstance(exc, socket.timeout):
        return 'timeout'
    return errno.errorcode.get(exc.errno, str(exc)) if exc.errno else str(exc)


# Linux keeps an ICMPv6 error for a SYN as a soft error until the first retransmit (1 s) unless
# the socket asks for errors: with it, a v6 REJECT reads as refused at once, like v4.
IPV6_RECVERR = getattr(socket, 'IPV6_RECVERR', 25)


def try_tcp(addr, port, family, timeout):
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        sock.settimeout(timeout)
        sock.connect((addr, port))
    return 'connected'


def try_udp(addr, port, family, timeout):
    # two sends half a timeout apart so one lost datagram does not read as 'refused'
    payload = b'pmxlab-probe %d' % port
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout / 2.0)
        sock.connect((addr, port))
        for attempt in (1, 2):
            sock.send(payload)
            try:
                if sock.recv(2048) == payload:
                    return 'echo'
            except socket.timeout:
                if attempt == 2:
                    raise
    raise socket.timeout()


def probe(flow, timeout):
    family = socket.AF_INET6 if flow['family'] == 6 else socket.AF_INET
    attempt = try_tcp if flow['proto'] == 'tcp' else try_udp
    started = time.monotonic()
    try:
        detail = attempt(flow['addr'], flow['port'], family, timeout)
        observed = 'open'
    except OSError as exc:
        detail = _error_name(exc)
        observed = 'refused'
    return {'id': flow['id'], 'observed': observed, 'detail': detail, 'elapsed': round(time.monotonic() - started, 3)}


def main():
    request = json.load(sys.stdin)
    timeout = float(request.get('timeout', 1.5))
    workers = max(1, min(int(request.get('workers', 64)), 128))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda flow: probe(flow, timeout), request['flows']))
    json.dump(results, sys.stdout)


if __name__ == '__main__':
    main()
