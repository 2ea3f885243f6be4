"""Lab listener: accept-and-close on TCP ports, echo on UDP ports (dual-stack, one select loop).

Run inside a lab host's netns: python3 listener.py NAME READY_FILE TCP_PORTS UDP_PORTS
(ports comma-separated). It writes READY_FILE once every socket is bound.
"""

import os
import select
import socket
import sys


def bind(proto, port):
    kind = socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET6, kind)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('::', port))
    if proto == 'tcp':
        sock.listen(64)
    sock.setblocking(False)
    return sock


def main(argv):
    name, ready_file = argv[1], argv[2]
    tcp_ports = [int(p) for p in argv[3].split(',') if p]
    udp_ports = [int(p) for p in argv[4].split(',') if p]
    # 22 is the host's sshd, unless the host has none (PMXLAB_LISTEN_SSH=1: the router estate)
    tcp = [bind('tcp', port) for port in tcp_ports if port != 22 or os.environ.get('PMXLAB_LISTEN_SSH') == '1']
    sockets = tcp + [bind('udp', port) for port in udp_ports]
    with open(ready_file, 'w', encoding='utf-8') as handle:
        handle.write('%d tcp, %d udp\n' % (len(tcp), len(sockets) - len(tcp)))
    while True:
        readable = select.select(sockets, [], [], 5.0)[0]
        for sock in readable:
            try:
                if sock in tcp:
                    conn = sock.accept()[0]
                    conn.settimeout(0.5)
                    try:
                        conn.sendall(('pmxlab %s tcp %d\n' % (name, sock.getsockname()[1])).encode())
                    except OSError:
                        pass
                    conn.close()
                else:
                    data, peer = sock.recvfrom(2048)
                    sock.sendto(data, peer)
            except (BlockingIOError, InterruptedError, ConnectionError):
                continue


if __name__ == '__main__':
    main(sys.argv)
