# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probe results recorded from the lab, and a parser for the HTML report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys
from html.parser import HTMLParser

import pytest

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def load_recorded(name="probe-lab-reset.json"):
    with open(os.path.join(FIXTURES, name)) as handle:
        data = json.load(handle)
    return data, [dict(zip(data["columns"], row)) for row in data["rows"]]


@pytest.fixture
def recorded():
    """(the recording's header, its results): a real lab probe with 186 mismatches."""
    return load_recorded()


class ReportPage(HTMLParser):
    """What a test needs from the report: elements by id, grid cells, flow-table rows, text."""

    def __init__(self, text):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.ids = {}           # id -> (tag, attrs)
        self.text_of = {}       # id -> text inside the element
        self.cells = {}         # (src, dst) -> attrs of the grid cell
        self.grid_headers = []  # th texts of #grid
        self.svg_hosts = []     # data-host of the diagram's nodes
        self.svg_groups = []    # data-group of the diagram's nodes (a diagram of groups)
        self.svg_edges = []     # (src, dst, class) of the diagram's arrows
        self.tables = {}        # table id -> list of rows (list of cell texts)
        self.tags = []          # every start tag: (tag, attrs)
        self._open = []         # stack of [tag, id or None]
        self._collect = {}      # id -> list of text pieces, while inside
        self._table = None
        self._row = None
        self._cell = None
        self._in_grid_th = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        element_id = attrs.get("id")
        if element_id:
            self.ids[element_id] = (tag, attrs)
            self._collect[element_id] = []
        if tag not in ("meta", "br", "hr", "img", "input", "link", "circle", "path"):
            self._open.append([tag, element_id])
        if tag == "table":
            self._table = attrs.get("id")
            self.tables.setdefault(self._table, [])
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        if tag == "td" and self._table == "grid" and "data-src" in attrs:
            self.cells[(attrs["data-src"], attrs["data-dst"])] = attrs
        if tag == "g" and "data-host" in attrs:
            self.svg_hosts.append(attrs["data-host"])
        if tag == "g" and "data-group" in attrs:
            self.svg_groups.append(attrs["data-group"])
        if tag == "path" and "data-src" in attrs:
            self.svg_edges.append((attrs["data-src"], attrs["data-dst"], attrs.get("class", "")))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell).strip()
            self._row.append(text)
            if tag == "th" and self._table == "grid":
                self.grid_headers.append(text)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        while self._open:
            open_tag, element_id = self._open.pop()
            if element_id:
                self.text_of[element_id] = "".join(self._collect.pop(element_id, []))
            if open_tag == tag:
                break

    def handle_data(self, data):
        for pieces in self._collect.values():
            pieces.append(data)
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture
def parse_page():
    """parse_page(html_text) -> ReportPage."""
    return ReportPage


def results_500():
    """(results, host -> group) of an estate of 500 hosts, as a verify run sees it: 30 pools of 16
    (each host reaches its 15 peers on 443 over IPv4 and IPv6, two filers, a license server), 8 NFS
    filers, 4 license servers, 4 XenCenters (443 to every pool host), 4 backup hosts refused as
    expected; one flow is not as expected, deep in the middle: pool17-h09 -> filer2 2049/tcp."""
    groups, results = {}, []
    pools = [["pool%02d-h%02d" % (p, h) for h in range(1, 17)] for p in range(1, 31)]
    named = (("nfs_filers", ["filer%d" % i for i in range(1, 9)]),
             ("license_servers", ["license%d" % i for i in range(1, 5)]),
             ("xencenters", ["xencenter%d" % i for i in range(1, 5)]),
             ("backup", ["backup%d" % i for i in range(1, 5)]))
    for number, members in enumerate(pools, 1):
        groups.update((host, "pool%02d" % number) for host in members)
    for name, hosts in named:
        groups.update((host, name) for host in hosts)
    filers, licenses, xencenters, backups = [hosts for _name, hosts in named]

    def add(src, dst, port, family=4, expect="open", flow=""):
        results.append({"src": src, "dst": dst, "proto": "tcp", "port": port, "family": family, "expect": expect,
                        "observed": expect, "match": True,
                        "detail": "connected" if expect == "open" else "ECONNREFUSED", "flow": flow})

    for members in pools:
        for src in members:
            for dst in members:
                if src != dst:
                    add(src, dst, 443, 4, flow="pool_management_api")
                    add(src, dst, 443, 6, flow="pool_management_api")
            for filer in filers[:2]:
                add(src, filer, 2049, flow="nfsv4")
            add(src, licenses[0], 27000, flow="license_server")
    for xencenter in xencenters:
        for members in pools:
            for dst in members:
                add(xencenter, dst, 443, flow="xencenter_api")
    for backup in backups:
        add(backup, licenses[0], 27000, expect="refused")
        for filer in filers:
            add(backup, filer, 2049, expect="refused")
    bad = next(r for r in results if (r["src"], r["dst"]) == ("pool17-h09", "filer2"))
    bad.update(observed="refused", match=False, detail="ECONNREFUSED")
    assert len(set(groups)) == 500
    return results, groups


# The action plugin stand-ins (tests/unit/plugins/action/action_harness.py), for test_from_inventory.py.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "action"))
