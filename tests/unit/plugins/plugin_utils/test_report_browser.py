# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML report opened in a real headless browser (Debian's chromium): no console
message at all, the grid is in the rendered DOM, and clicking a cell shows its ports.

tests/run installs chromium (apt-get, as root).  Without it the test is skipped, unless CI
is set: there it fails.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import subprocess

import pytest

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import report
from ansible_collections.portmatrix.xenserver.tests.unit.plugins.plugin_utils.conftest import results_500

BROWSERS = ("chromium", "chromium-browser")
# Chromium logs every console message (log, warning, error, uncaught exception) of the
# page as "...:INFO:CONSOLE:<line>] "<message>", source: <url> (<line>)" with --enable-logging=stderr.
CONSOLE = re.compile(r":CONSOLE[:(]")
# Appended to a copy of the page: click the first bad cell, as a person would.
CLICK = ("<script>document.querySelector('#grid td.bad').dispatchEvent("
         "new MouseEvent('click', {bubbles: true}));</script>")


def _browser():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed; tests/run installs it (apt-get install chromium) as root")
    pytest.skip("chromium is not installed (Debian package chromium; tests/run installs it when run as root)")


def _open(browser, path, profile):
    """The DOM after load, and the browser's log lines."""
    result = subprocess.run(
        [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=%s" % profile,
         "--enable-logging=stderr", "--v=0", "--dump-dom", "file://%s" % path],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout, result.stderr.splitlines()


def test_report_opens_in_chromium_without_console_messages(recorded, parse_page, tmp_path):
    browser = _browser()
    _header, results = recorded
    html_text = report.render_html(results, title="lab probe", generated_at="2026-11-25 17:05 UTC")
    page_path = tmp_path / "report.html"
    page_path.write_text(html_text)
    dom, log = _open(browser, str(page_path), str(tmp_path / "profile"))
    assert [line for line in log if CONSOLE.search(line)] == []
    page = parse_page(dom)
    expected = parse_page(html_text)
    assert page.text_of["summary"] == "reachability: 1110 passed, 186 failed"
    assert set(page.cells) == set(expected.cells) and len(page.cells) == len(report.pairs(results))
    assert sorted(a["class"] for a in page.cells.values()) == sorted(a["class"] for a in expected.cells.values())
    assert len(page.svg_hosts) == 12 and len(page.tables["all-flows"]) == len(results) + 1


def test_clicking_a_cell_shows_its_ports(recorded, parse_page, tmp_path):
    browser = _browser()
    _header, results = recorded
    html_text = report.render_html(results, generated_at="x")
    page_path = tmp_path / "click.html"
    page_path.write_text(html_text.replace("</body>", CLICK + "</body>"))
    dom, log = _open(browser, str(page_path), str(tmp_path / "profile"))
    assert [line for line in log if CONSOLE.search(line)] == []
    page = parse_page(dom)
    first_bad = [attrs for attrs in parse_page(html_text).cells.values() if attrs["class"] == "bad"][0]
    assert page.text_of["cell-detail"] == first_bad["data-detail"]
    assert page.text_of["cell-detail"].startswith("%s -> %s: NOT as expected" % (first_bad["data-src"], first_bad["data-dst"]))
    selected = [pair for pair, attrs in page.cells.items() if "selected" in attrs["class"].split()]
    assert selected == [(first_bad["data-src"], first_bad["data-dst"])]


def test_a_page_with_a_script_error_is_caught(tmp_path):
    """The console check itself: a broken script must show up in the log."""
    browser = _browser()
    page_path = tmp_path / "broken.html"
    page_path.write_text(report.render_html([], generated_at="x").replace("</body>", "<script>no_such_function();</script></body>"))
    _dom, log = _open(browser, str(page_path), str(tmp_path / "profile"))
    assert [line for line in log if CONSOLE.search(line) and "no_such_function is not defined" in line]


# The page at 500 hosts must stay small enough to open and mail: measured 226 KB (the page before
# issue 18 was 22.8 MB for the same results).
BUDGET_500 = 1000 * 1000


def test_500_hosts_fit_the_budget_and_the_failing_flow_comes_first(parse_page, tmp_path):
    browser = _browser()
    results, groups = results_500()
    html_text = report.render_html(results, title="500 hosts", generated_at="x", groups=groups)
    assert len(html_text.encode("utf-8")) < BUDGET_500
    page_path = tmp_path / "500.html"
    page_path.write_text(html_text)
    dom, log = _open(browser, str(page_path), str(tmp_path / "profile"))
    assert [line for line in log if CONSOLE.search(line)] == []
    page = parse_page(dom)
    assert page.text_of["summary"] == "reachability: %d passed, 1 failed" % (len(results) - 1)
    # failures first: their table comes before the grid, the diagram and the groups, its first row is the flow
    order = [attrs.get("id") for _tag, attrs in page.tags if attrs.get("id")]
    assert order.index("mismatches") < order.index("grid") < order.index("diagram") < order.index("groups")
    assert page.tables["mismatches"][1][:4] == ["pool17-h09", "filer2", "tcp", "2049"]
    link = [a["href"] for t, a in page.tags if t == "a" and a.get("href", "").startswith("#h-")][0]
    assert page.text_of[link[1:]] == "pool17-h09"  # the link leads to the host's row in its group
    # groups, not hosts: 34 nodes and a grid of groups with the one red cell
    assert len(page.svg_groups) == 34 and page.svg_hosts == []
    assert [pair for pair, attrs in page.cells.items() if attrs["class"] == "bad"] == [("pool17", "nfs_filers")]
    assert "all-flows" not in page.tables


def test_a_link_to_a_host_opens_its_group(parse_page, tmp_path):
    """Groups without a failure are closed; following a link to one of their hosts opens them."""
    browser = _browser()
    results, groups = results_500()
    page_path = tmp_path / "500.html"
    page_path.write_text(report.render_html(results, generated_at="x", groups=groups))
    closed = parse_page(page_path.read_text())
    host_id = next(i for i, text in closed.text_of.items() if text == "pool03-h05")
    details = [a for t, a in closed.tags if t == "details" and a.get("class") == "group"]
    assert details and all("open" not in a for a in details if a.get("class") == "group" and "bad" not in a["class"])
    result = subprocess.run(
        [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--user-data-dir=%s" % (tmp_path / "profile"), "--dump-dom", "file://%s#%s" % (page_path, host_id)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120, check=False)
    opened = parse_page(result.stdout)
    pool03 = [a for t, a in opened.tags if t == "details" and a.get("id") == closed_group_id(closed, "pool03")]
    assert pool03 and "open" in pool03[0]


def closed_group_id(page, name):
    """The id of the group whose summary starts with name."""
    return next(i for i, text in page.text_of.items() if i.startswith("g-") and text.startswith(name + ":"))
