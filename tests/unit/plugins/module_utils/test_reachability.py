# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reachability probe (plugins/module_utils/reachability.py) against real sockets on loopback."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import threading
import time

import pytest

from ansible_collections.portmatrix.xenserver.plugins.module_utils import reachability


@pytest.fixture
def tcp_listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield sock.getsockname()[1]
    sock.close()


def _closed_port(kind):
    """A port nothing listens on (bound, then closed)."""
    sock = socket.socket(socket.AF_INET, kind)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def udp_echo():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(2048)
            except socket.timeout:
                continue
            sock.sendto(data, peer)

    thread = threading.Thread(target=serve)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join()
    sock.close()


@pytest.fixture
def udp_silent():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def test_tcp_open_and_refused(tcp_listener):
    closed = _closed_port(socket.SOCK_STREAM)
    results = reachability.probe([{"address": "127.0.0.1", "proto": "tcp", "port": tcp_listener, "dst": "x"},
                                  {"address": "127.0.0.1", "proto": "tcp", "port": closed}], timeout=2)
    assert [(r["port"], r["observed"]) for r in results] == [(tcp_listener, "open"), (closed, "refused")]
    assert results[1]["detail"] == "ECONNREFUSED"


def test_udp_answer_is_open_icmp_is_refused_silence_is_unknown(udp_echo, udp_silent):
    closed = _closed_port(socket.SOCK_DGRAM)
    started = time.monotonic()
    results = reachability.probe([{"address": "127.0.0.1", "proto": "udp", "port": udp_echo},
                                  {"address": "127.0.0.1", "proto": "udp", "port": closed},
                                  {"address": "127.0.0.1", "proto": "udp", "port": udp_silent}], timeout=0.6)
    assert [r["observed"] for r in results] == ["open", "refused", "unknown"]
    assert results[1]["detail"] == "ECONNREFUSED"
    assert time.monotonic() - started < 2  # one timeout for all, not one each


def test_many_targets_take_about_one_timeout(udp_silent):
    started = time.monotonic()
    results = reachability.probe([{"address": "127.0.0.1", "proto": "udp", "port": udp_silent}] * 200,
                                 timeout=0.5, parallel=64)
    assert set(r["observed"] for r in results) == {"unknown"}
    assert time.monotonic() - started < 0.5 * 200 / 64 + 1.5


def test_the_deadline_bounds_the_run(udp_silent):
    started = time.monotonic()
    results = reachability.probe([{"address": "127.0.0.1", "proto": "udp", "port": udp_silent}] * 6,
                                 timeout=5, deadline=0.4, parallel=2)
    assert time.monotonic() - started < 1.5
    assert [r["observed"] for r in results] == ["unknown"] * 2 + ["not_tried"] * 4


def test_bad_targets_fail_before_anything_is_tried():
    with pytest.raises(reachability.ProbeError) as caught:
        reachability.probe([{"address": "pool-a1", "proto": "tcp", "port": 443},
                            {"address": "127.0.0.1", "proto": "sctp", "port": 1},
                            {"address": "::1", "proto": "udp", "port": 70000},
                            "x"])
    message = str(caught.value)
    assert "target 0: 'pool-a1' is not an IP address" in message
    assert "target 1: proto must be tcp or udp" in message
    assert "target 2: port must be 1-65535" in message and "target 3 is not a mapping" in message


def test_fd_budget_stays_under_the_limit():
    assert reachability.fd_budget(10) == 10
    assert 1 <= reachability.fd_budget(10 ** 9) < 10 ** 9
