# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reachability report (text and HTML) from a real lab probe recording."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

import pytest

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import report

FLOW_KEY = ("src", "dst", "proto", "port", "family", "expect", "observed")


def _key(result):
    return tuple(str(result[k]) for k in FLOW_KEY)


def test_summary_counts_the_recording(recorded):
    header, results = recorded
    summary = report.summarize(results)
    assert summary["flows"] == header["summary"]["flows"] == 1296
    assert summary["failed"] == header["summary"]["mismatches"] == 186
    assert summary["passed"] == 1296 - 186
    assert summary["open"] == header["summary"]["open"]
    assert summary["line"] == "reachability: 1110 passed, 186 failed"
    assert len(summary["hosts"]) == 12 and "outsider" in summary["hosts"]


def test_html_parses_and_holds_every_host_and_every_probed_flow(recorded, parse_page):
    _header, results = recorded
    page = parse_page(report.render_html(results, title="lab", generated_at="2026-11-25 17:05 UTC"))
    hosts = set(r["src"] for r in results) | set(r["dst"] for r in results)
    assert set(page.svg_hosts) == hosts
    assert hosts <= set(page.grid_headers)
    rows = page.tables["all-flows"][1:]
    assert len(rows) == len(results)
    shown = sorted(tuple(row[i] for i in (0, 1, 2, 3)) + (row[4].replace("IPv", ""), row[5], row[6]) for row in rows)
    assert shown == sorted(_key(r) for r in results)
    # every probed pair has its cell, and its ports are in the cell's hover text
    for pair in report.pairs(results):
        cell = page.cells[(pair.src, pair.dst)]
        for (proto, port) in pair.open_ports:
            assert re.search(r"\b%d\b" % port, cell["title"]) and proto in cell["title"]


def test_counts_in_the_page_match_the_summary_line(recorded, parse_page):
    _header, results = recorded
    html_text = report.render_html(results, generated_at="2026-11-25 17:05 UTC")
    page = parse_page(html_text)
    line = report.render_text(results).splitlines()[-1]
    assert page.text_of["summary"] == line == "reachability: 1110 passed, 186 failed"
    assert page.ids["summary"][1]["class"] == "summary fail"
    assert len(page.tables["mismatches"]) - 1 == 186
    # failures first, each host linked to its row in the groups below (which are of hosts up to 40 hosts)
    order = [attrs.get("id") for _tag, attrs in page.tags if attrs.get("id")]
    assert order.index("mismatches") < order.index("grid") < order.index("diagram") < order.index("groups")
    links = set(a["href"][1:] for t, a in page.tags if t == "a" and a.get("href", "").startswith("#h-"))
    assert links and links <= set(page.ids) and set(page.text_of[i] for i in links) <= set(report.summarize(results)["hosts"])
    assert page.ids["f-1"][0] == "tr" and "f-186" in page.ids


def test_groups_come_from_the_results_the_mapping_or_the_names():
    results = [{"src": "pool-a1", "dst": "nas01", "proto": "tcp", "port": 2049, "family": 4, "observed": "open",
                "match": True, "dst_group": "filers"},
               {"src": "xc", "dst": "pool-b12", "proto": "tcp", "port": 443, "family": 4, "observed": "open",
                "match": True}]
    assert report.host_groups(results, {"xc": "xencenters"}) == {
        "pool-a1": "pool-a", "nas01": "filers", "xc": "xencenters", "pool-b12": "pool-b"}


def test_mismatches_make_red_cells_and_nothing_else_does(recorded, parse_page):
    _header, results = recorded
    page = parse_page(report.render_html(results, generated_at="x"))
    bad_pairs = set((r["src"], r["dst"]) for r in results if r["match"] is False)
    assert ("pool-a1", "filer") in bad_pairs and ("xencenter", "pool-b1") in bad_pairs
    for pair, attrs in page.cells.items():
        assert (attrs["class"] == "bad") is (pair in bad_pairs), pair
    assert page.cells[("pool-a1", "infra")]["class"] == "ok"
    assert page.cells[("filer", "infra")]["class"] == "none"
    assert "NOT AS EXPECTED: pool-a1 -> filer 2049/tcp IPv4: expected open, observed refused" in page.cells[("pool-a1", "filer")]["title"]
    red_edges = set((src, dst) for src, dst, classes in page.svg_edges if "bad" in classes.split())
    assert red_edges == bad_pairs


def test_one_flipped_flow_turns_its_cell_red(recorded, parse_page):
    _header, results = recorded
    results = copy.deepcopy([r for r in results if r["match"] is not False])
    page = parse_page(report.render_html(results, generated_at="x"))
    assert set(a["class"] for a in page.cells.values()) == {"ok", "none"}
    assert page.text_of["summary"] == "reachability: %d passed, 0 failed" % len(results)
    victim = next(r for r in results if (r["src"], r["dst"], r["port"]) == ("pool-a1", "license", 27000))
    victim.update(observed="refused", detail="ECONNREFUSED", match=False)
    page = parse_page(report.render_html(results, generated_at="x"))
    assert page.cells[("pool-a1", "license")]["class"] == "bad"
    assert page.text_of["summary"] == "reachability: %d passed, 1 failed" % (len(results) - 1)


def test_page_needs_no_network(recorded, parse_page):
    _header, results = recorded
    html_text = report.render_html(results, generated_at="x")
    page = parse_page(html_text)
    assert not [t for t, a in page.tags if t in ("link", "img", "iframe", "object", "embed")]
    assert not [a for t, a in page.tags if "src" in a or ("href" in a and not a["href"].startswith("#"))]
    assert not re.search(r"url\((?!#)|@import", html_text)
    assert re.findall(r"https?://[^\"' )]+", html_text) == ["http://www.w3.org/2000/svg"]


def test_names_are_escaped(parse_page):
    results = [{"src": "<script>x</script>", "dst": "b&b", "proto": "tcp", "port": 22, "family": 4,
                "expect": "open", "observed": "open", "detail": "connected", "match": True, "flow": '"q"'}]
    html_text = report.render_html(results, title="<b>t</b>", generated_at="x")
    assert "<script>x</script>" not in html_text and "<b>t</b>" not in html_text
    page = parse_page(html_text)
    assert page.cells[("<script>x</script>", "b&b")]["class"] == "ok"


def _table_rows(text):
    lines = text.splitlines()
    return lines[:lines.index("")]


def test_text_table_is_aligned_whatever_the_names(recorded):
    _header, results = recorded
    long_name = "storage-filer-in-the-basement-01"
    renamed = [dict(r, dst=long_name if r["dst"] == "filer" else r["dst"],
                    src=long_name if r["src"] == "filer" else r["src"]) for r in results]
    for data in (results, renamed):
        rows = _table_rows(report.render_text(data))
        header = rows[0]
        starts = [header.index(h) for h in ("destination", "refused as expected", "open as expected")]
        for row in rows[1:]:
            for start in starts:
                assert row[start - 2:start] == "  " and row[start] != " ", (row, start)


def test_text_has_no_empty_rows_and_ends_with_the_summary(recorded):
    _header, results = recorded
    text = report.render_text(results)
    for row in _table_rows(text)[1:]:
        fields = row.split()
        assert "/" in fields[-1] or "!!" in row, row  # open ports or what was not as expected
        assert set(fields) - {"-", "->"}, row
    assert text.splitlines()[-1] == "reachability: 1110 passed, 186 failed"
    assert "filer      68 flows   -> apiclient, infra, license, pool-a1, pool-a2, pool-a3, san, vm1" in text
    assert "pool-a1 -> filer 2049/tcp IPv4: expected open, observed refused (EHOSTUNREACH) [nfsv3]" in text
    assert len(re.findall(r"^  \S+ -> ", text, re.M)) == 186


def test_text_row_names_ports_open_and_not_as_expected(recorded):
    _header, results = recorded
    rows = _table_rows(report.render_text(results))
    xc_b1 = [r for r in rows if r.startswith("xencenter ") and "-> pool-b1" in r][0]
    assert xc_b1.split()[4:] == ["22,443/tcp", "!!", "open,", "not", "expected:", "21064/tcp", "5404,5405/udp"]


def test_format_ports_marks_single_family():
    ports = {("tcp", 443): {4, 6}, ("tcp", 80): {4, 6}, ("udp", 123): {6}, ("tcp", 8080): {4}}
    assert report.format_ports(ports) == "80,443/tcp 8080/tcp(v4) 123/udp(v6)"


@pytest.mark.parametrize("results, message", [
    ([{"src": "a"}], "result 0 lacks dst, proto, port, family, observed, match"),
    (["a"], "result 0 is not a mapping"),
])
def test_bad_results_are_refused(results, message):
    with pytest.raises(report.ReportError) as err:
        report.render_html(results)
    assert message in str(err.value)
