# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify playbook's plan and report, as plain functions (no Ansible needed).

probes(estate, calls, dest_flows, targets): per source host, what its reachability_probe
    task tries: every flow of the matrix from it (expected open) and a bounded sample of
    what the matrix does not allow (expected refused); hosts marked unmanaged are never
    sources (verify never logs in to them) and never get an expected-refused probe.
results(plan, registered): the probe results of every source as reachability results
    (plugin_utils/report.py renders those), each with its verdict.
report(plan, registered, html_path): results, counts, and the lines the playbook prints
    (one summary line, then the failures only).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import ipaddress

from ansible_collections.portmatrix.xenserver.plugins.module_utils import planner
from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import engine

REFUSED_PER_SOURCE = 32  # expected-refused destinations per source: a sample, spread over the sources
NEVER_SAMPLED = frozenset([("tcp", 22)])  # SSH: the controllers' guard and admin access keep it open
# What a probe saw, read as open or not (reachability_probe's observed values).
SEEN_CLOSED = ("refused", "timeout")
NOT_TESTED = ("not_tried", "error")


def _family(address):
    return 6 if ":" in address else 4


def _networks(addresses):
    found = []
    for address in addresses or ():
        try:
            found.append(ipaddress.ip_network(str(address), strict=False))
        except ValueError:
            continue
    return found


def _covers(networks, addresses):
    """Whether any of the addresses lies in one of the networks."""
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if any(ip.version == n.version and ip in n for n in networks):
            return True
    return False


def _public(call):
    """{(proto, port)} the host leaves open to everyone (its firewall_rules public_ports)."""
    specs = (call.get("args") or {}).get("public_ports", planner.DEFAULT_PUBLIC_PORTS)
    return set((proto, port) for port, proto in (planner.parse_port_spec(s) for s in specs or ()))


def _addresses(host, families):
    """The host's single addresses (no networks) of the given families."""
    return [a for a in host.addresses if "/" not in a and _family(a) in families]


def targets(estate, calls, dest_flows):
    """Per source host, what it must reach: [{dst, addresses, proto, ports, flows}] (engine.pairs)."""
    by_source = {}
    for pair in engine.pairs(estate, calls, dest_flows):
        if pair.src:
            by_source.setdefault(pair.src, []).append(
                {"dst": pair.dst, "addresses": list(estate.hosts[pair.dst].addresses), "proto": pair.proto,
                 "ports": list(pair.ports), "flows": list(pair.flows)})
    return by_source


def probes(estate, calls, dest_flows, targets):
    """{source host: [{dst, address, proto, port, expect, flow}]}: the matrix's flows from each
    contactable host (managed, not Windows) to every destination address of a family both hosts
    have, expected open; and per pair of managed hosts one port the destination restricts and
    the source may not reach (TCP first, lowest port), expected refused: to at most
    REFUSED_PER_SOURCE destinations per source, spread so that every one is tried by some source.

    targets: inventory_flows' per-source flows ({src: [{dst, addresses, proto, ports, flows}]})."""
    sources = [h for h in sorted(estate.hosts) if estate.hosts[h].managed]
    families = dict((h, set((calls.get(h) or {}).get("settings", {}).get("families") or (4, 6)))
                    for h in estate.hosts)
    restricted, extra = {}, {}  # managed destination -> {(proto, port)}, [(networks, proto, ports)]
    for flow in dest_flows:
        call = calls.get(flow.dst) or {}
        if not call.get("manage"):
            continue
        if flow.sources[:1] == ("",):
            extra.setdefault(flow.dst, []).append((_networks(flow.sources[1:]), flow.proto, set(flow.ports)))
        else:
            restricted.setdefault(flow.dst, set()).update((flow.proto, p) for p in flow.ports)
    for dst in restricted:
        restricted[dst] -= _public(calls[dst]) | NEVER_SAMPLED
    plan, destinations = collections.OrderedDict(), sorted(restricted)
    for position, src in enumerate(sources):
        src_families = set(_family(a.split("/")[0]) for a in estate.hosts[src].addresses)
        own = [a for a in estate.hosts[src].addresses if "/" not in a]
        items, seen, allowed = [], set(), {}
        for flow in (targets or {}).get(src) or []:
            dst = flow["dst"]
            allowed.setdefault(dst, set()).update((flow["proto"], int(p)) for p in flow.get("ports") or [])
            for address in flow.get("addresses") or []:
                if "/" in address or _family(address) not in families.get(dst, {4, 6}) & src_families:
                    continue
                for port in flow.get("ports") or []:
                    key = (dst, address, flow["proto"], int(port))
                    if key not in seen:
                        seen.add(key)
                        items.append({"dst": dst, "address": address, "proto": flow["proto"], "port": int(port),
                                      "expect": "open", "flow": ",".join(flow.get("flows") or [])})
        for dst in _sample([d for d in destinations if d != src], position):
            reachable = set(allowed.get(dst, ()))
            for networks, proto, ports in extra.get(dst, ()):
                if _covers(networks, own):
                    reachable.update((proto, p) for p in ports)
            candidates = sorted(restricted[dst] - reachable, key=lambda pp: (pp[0] != "tcp", pp[1]))
            if not candidates:
                continue
            proto, port = candidates[0]
            for address in _addresses(estate.hosts[dst], families[dst] & src_families):
                items.append({"dst": dst, "address": address, "proto": proto, "port": port, "expect": "refused",
                              "flow": "not in the matrix"})
        if items:
            plan[src] = items
    return plan


def _sample(destinations, offset, limit=REFUSED_PER_SOURCE):
    """At most limit destinations, each source starting elsewhere (offset) so that together the
    sources reach every destination: bounded at any inventory size."""
    if len(destinations) <= limit:
        return destinations
    start = (offset * limit) % len(destinations)
    return (destinations[start:] + destinations[:start])[:limit]


def verdict(expect, observed):
    """(observed as reported, match): match True/False, None when UDP got no answer."""
    if observed in NOT_TESTED:
        return observed, False
    if observed == "unknown":
        return "unknown", None
    seen = "open" if observed == "open" else "refused"
    return seen, seen == expect


def results(plan, registered):
    """Reachability results of every planned probe: registered is {source: the probe task's result}
    (a source without a result, or whose task failed, has every probe not tried)."""
    out = []
    for src, items in plan.items():
        found = registered.get(src) or {}
        answers = found.get("results") if not found.get("failed") and not found.get("unreachable") else None
        problem = None
        if not isinstance(answers, list) or len(answers) != len(items):
            problem = (found.get("msg") or ("skipped" if found.get("skipped") else "no probe result")).splitlines()
            problem = "probe did not run on %s: %s" % (src, problem[0] if problem else "no message")
            answers = [None] * len(items)
        for item, answer in zip(items, answers):
            observed = (answer or {}).get("observed", "not_tried")
            seen, match = verdict(item["expect"], observed)
            detail = problem or (answer or {}).get("detail", "")
            out.append({"src": src, "dst": item["dst"], "proto": item["proto"], "port": int(item["port"]),
                        "family": _family(item["address"]), "address": item["address"], "expect": item["expect"],
                        "observed": seen, "match": match, "flow": item.get("flow", ""),
                        "detail": "%s (%s)" % (detail, item["address"])})
    return out


def counts(found):
    """The numbers of the summary line."""
    tally = dict((k, 0) for k in (
        "flows", "passed", "failed", "open", "refused_as_expected", "open_not_in_matrix", "closed_in_matrix",
        "not_tried", "unknown", "udp_tried", "udp_open"))
    for r in found:
        tally["flows"] += 1
        tally["udp_tried"] += r["proto"] == "udp" and r["observed"] not in NOT_TESTED
        tally["udp_open"] += r["proto"] == "udp" and r["observed"] == "open"
        if r["match"] is None:
            tally["unknown"] += 1
        elif r["match"]:
            tally["passed"] += 1
            tally["open" if r["expect"] == "open" else "refused_as_expected"] += 1
        else:
            tally["failed"] += 1
            if r["observed"] in NOT_TESTED:
                tally["not_tried"] += 1
            elif r["expect"] == "refused":
                tally["open_not_in_matrix"] += 1
            else:
                tally["closed_in_matrix"] += 1
    return tally


def summary_line(tally, sources, not_contacted):
    return ("verify: %d flows from %d hosts: %d passed (%d open as expected, %d refused as expected), %d failed "
            "(%d closed but in the matrix, %d open but not in the matrix, %d not tried), %d unknown (UDP, no "
            "answer); UDP tried %d (%d answered); not contacted (unmanaged): %s" % (
                tally["flows"], sources, tally["passed"], tally["open"], tally["refused_as_expected"],
                tally["failed"], tally["closed_in_matrix"], tally["open_not_in_matrix"], tally["not_tried"],
                tally["unknown"], tally["udp_tried"], tally["udp_open"], ", ".join(not_contacted) or "none"))


def failure_line(r):
    if r["observed"] in NOT_TESTED:
        why = "not tried"
    elif r["expect"] == "open":
        why = "closed but in the matrix (%s)" % (r["flow"] or "flow")
    else:
        why = "open but not in the matrix"
    return "  FAILED %s -> %s %s/%s: %s: %s" % (r["src"], r["dst"], r["port"], r["proto"], why, r["detail"])


def report(plan, registered, html_path, not_contacted=()):
    """{results, counts, lines}: lines is the summary line, the failures (one line each, but one
    line for a source whose probe did not run) and where the HTML report is."""
    found = results(plan, registered)
    tally = counts(found)
    lines = [summary_line(tally, len(plan), sorted(not_contacted))]
    silent = set()
    for r in found:
        if r["match"] is not False:
            continue
        if r["detail"].startswith("probe did not run on "):
            if r["src"] not in silent:
                silent.add(r["src"])
                lines.append("  FAILED %s: %s" % (r["src"], r["detail"].rsplit(" (", 1)[0]))
            continue
        lines.append(failure_line(r))
    lines.append("HTML report: %s" % html_path)
    return {"results": found, "counts": tally, "lines": lines}
