# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flows of an inventory as files people hand on: CSV, JSON and Markdown.

Two views: per host pair (one row per source host, destination host, protocol and port)
and merged for perimeter change requests (one row per source group, destination group,
protocol and port list).  Pure text rendering; the action plugin writes the files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import filecmp
import io
import json
import os
import re

PAIR_COLUMNS = ("source_host", "source_component", "source_addresses", "destination_host", "destination_component",
                "destination_addresses", "protocol", "ports", "flows")
MERGED_COLUMNS = ("inventory", "generated", "source_group", "destination_group", "family", "protocol", "ports",
                  "purpose", "pool", "sources", "destinations", "source_hosts", "destination_hosts", "flows", "note")


def _csv(header, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def outbound_by_family(outbound):
    """engine.outbound_flows() rows split per address family of their sources (a rule never
    mixes IPv4 and IPv6), sorted by destination name, port, source group."""
    rows = []
    for o in outbound:
        for version in (4, 6):
            sources = [a for a in o["sources"] if (":" in a) == (version == 6)]
            if sources:
                rows.append(dict(o, family="IPv%d" % version, sources=sources))
    return sorted(rows, key=lambda o: (o["destination"], o["port"], o["source_group"], o["family"]))


def merged_csv(rows, outbound=(), inventory="", generated="", warnings=()):
    """The change-request rows (engine.merged_flows(), one address family each); outbound rows
    by name follow, their destination a DNS name.  Every row names the inventory and the date;
    the warnings are on the rows they concern (column note), so they are not repeated here."""
    lines = [[inventory, generated, r["source_group"], r["destination_group"], r["family"], r["protocol"],
              " ".join(str(p) for p in r["ports"]), r["purpose"], r["pool"], " ".join(r["sources"]),
              " ".join(r["destinations"]), " ".join(r["source_hosts"]), " ".join(r["destination_hosts"]),
              " ".join(r["flows"]), r["note"]] for r in rows]
    lines += [[inventory, generated, o["source_group"], "(internet, by name)", o["family"], o["protocol"], str(o["port"]),
               o["purpose"], "", " ".join(o["sources"]), o["destination"], " ".join(o["source_hosts"]), "",
               "outbound:" + o["id"], ""] for o in outbound_by_family(outbound)]
    return _csv(MERGED_COLUMNS, lines)


def merged_json(rows, outbound=(), inventory="", generated="", warnings=()):
    """The change request as JSON: the same rows as the CSV and the Markdown."""
    return as_json({"inventory": inventory, "generated": generated, "warnings": list(warnings), "flows": rows,
                    "outbound": outbound_by_family(outbound)})


def nfsv3_warnings(calls):
    """One line per unmanaged NFS filer whose NFSv3 side ports are assumed, not stated."""
    return ["%s: NFSv3 side ports assumed to be the Linux pins (%s), but the filer is not managed by the "
            "collection: state its ports (portmatrix_nfsv3_ports) or its appliance (portmatrix_nfs_appliance: "
            "netapp_ontap, linux)" % (host, ", ".join("%s %s" % (k, v) for k, v in call["settings"]["nfsv3_ports"].items()))
            for host, call in sorted(calls.items())
            if call.get("settings", {}).get("nfsv3_origin") == "assumed"]


INVENTORY_FILE_NAMES = ("hosts", "inventory", "main")
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def inventory_name(sources):
    """The inventory's name from Ansible's ansible_inventory_sources: the first source's
    directory name, or its file name without extension (its directory's name for a file
    called hosts, inventory or main)."""
    for source in sources:
        path = os.path.normpath(str(source))
        if not os.path.isdir(path):
            stem = os.path.splitext(os.path.basename(path))[0]
            if stem not in INVENTORY_FILE_NAMES:
                return stem
            path = os.path.dirname(os.path.abspath(path))
        return os.path.basename(os.path.abspath(path))
    return ""


def same_content(new_path, old_path, dated=False):
    """Whether the file written at new_path says what old_path says (dated: dates aside, so that
    an unchanged change request keeps the date its flows last changed)."""
    if not os.path.exists(old_path):
        return False
    if not dated:
        return filecmp.cmp(new_path, old_path, shallow=False)
    with open(new_path) as new, open(old_path) as old:
        return _DATE.sub("-", new.read()) == _DATE.sub("-", old.read())


def as_json(data):
    return json.dumps(data, indent=1, sort_keys=False) + "\n"


def _cell(text):
    return str(text).replace("|", "\\|")


def _csv_line(cells):
    """One CSV line of cells without its line end: the start or the end of a row (csv quotes
    each cell on its own, so a row's line is its parts' lines joined by a comma)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerow(cells)
    return out.getvalue()[:-1]


def write_pairs(groups, hosts, managed, csv_file, json_file, md_file):
    """Stream engine.pair_groups() into the three per-pair files in one pass: an estate of
    thousands of hosts has a million pairs, so no row is kept and nothing is repeated that a
    host table can say once (the JSON and Markdown list each host's addresses once; the CSV,
    for spreadsheets, has them on every row).  What a group's rows share is rendered once and
    each row is its source's cells joined to it.  hosts: name -> Host of the estate;
    managed: name -> bool.  Returns the number of rows."""
    csv_file.write(_csv_line(PAIR_COLUMNS) + "\n")
    json_file.write('{"pairs": [')
    md_file.write("# Flows of this inventory\n\nGenerated by portmatrix.xenserver.flows from the XenServer port matrix "
                  "and the inventory: one row per source host, destination host and protocol. The hosts' addresses "
                  "are in the table at the end; a source written as addresses comes from an extra rule.\n")
    spaced, sources_csv, quoted = {}, {}, {}

    def addresses(name):
        if name not in spaced:
            host = hosts.get(name)
            spaced[name] = " ".join(host.addresses) if host else ""
        return spaced[name]

    count, current, extra_sources, texts = 0, None, {}, {}
    for g in groups:
        if g.addresses is not None:  # an extra rule: its addresses are the source
            srcs, src_component, text = [""], "", " ".join(g.addresses)
            extra_sources.setdefault(g.flows[0], list(g.addresses))
        else:
            srcs, src_component, text = [s for s in g.sources if s != g.dst], g.src_component, None
        if not srcs:
            continue
        # A pair's ports and flows repeat for every source of a destination: render them once.
        shared = texts.get((g.ports, g.flows))
        if shared is None:
            shared = texts[(g.ports, g.flows)] = (" ".join(str(port) for port in g.ports), " ".join(g.flows),
                                                  json.dumps(list(g.ports)), json.dumps(list(g.flows)))
        ports, flows, ports_json, flows_json = shared
        if g.dst != current:
            current = g.dst
            dst_json = json.dumps(g.dst)
            md_file.write("\n## To %s%s\n\n| source | protocol | ports | flows |\n|---|---|---|---|\n"
                          % (g.dst, "" if managed.get(g.dst) else " (not managed by the collection)"))
        csv_tail = "," + _csv_line((g.dst, g.dst_component, addresses(g.dst), g.proto, ports, flows)) + "\n"
        json_tail = ', %s, "%s", %s, %s]' % (dst_json, g.proto, ports_json, flows_json)
        md_tail = " | %s | %s | %s |\n" % (g.proto, ports, flows)
        csv_heads = []
        for src in srcs:
            key = (src, src_component, text)
            head = sources_csv.get(key)
            if head is None:
                head = sources_csv[key] = _csv_line((src, src_component, addresses(src) if text is None else text))
            csv_heads.append(head)
        csv_file.write(csv_tail.join(csv_heads) + csv_tail)
        for src in srcs:
            if src not in quoted:
                quoted[src] = json.dumps(src)
        rows = "".join([",\n[%s%s" % (quoted[src], json_tail) for src in srcs])
        json_file.write(rows if count else rows[1:])
        md_file.write("".join(["| %s%s" % (src or text, md_tail) for src in srcs]))
        count += len(srcs)
    json_file.write('\n], "columns": ["src", "dst", "proto", "ports", "flows"], "hosts": {')
    md_file.write("\n## Hosts\n\n| host | components | addresses | managed |\n|---|---|---|---|\n")
    for index, (name, host) in enumerate(sorted(hosts.items())):
        json_file.write('%s\n%s: {"components": %s, "addresses": %s, "managed": %s, "windows": %s}' % (
            "," if index else "", json.dumps(name), json.dumps(list(host.components)),
            json.dumps(list(host.addresses)), "true" if managed.get(name) else "false",
            "true" if host.windows else "false"))
        md_file.write("| %s | %s | %s | %s |\n" % (name, ", ".join(host.components), ", ".join(host.addresses),
                                                   "yes" if managed.get(name) else "no"))
    json_file.write('\n}, "extra_rule_sources": %s}\n' % json.dumps(extra_sources))
    return count


def merged_markdown(rows, outbound=(), inventory="", generated="", warnings=()):
    lines = ["# Change request: flows between groups of %s" % (inventory or "this inventory"), "",
             "Inventory **%s**, generated %s by portmatrix.xenserver.flows from the XenServer port matrix. One row per "
             "source group, destination group, address family, protocol and port list, sorted by destination, "
             "port and source; same-pool flows are per pool (they never cross pools)." % (
                 _cell(inventory or "-"), generated or "-"), ""]
    if warnings:
        lines += ["## Warnings", ""] + ["- %s" % w for w in warnings] + [""]
    lines += ["| source group | destination group | IP | protocol | ports | purpose | pool | sources | destinations "
              "| flows | note |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            _cell(r["source_group"]), _cell(r["destination_group"]), r["family"], r["protocol"],
            ", ".join(str(p) for p in r["ports"]), _cell(r["purpose"]), _cell(r["pool"] or "-"),
            _cell(", ".join(r["sources"])), _cell(", ".join(r["destinations"])), _cell(", ".join(r["flows"])),
            _cell(r["note"])))
    if outbound:
        lines += ["", "## Outbound to the vendor's services, by name (perimeter or proxy rules, never host rules)", "",
                  "| source group | IP | source addresses | destination | protocol | port | purpose | source |",
                  "|---|---|---|---|---|---|---|---|"]
        for o in outbound_by_family(outbound):
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                _cell(o["source_group"]), o["family"], _cell(", ".join(o["sources"])), _cell(o["destination"]),
                o["protocol"], o["port"], _cell(o["purpose"]), _cell(o["source_ref"])))
    return "\n".join(lines) + "\n"
