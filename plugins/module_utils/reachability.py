# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many connection attempts at once from this host: what the reachability_probe module runs.

Runs on the target (Python 3.6, standard library only). Every attempt is a non-blocking
socket watched by one selector, so N targets cost about one timeout, not N:

- TCP: a connect. "open" when it completes, "refused" on a reset or an ICMP error
  (ECONNREFUSED, EHOSTUNREACH, ...), "timeout" when nothing came back in time (a drop).
- UDP: a datagram on a connected socket, sent again at half the timeout. "open" when any
  datagram comes back (a listener answered), "refused" when the kernel reports the ICMP
  port-unreachable (or admin-prohibited) answer as an error on the socket, "unknown" when
  nothing came back: most UDP services ignore an unexpected datagram, so silence proves
  neither way.

Bounded: at most `parallel` sockets open at once, each attempt at most `timeout` seconds,
the whole run at most `deadline` seconds (what is not tried by then is "not_tried").
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import selectors
import socket
import time

OBSERVED = ("open", "refused", "timeout", "unknown", "not_tried", "error")
PAYLOAD = b"portmatrix reachability probe\n"
# Linux keeps an ICMP error for a SYN as a soft error until the first retransmit (1 s) unless
# the socket asks for errors; with these a REJECT reads as refused at once (IPv4 and IPv6).
IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
IPV6_RECVERR = getattr(socket, "IPV6_RECVERR", 25)
# Errors that are an answer from the path or the host (a reset or an ICMP error), not a local fault.
ANSWERED = frozenset(getattr(errno, name) for name in (
    "ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EACCES", "EPERM", "ECONNRESET", "EHOSTDOWN", "ENONET")
    if hasattr(errno, name))


class ProbeError(ValueError):
    """A target that cannot be tried (bad address, protocol or port)."""


def check_targets(targets):
    """[(index, family, address, proto, port)] of the targets ({address, proto, port}), or ProbeError
    naming every bad one."""
    checked, problems = [], []
    for index, target in enumerate(targets or []):
        if not isinstance(target, dict):
            problems.append("target %d is not a mapping" % index)
            continue
        address, proto, port = target.get("address"), target.get("proto"), target.get("port")
        family = socket.AF_INET6 if ":" in str(address) else socket.AF_INET
        try:
            socket.inet_pton(family, str(address))
        except (OSError, ValueError):
            problems.append("target %d: %r is not an IP address" % (index, address))
            continue
        if proto not in ("tcp", "udp"):
            problems.append("target %d: proto must be tcp or udp, not %r" % (index, proto))
            continue
        try:
            port = int(port)
        except (TypeError, ValueError):
            port = 0
        if not 0 < port < 65536:
            problems.append("target %d: port must be 1-65535, not %r" % (index, target.get("port")))
            continue
        checked.append((index, family, str(address), proto, port))
    if problems:
        raise ProbeError("; ".join(problems))
    return checked


def error_name(number):
    return errno.errorcode.get(number, "error %s" % number)


class _Attempt(object):
    __slots__ = ("index", "family", "address", "proto", "port", "sock", "started", "resent")

    def __init__(self, index, family, address, proto, port):
        self.index, self.family, self.address, self.proto, self.port = index, family, address, proto, port
        self.sock, self.started, self.resent = None, 0.0, False


def _open(attempt, now):
    """Start the attempt: returns (events to watch, None) or (None, finished outcome)."""
    kind = socket.SOCK_STREAM if attempt.proto == "tcp" else socket.SOCK_DGRAM
    try:
        sock = socket.socket(attempt.family, kind)
    except OSError as exc:
        return None, ("error", error_name(exc.errno))
    attempt.sock, attempt.started = sock, now
    sock.setblocking(False)
    try:
        if attempt.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    except OSError:
        pass  # without it an ICMP answer may read as a timeout; not worth failing for
    number = sock.connect_ex((attempt.address, attempt.port))
    if attempt.proto == "tcp":
        if number == 0:
            return None, ("open", "connected")
        if number in (errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY):
            return selectors.EVENT_WRITE, None
        return None, _failed(number)
    if number:
        return None, _failed(number)
    return _send(attempt)


def _send(attempt):
    try:
        attempt.sock.send(PAYLOAD)
    except OSError as exc:
        return None, _failed(exc.errno)
    return selectors.EVENT_READ, None


def _failed(number):
    return ("refused", error_name(number)) if number in ANSWERED else ("error", error_name(number))


def _ready(attempt):
    """The outcome of an attempt whose socket the selector reported, or None to keep waiting."""
    if attempt.proto == "tcp":
        number = attempt.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        return ("open", "connected") if number == 0 else _failed(number)
    try:
        attempt.sock.recv(2048)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError as exc:
        return _failed(exc.errno)
    return ("open", "answered")


def probe(targets, timeout=2.0, deadline=20.0, parallel=128, clock=time.monotonic):
    """Try every target; returns one {address, proto, port, observed, detail, elapsed} per target,
    in the order given. ProbeError when a target is malformed (nothing is tried then)."""
    pending = [_Attempt(*item) for item in check_targets(targets)]
    pending.reverse()
    results = [None] * len(pending)
    timeout, parallel = max(0.05, float(timeout)), max(1, int(parallel))
    started = clock()
    stop_at = started + max(0.0, float(deadline))
    selector = selectors.DefaultSelector()
    active = {}

    def finish(attempt, outcome, now):
        if attempt.sock is not None:
            if attempt.sock.fileno() in active:
                selector.unregister(attempt.sock)
                del active[attempt.sock.fileno()]
            attempt.sock.close()
        results[attempt.index] = {"address": attempt.address, "proto": attempt.proto, "port": attempt.port,
                                  "observed": outcome[0], "detail": outcome[1],
                                  "elapsed": round(max(0.0, now - attempt.started), 3)}

    try:
        while pending or active:
            now = clock()
            while pending and len(active) < parallel and now < stop_at:
                attempt = pending.pop()
                events, outcome = _open(attempt, now)
                if outcome:
                    finish(attempt, outcome, now)
                else:
                    selector.register(attempt.sock, events, attempt)
                    active[attempt.sock.fileno()] = attempt
            if not active:
                break
            wait = min([a.started + (timeout / 2.0 if a.proto == "udp" and not a.resent else timeout)
                        for a in active.values()] + [stop_at]) - now
            for key, _mask in selector.select(max(0.0, wait)):
                outcome = _ready(key.data)
                if outcome:
                    finish(key.data, outcome, clock())
            now = clock()
            for attempt in list(active.values()):
                if attempt.proto == "udp" and not attempt.resent and now >= attempt.started + timeout / 2.0:
                    attempt.resent = True  # one lost datagram is not silence
                    events, outcome = _send(attempt)
                    if outcome:
                        finish(attempt, outcome, now)
                elif now >= attempt.started + timeout or now >= stop_at:
                    finish(attempt, ("unknown", "no answer") if attempt.proto == "udp" else ("timeout", "no answer"),
                           now)
    finally:
        for attempt in list(active.values()):
            attempt.sock.close()
        selector.close()
    for attempt in pending:
        results[attempt.index] = {"address": attempt.address, "proto": attempt.proto, "port": attempt.port,
                                  "observed": "not_tried", "detail": "deadline of %ss reached" % deadline,
                                  "elapsed": 0.0}
    return results


def fd_budget(wanted):
    """At most wanted sockets, and at most half of the free descriptors (RLIMIT_NOFILE)."""
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, ValueError, OSError):
        soft = 1024
    if soft <= 0:
        soft = 1024
    used = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 16
    return max(1, min(int(wanted), (soft - used) // 2))
