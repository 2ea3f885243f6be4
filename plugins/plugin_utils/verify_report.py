# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify playbook's lists, as plain functions (no Ansible needed).

tcp_targets(): the TCP destinations one source host must reach (what it connects to);
tcp_results(): the connect results of every source host as reachability results
               (plugin_utils/report.py renders those);
udp_lines():   the UDP flows, listed since they are not tried;
summary_lines(): what the playbook prints: the UDP flows, then the TCP results as a table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def tcp_targets(flows):
    """[{dst, address, port}] of a source host's flows (inventory_flows targets): TCP only, one per
    address and port, networks (an address with a '/') left out since there is no one to connect to."""
    out, seen = [], set()
    for flow in flows or []:
        if flow.get("proto") != "tcp":
            continue
        for address in flow.get("addresses") or []:
            if "/" in address:
                continue
            for port in flow.get("ports") or []:
                key = (flow.get("dst"), address, int(port))
                if key not in seen:
                    seen.add(key)
                    out.append({"dst": key[0], "address": address, "port": key[2]})
    return out


def tcp_results(registered_by_host):
    """Reachability results from each source host's registered connect loop ({host: result})."""
    out = []
    for host in sorted(registered_by_host):
        loop = registered_by_host[host] or {}
        for attempt in loop.get("results") or []:
            item = attempt.get("item")
            if item is None or attempt.get("skipped"):
                continue
            connected = attempt.get("msg") is None
            out.append({"src": host, "dst": item["dst"], "proto": "tcp", "port": int(item["port"]),
                        "family": 6 if ":" in item["address"] else 4, "expect": "open",
                        "observed": "open" if connected else "refused", "match": connected,
                        "detail": "%s (%s)" % (attempt.get("msg") or "connected", item["address"])})
    return out


def udp_lines(targets_by_host):
    """'  src -> dst ports/udp' per source and destination, sorted; ['  none'] when there is none."""
    ports = {}
    for src, flows in (targets_by_host or {}).items():
        for flow in flows or []:
            if flow.get("proto") == "udp":
                ports.setdefault((src, flow.get("dst")), set()).update(int(p) for p in flow.get("ports") or [])
    lines = ["  %s -> %s %s/udp" % (src, dst, ",".join(str(p) for p in sorted(found)))
             for (src, dst), found in sorted(ports.items())]
    return lines or ["  none"]


def summary_lines(results, targets_by_host, html_path, render_text):
    """The verify playbook's printout: the UDP flows (not tried), then the TCP flows as the
    reachability table (render_text: plugin_utils/report.py's render_text, passed in so this
    module stays free of the report's imports)."""
    return (["UDP flows, not tried (most UDP services do not answer an empty datagram):"]
            + udp_lines(targets_by_host)
            + ["", "TCP flows, tried from each source host (HTML report: %s):" % html_path]
            + render_text(results).splitlines())
