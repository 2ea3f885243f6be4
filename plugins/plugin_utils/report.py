# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reachability reports from probe/verify results: a summary, a text table, an HTML page.

Controller-side and pure: no file I/O, standard library only.  A result is a dict with
src, dst, proto, port, family, expect, observed, match, detail, and optionally flow and
purpose (what the lab's probe and the verify playbook produce).

- summarize(results): the counts and the summary line "reachability: N passed, M failed";
- pairs(results): one entry per source -> destination (open ports, refused count, mismatches,
  and a status: ok / bad / none);
- render_text(results): the aligned text table, summary line last;
- render_html(results, title, generated_at): one self-contained page (inline CSS, SVG and a
  small inline script; nothing fetched) with the reachability grid, a who-talks-to-whom
  diagram, the counts, the mismatches and every probed flow.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import datetime
import html
import math
import re

PROTOCOL_ORDER = ("tcp", "udp")
STATUS_TEXT = {"ok": "as expected", "bad": "NOT as expected", "none": "nothing expected open"}


class ReportError(ValueError):
    """Results that are not probe/verify results."""


Pair = collections.namedtuple("Pair", ["src", "dst", "status", "open_ports", "refused", "mismatches", "flows"])
# open_ports: {(proto, port): set of families} observed open as expected; refused: how many flows
# were refused as expected; mismatches: results with match False; flows: every result of the pair.

_REQUIRED = ("src", "dst", "proto", "port", "family", "observed", "match")


def _natural_key(name):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(name))]


def _checked(results):
    checked = []
    for index, result in enumerate(results or []):
        if not isinstance(result, dict):
            raise ReportError("result %d is not a mapping: %r" % (index, result))
        missing = [key for key in _REQUIRED if key not in result]
        if missing:
            raise ReportError("result %d lacks %s: %r" % (index, ", ".join(missing), result))
        checked.append(result)
    return sorted(checked, key=lambda r: (_natural_key(r["src"]), _natural_key(r["dst"]),
                                          PROTOCOL_ORDER.index(r["proto"]) if r["proto"] in PROTOCOL_ORDER else 9,
                                          int(r["port"]), int(r["family"])))


def summarize(results):
    """Counts of the results; "line" is the summary line of the text report."""
    checked = _checked(results)
    failed = sum(1 for r in checked if r["match"] is False)
    passed = len(checked) - failed
    hosts = set(r["src"] for r in checked) | set(r["dst"] for r in checked)
    return collections.OrderedDict([
        ("flows", len(checked)),
        ("passed", passed),
        ("failed", failed),
        ("open", sum(1 for r in checked if r["observed"] == "open")),
        ("refused", sum(1 for r in checked if r["observed"] != "open")),
        ("hosts", sorted(hosts, key=_natural_key)),
        ("line", "reachability: %d passed, %d failed" % (passed, failed)),
    ])


def pairs(results):
    """One Pair per source -> destination that was probed, in natural host order."""
    grouped = collections.OrderedDict()
    for result in _checked(results):
        grouped.setdefault((result["src"], result["dst"]), []).append(result)
    found = []
    for (src, dst), flows in grouped.items():
        open_ports = collections.OrderedDict()
        refused = 0
        mismatches = [r for r in flows if r["match"] is False]
        for result in flows:
            if result["match"] is False:
                continue
            if result["observed"] == "open":
                open_ports.setdefault((result["proto"], int(result["port"])), set()).add(int(result["family"]))
            else:
                refused += 1
        if mismatches:
            status = "bad"
        elif any(r.get("expect") == "open" for r in flows):
            status = "ok"
        else:
            status = "none"
        found.append(Pair(src, dst, status, open_ports, refused, mismatches, flows))
    return found


def format_ports(open_ports):
    """{(proto, port): families} -> '80,443/tcp 123/udp 8080/tcp(v4)': both families unless marked."""
    both = collections.OrderedDict((proto, []) for proto in PROTOCOL_ORDER)
    single = []
    for (proto, port), families in sorted(open_ports.items(), key=lambda item: (PROTOCOL_ORDER.index(item[0][0]), item[0][1])):
        if set(families) >= {4, 6}:
            both[proto].append(str(port))
        else:
            single.append("%d/%s(%s)" % (port, proto, ",".join("v%d" % f for f in sorted(families))))
    parts = ["%s/%s" % (",".join(ports), proto) for proto, ports in both.items() if ports]
    return " ".join(parts + single)


def mismatch_ports(mismatches):
    """'open, not expected: 21064/tcp; closed, expected open: 2049/tcp' for a pair's mismatches."""
    parts = []
    for observed, label in (("open", "open, not expected"), ("refused", "closed, expected open")):
        ports = collections.OrderedDict()
        for result in mismatches:
            if (result["observed"] == "open") is (observed == "open"):
                ports.setdefault((result["proto"], int(result["port"])), set()).add(int(result["family"]))
        if ports:
            parts.append("%s: %s" % (label, format_ports(ports)))
    return "; ".join(parts)


def describe_mismatch(result):
    text = "%s -> %s %s/%s IPv%s: expected %s, observed %s (%s)" % (
        result["src"], result["dst"], result["port"], result["proto"], result["family"],
        result.get("expect"), result["observed"], result.get("detail", ""))
    if result.get("flow"):
        text += " [%s]" % result["flow"]
    return text


def _columns(rows):
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def render_text(results):
    """The reachability table a person reads: aligned whatever the host names, summary line last.

    One row per source -> destination with something open or not as expected; the pairs
    where everything was refused as expected are counted per source on one line each.
    """
    summary = summarize(results)
    found = pairs(results)
    rows = [("source", "destination", "refused as expected", "open as expected (port/protocol, IPv4 and IPv6 unless marked)")]
    quiet = collections.OrderedDict()  # source -> [(destination, refused)] with nothing open and no mismatch
    for pair in found:
        if pair.open_ports or pair.mismatches:
            ports = format_ports(pair.open_ports)
            if pair.mismatches:
                ports = (ports + "  " if ports else "") + "!! %s" % mismatch_ports(pair.mismatches)
            rows.append((pair.src, "-> " + pair.dst, str(pair.refused), ports))
        else:
            quiet.setdefault(pair.src, []).append(pair)
    lines = _columns(rows) if len(rows) > 1 else []
    if quiet:
        lines += ["", "nothing open, every flow refused as expected:"]
        lines += _columns([(src, "%d flows" % sum(p.refused for p in items),
                            "-> %s" % ", ".join(p.dst for p in items)) for src, items in quiet.items()])
    mismatches = [r for pair in found for r in pair.mismatches]
    if mismatches:
        lines += ["", "NOT AS EXPECTED (%d):" % len(mismatches)]
        lines += ["  " + describe_mismatch(r) for r in mismatches]
    lines += ["", summary["line"]]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- HTML

# Above this many hosts the grid and the diagram show groups (pools, components), not hosts, and
# the page lists flows per host and destination group instead of one row per flow: at 500 hosts a
# host grid has 250,000 cells and a host diagram thousands of arrows (issue 18, item 8).
GROUP_VIEW_HOSTS = 40
# Flows not as expected listed in full at the top of the page; the rest are counted per host.
MAX_FAILURES_LISTED = 500

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em;color:#1d232a;background:#fff}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.6em 0 .5em}
.meta{color:#5b6570;margin:0 0 1em}
.summary{font-size:1.15em;font-weight:600;padding:.5em .8em;border-radius:6px;display:inline-block}
.summary.pass{background:#e3f4e6;color:#17582a}.summary.fail{background:#fbe3e3;color:#8a1414}
.counts{margin:.5em 0;color:#37414b}
nav a{margin-right:1em}
.legend span{display:inline-block;margin-right:1.2em}
.swatch{display:inline-block;width:1em;height:1em;border-radius:3px;vertical-align:-.15em;margin-right:.3em}
table{border-collapse:separate;border-spacing:0}
.scroll{max-height:75vh;overflow:auto;border:1px solid #d6dbe0;display:inline-block;max-width:100%}
#grid th,#grid td{border:1px solid #d6dbe0;text-align:center;padding:0}
#grid th{font-weight:600;font-size:.85em;background:#f4f6f8;padding:.3em .5em}
#grid thead th{position:sticky;top:0;z-index:2;vertical-align:bottom}
#grid thead th span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;display:inline-block;max-height:12em;overflow:hidden}
#grid tbody th{text-align:right;position:sticky;left:0;z-index:1;white-space:nowrap}
#grid thead th:first-child{left:0;z-index:3}
#grid td{min-width:2.6em;height:2.2em;font-size:.8em;cursor:pointer}
td.ok{background:#3fa55b;color:#fff}td.bad{background:#d93636;color:#fff;font-weight:700}
td.none{background:#c9ced4;color:#4a525a}td.self{background:#fff}
td.selected{outline:3px solid #1d232a;outline-offset:-3px}
#cell-detail{white-space:pre-wrap;background:#f4f6f8;border:1px solid #d6dbe0;border-radius:6px;padding:.6em .8em;min-height:2.5em;max-width:60em}
.flows td,.flows th{border-bottom:1px solid #d6dbe0;padding:.15em .5em;font-size:.85em;text-align:left;vertical-align:top}
.flows thead th{position:sticky;top:0;background:#f4f6f8;z-index:1}
.flows tr.bad td{background:#fbe3e3}
details.group{margin:.3em 0}details.group>summary{cursor:pointer;font-weight:600}
details.group.bad>summary{color:#8a1414}
.hosts td.bad{background:#fbe3e3;color:#8a1414;font-weight:400}
:target{outline:3px solid #d93636}
svg text{font-size:12px;fill:#1d232a}
svg .edge{fill:none;stroke:#7d8a96;stroke-width:1.3;opacity:.75}
svg .edge.bad{stroke:#d93636;stroke-width:2.6;opacity:1}
svg .edge.missing{stroke-dasharray:6 4}
svg .node circle{fill:#2f6fb0;stroke:#fff;stroke-width:2}
svg .node.bad circle{fill:#d93636}
"""

_SCRIPT = """
(function () {
  var detail = document.getElementById('cell-detail');
  var cells = document.querySelectorAll('#grid td[data-detail]');
  for (var i = 0; i < cells.length; i++) {
    cells[i].addEventListener('click', function (event) {
      var selected = document.querySelector('#grid td.selected');
      if (selected) { selected.classList.remove('selected'); }
      event.currentTarget.classList.add('selected');
      detail.textContent = event.currentTarget.getAttribute('data-detail');
    });
  }
  // A link to a host inside a closed group opens the group (and shows the host).
  function reveal() {
    var target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === 'DETAILS') { node.open = true; }
    }
    if (target) { target.scrollIntoView(); }
  }
  window.addEventListener('hashchange', reveal);
  reveal();
})();
"""


def _e(value):
    return html.escape(str(value), quote=True)


def host_groups(results, groups=None):
    """host -> group: a result's src_group / dst_group, else groups (host -> name, for example its
    pool or component), else the host name without its trailing number (pool-a1 -> pool-a)."""
    found = {}
    for r in results:
        for end in ("src", "dst"):
            host = r[end]
            if host in found:
                continue
            label = r.get(end + "_group") or (groups or {}).get(host)
            found[host] = str(label) if label else (re.sub(r"[-_.]?\d+$", "", str(host)) or str(host))
    return found


def _cell_detail(pair, limit=None):
    lines = ["%s -> %s: %s" % (pair.src, pair.dst, STATUS_TEXT[pair.status])]
    if pair.open_ports:
        lines.append("open as expected: %s" % format_ports(pair.open_ports))
    if pair.refused:
        lines.append("refused as expected: %d flow(s)" % pair.refused)
    shown = pair.mismatches if limit is None else pair.mismatches[:limit]
    for result in shown:
        lines.append("NOT AS EXPECTED: %s" % describe_mismatch(result))
    if len(shown) < len(pair.mismatches):
        lines.append("... and %d more not as expected (listed at the top of the page)" % (len(pair.mismatches) - len(shown)))
    return "\n".join(lines)


def _cell_text(pair):
    if pair.status == "bad":
        return "\u2717%d" % len(pair.mismatches)
    if pair.open_ports:
        return str(len(pair.open_ports))
    return "\u00b7"


def _grid(found, sources, destinations, grouped=False):
    by_pair = dict(((p.src, p.dst), p) for p in found)
    what = "groups" if grouped else "hosts"
    rows = ['<div class="scroll"><table id="grid" aria-label="reachability grid: source %s (rows) by destination '
            '%s (columns)">' % (what, what), '<thead><tr><th scope="col">from \\ to</th>']
    rows += ['<th scope="col"><span>%s</span></th>' % _e(dst) for dst in destinations]
    rows.append("</tr></thead><tbody>")
    for src in sources:
        cells = ['<tr><th scope="row">%s</th>' % _e(src)]
        for dst in destinations:
            pair = by_pair.get((src, dst))
            if pair is None:
                same = src == dst and not grouped
                cells.append('<td class="%s" title="%s -> %s: %s"></td>' % (
                    "self" if same else "none", _e(src), _e(dst), "same host" if same else "not probed"))
                continue
            detail = _cell_detail(pair, limit=10 if grouped else None)
            title = detail if not grouped else detail.partition("\n")[0] + " (click for ports)"
            cells.append('<td class="%s" data-src="%s" data-dst="%s" title="%s" data-detail="%s">%s</td>' % (
                pair.status, _e(src), _e(dst), _e(title), _e(detail), _e(_cell_text(pair))))
        cells.append("</tr>")
        rows.append("".join(cells))
    rows.append("</tbody></table></div>")
    return "\n".join(rows)


def _diagram(found, hosts, grouped=False):
    """Who talks to whom, as SVG: hosts (or groups) on a circle, one curved arrow per pair with
    traffic (a loop for traffic inside a group)."""
    count = max(len(hosts), 1)
    radius = 120 + 12 * count if grouped else 110 + 24 * count
    margin = 150 if grouped else 110
    size = 2 * (radius + margin)
    centre = size / 2.0
    position = {}
    for index, host in enumerate(hosts):
        angle = -math.pi / 2 + 2 * math.pi * index / count
        position[host] = (centre + radius * math.cos(angle), centre + radius * math.sin(angle), angle)
    bad_hosts = set()  # destinations whose firewall did not do what the matrix says
    edges = []
    for pair in found:
        talked = [r for r in pair.flows if r["observed"] == "open"]
        if not talked and not pair.mismatches:
            continue
        if pair.mismatches:
            bad_hosts.add(pair.dst)
        x1, y1, angle = position[pair.src]
        x2, y2, _b = position[pair.dst]
        node = 13.0
        if pair.src == pair.dst:  # inside a group: a loop outwards
            ox, oy = math.cos(angle), math.sin(angle)
            px, py = -oy, ox
            sx, sy = x1 + node * (ox + px * 0.6), y1 + node * (oy + py * 0.6)
            ex, ey = x1 + (node + 3) * (ox - px * 0.6), y1 + (node + 3) * (oy - py * 0.6)
            c1 = (x1 + 70 * ox + 35 * px, y1 + 70 * oy + 35 * py)
            c2 = (x1 + 70 * ox - 35 * px, y1 + 70 * oy - 35 * py)
            shape = "M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f" % (sx, sy, c1[0], c1[1], c2[0], c2[1], ex, ey)
        else:
            length = math.hypot(x2 - x1, y2 - y1) or 1.0
            ux, uy = (x2 - x1) / length, (y2 - y1) / length
            # Bend to the right of the direction of travel, so a -> b and b -> a are two arcs.
            bend = 0.12 * length
            cx, cy = (x1 + x2) / 2.0 - uy * bend, (y1 + y2) / 2.0 + ux * bend
            sx, sy = _towards(x1, y1, cx, cy, node)
            ex, ey = _towards(x2, y2, cx, cy, node + 3)
            shape = "M%.1f,%.1f Q%.1f,%.1f %.1f,%.1f" % (sx, sy, cx, cy, ex, ey)
        classes = "edge"
        if pair.mismatches:
            classes += " bad"
            if not talked:
                classes += " missing"
        marker = "arrow-bad" if pair.mismatches else "arrow"
        label = "%s -> %s: %s" % (pair.src, pair.dst, format_ports(
            collections.OrderedDict(((r["proto"], int(r["port"])), {4, 6}) for r in talked)) or "nothing open")
        if pair.mismatches:
            label += "; %d NOT as expected" % len(pair.mismatches)
        edges.append('<path class="%s" d="%s" marker-end="url(#%s)" data-src="%s" data-dst="%s"><title>%s</title>'
                     '</path>' % (classes, shape, marker, _e(pair.src), _e(pair.dst), _e(label)))
    nodes = []
    for host in hosts:
        x, y, angle = position[host]
        lx, ly = x + (80 if grouped else 24) * math.cos(angle), y + (80 if grouped else 24) * math.sin(angle)
        anchor = "middle" if abs(math.cos(angle)) < 0.3 else ("start" if math.cos(angle) > 0 else "end")
        nodes.append('<g class="node%s" data-%s="%s"><title>%s</title><circle cx="%.1f" cy="%.1f" r="11"/>'
                     '<text x="%.1f" y="%.1f" text-anchor="%s" dominant-baseline="middle">%s</text></g>' % (
                         " bad" if host in bad_hosts else "", "group" if grouped else "host", _e(host), _e(host),
                         x, y, lx, ly, anchor, _e(host)))
    return "\n".join([
        '<svg id="diagram" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        'role="img" aria-label="who talks to whom">' % (size, size, size, size),
        '<defs>',
        '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#7d8a96"/></marker>',
        '<marker id="arrow-bad" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#d93636"/></marker>',
        '</defs>',
        '<g class="edges">'] + edges + ['</g>', '<g class="nodes">'] + nodes + ['</g>', '</svg>'])


def _towards(x, y, cx, cy, distance):
    length = math.hypot(cx - x, cy - y) or 1.0
    return x + (cx - x) / length * distance, y + (cy - y) / length * distance


def _host_link(host, anchors):
    return '<a href="#%s">%s</a>' % (anchors[host], _e(host)) if host in anchors else _e(host)


def _flow_table(rows, table_id, anchors=None):
    """Flows, one row each; with anchors (host -> id), the hosts link to their place in the
    groups below and each row has an id of its own (f-1, f-2, ...)."""
    head = ("source", "destination", "protocol", "port", "IP", "expected", "observed", "detail", "flow")
    lines = ['<table class="flows" id="%s"><thead><tr>%s</tr></thead><tbody>' % (
        table_id, "".join("<th>%s</th>" % h for h in head))]
    for index, r in enumerate(rows, 1):
        lines.append('<tr class="%s"%s><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>IPv%s</td><td>%s</td>'
                     '<td>%s</td><td>%s</td><td>%s</td></tr>' % (
                         "bad" if r["match"] is False else "ok", ' id="f-%d"' % index if anchors is not None else "",
                         _host_link(r["src"], anchors or {}), _host_link(r["dst"], anchors or {}), _e(r["proto"]),
                         _e(r["port"]), _e(r["family"]), _e(r.get("expect") or ""), _e(r["observed"]),
                         _e(r.get("detail") or ""), _e(r.get("flow") or r.get("purpose") or "")))
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _by_group(found, group_of):
    """Per group: its hosts, and per source host its flows summarised per destination group."""
    groups = collections.OrderedDict()
    for name in sorted(set(group_of.values()), key=_natural_key):
        groups[name] = collections.OrderedDict()
    for host in sorted(group_of, key=_natural_key):
        groups[group_of[host]][host] = collections.OrderedDict()
    incoming = collections.OrderedDict((host, collections.OrderedDict()) for host in sorted(group_of, key=_natural_key))
    for pair in found:
        incoming[pair.dst][group_of[pair.src]] = incoming[pair.dst].get(group_of[pair.src], 0) + 1
        per_dst = groups[group_of[pair.src]][pair.src].setdefault(
            group_of[pair.dst], {"hosts": 0, "open": collections.OrderedDict(), "refused": 0, "bad": []})
        per_dst["hosts"] += 1
        for key, families in pair.open_ports.items():
            per_dst["open"].setdefault(key, set()).update(families)
        per_dst["refused"] += pair.refused
        per_dst["bad"].extend(pair.mismatches)
    return groups, incoming


def _drill_down(found, group_of, anchors, failure_ids):
    """Every group as a <details> (groups with failures first, open), each host a row with what
    it reached, per destination group; a host's failures link to their row at the top."""
    groups, incoming = _by_group(found, group_of)
    failing = set(group_of[p.src] for p in found if p.mismatches) | set(group_of[p.dst] for p in found if p.mismatches)
    order = sorted(groups, key=lambda g: (g not in failing, _natural_key(g)))
    out = []
    for index, name in enumerate(order):
        hosts = groups[name]
        bad = sum(len(d["bad"]) for per_dst in hosts.values() for d in per_dst.values())
        out.append('<details class="group%s" id="g-%d"%s><summary>%s: %d host(s)%s</summary>' % (
            " bad" if name in failing else "", index, " open" if name in failing else "", _e(name), len(hosts),
            ", %d flow(s) from here NOT as expected" % bad if bad else (", involved in a failure" if name in failing else "")))
        out.append('<table class="flows hosts"><thead><tr><th>host</th><th>to group (hosts): open as expected'
                   '</th><th>refused as expected</th><th>not as expected</th><th>probed from group (hosts)</th></tr>'
                   '</thead><tbody>')
        for host, per_dst in hosts.items():
            reached = "<br>".join("%s (%d): %s" % (_e(g), d["hosts"], _e(format_ports(d["open"]) or "-"))
                                  for g, d in per_dst.items())
            refused = sum(d["refused"] for d in per_dst.values())
            bad_flows = [r for d in per_dst.values() for r in d["bad"]]
            links = " ".join('<a href="#f-%d">%s %s/%s</a>' % (failure_ids[id(r)], _e(r["dst"]), _e(r["port"]), _e(r["proto"]))
                             if id(r) in failure_ids else "%s %s/%s" % (_e(r["dst"]), _e(r["port"]), _e(r["proto"]))
                             for r in bad_flows)
            sources = ", ".join("%s (%d)" % (_e(g), n) for g, n in incoming[host].items())
            out.append('<tr><td id="%s">%s</td><td>%s</td><td>%d</td><td%s>%s</td><td>%s</td></tr>' % (
                anchors[host], _e(host), reached or "-", refused, ' class="bad"' if bad_flows else "", links or "",
                sources or "-"))
        out.append("</tbody></table></details>")
    return "\n".join(out)


def render_html(results, title="portmatrix reachability", generated_at=None, groups=None):
    """One self-contained HTML page (no network needed to open it) for the results.

    Flows not as expected come first, each linked to its hosts; then the grid and the
    who-talks-to-whom diagram (of hosts up to GROUP_VIEW_HOSTS hosts, of groups above), then
    every group as a drill-down of its hosts.  groups: host -> group (see host_groups)."""
    summary = summarize(results)
    if generated_at is None:
        generated_at = datetime.datetime.now(datetime.timezone.utc)
    if isinstance(generated_at, datetime.datetime):
        generated_at = generated_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    checked = _checked(results)
    found = pairs(checked)
    group_of = host_groups(checked, groups)
    grouped = len(summary["hosts"]) > GROUP_VIEW_HOSTS
    anchors = dict((host, "h-%d" % index) for index, host in enumerate(summary["hosts"]))
    mismatches = [r for r in checked if r["match"] is False]
    listed = mismatches[:MAX_FAILURES_LISTED]
    failure_ids = dict((id(r), index) for index, r in enumerate(listed, 1))
    if grouped:
        view = pairs([dict(r, src=group_of[r["src"]], dst=group_of[r["dst"]]) for r in checked])
        nodes = sorted(set(group_of.values()), key=_natural_key)
    else:
        view, nodes = found, summary["hosts"]
    sources = [n for n in nodes if any(p.src == n for p in view)]
    destinations = [n for n in nodes if any(p.dst == n for p in view)]
    verdict = "pass" if not summary["failed"] else "fail"
    what = "group" if grouped else "host"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>%s</title>" % _e(title),
        "<style>%s</style>" % _CSS,
        "</head><body>",
        "<h1>%s</h1>" % _e(title),
        '<p class="meta">generated %s &middot; %d hosts in %d groups &middot; %d flows probed</p>' % (
            _e(generated_at), len(summary["hosts"]), len(set(group_of.values())), summary["flows"]),
        '<p id="summary" class="summary %s">%s</p>' % (verdict, _e(summary["line"])),
        '<p class="counts">%d observed open, %d refused; %d source &rarr; destination pairs, %d not as expected</p>' % (
            summary["open"], summary["refused"], len(found), sum(1 for p in found if p.status == "bad")),
        '<nav><a href="#failures">not as expected</a><a href="#grid-section">grid</a><a href="#diagram-section">'
        'diagram</a><a href="#groups">groups and hosts</a></nav>',
        '<h2 id="failures">Not as expected (%d)</h2>' % len(mismatches),
        (('<p>The first %d are listed; every host with one is marked in its group below.</p>' % len(listed)
          if len(listed) < len(mismatches) else "") + '<div class="scroll">%s</div>' % _flow_table(listed, "mismatches", anchors))
        if mismatches else '<p id="mismatches">None: every flow was as expected.</p>',
        '<h2 id="grid-section">Reachability grid (%ss)</h2>' % what,
        '<p class="legend"><span><i class="swatch" style="background:#3fa55b"></i>every expected flow open, '
        'nothing unexpected</span><span><i class="swatch" style="background:#d93636"></i>something not as '
        'expected</span><span><i class="swatch" style="background:#c9ced4"></i>nothing expected open</span></p>',
        "<p>Rows: source %s, columns: destination %s. A cell shows how many ports are open (&#x2717; and a number: "
        "how many flows are not as expected). Hover over a cell, or click it for its ports.</p>" % (what, what),
        _grid(view, sources, destinations, grouped),
        '<pre id="cell-detail" aria-live="polite">Click a cell for its ports.</pre>',
        '<h2 id="diagram-section">Who talks to whom (%ss)</h2>' % what,
        '<p class="legend"><span>an arrow per source &rarr; destination %s with a flow observed open (hover for '
        'its ports)</span><span style="color:#d93636">red: not as expected (dashed: expected open, found '
        'closed); a red %s: its firewall did not do what the matrix says</span></p>' % (what, what),
        _diagram(view, nodes, grouped),
        '<h2 id="groups">Groups and hosts</h2>',
        "<p>Each group opens to its hosts: per host, the destination groups it reached (how many hosts, which "
        "ports), the flows refused as expected, the flows not as expected (linked to the list at the top), and "
        "the groups it was probed from. Groups with a flow not as expected come first, open.</p>",
        _drill_down(found, group_of, anchors, failure_ids),
    ]
    if not grouped:
        parts += ["<details><summary>Every probed flow (%d)</summary>" % len(checked),
                  _flow_table(checked, "all-flows"), "</details>"]
    else:
        parts.append("<p>The %d flows are summarised per host above; the text report "
                     "(reachability_text) lists each pair.</p>" % len(checked))
    parts += ["<script>%s</script>" % _SCRIPT, "</body></html>", ""]
    return "\n".join(parts)


def _rows_table(rows, columns, table_id):
    lines = ['<table class="flows" id="%s"><thead><tr>%s</tr></thead><tbody>' % (
        table_id, "".join("<th>%s</th>" % _e(c) for c in columns))]
    lines += ['<tr class="bad">%s</tr>' % "".join("<td>%s</td>" % _e("" if r.get(c) is None else r[c]) for c in columns)
              for r in rows]
    lines.append("</tbody></table>")
    return "\n".join(lines)


def render_perimeter_html(result, title="portmatrix perimeter check"):
    """One self-contained page for a perimeter check (plugin_utils/aerleon.check()): what the
    network team's policy misses and what it allows beyond the estate's flows."""
    missing, extra = result["missing"], result["extra"]
    verdict = "fail" if missing or extra else "pass"
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', "<title>%s</title>" % _e(title),
        "<style>%s</style>" % _CSS, "</head><body>", "<h1>%s</h1>" % _e(title),
        '<p class="meta">%s &middot; %d flows of the estate &middot; %d terms read</p>' % (
            _e(result["directory"]), result["flows"], result["terms"]),
        '<p id="summary" class="summary %s">perimeter: %d missing, %d extra</p>' % (verdict, len(missing), len(extra)),
        "<h2>Missing (%d): flows of the estate the policy does not accept</h2>" % len(missing),
        _rows_table(missing, ("term", "source", "destination", "protocol", "port", "denied_by"), "missing")
        if missing else '<p id="missing">None.</p>',
        "<h2>Extra (%d): what accept terms allow beyond the estate's flows</h2>" % len(extra),
        _rows_table(extra, ("file", "term", "source", "destination", "protocol", "ports"), "extra")
        if extra else '<p id="extra">None.</p>',
        "</body></html>", "",
    ]
    return "\n".join(parts)
