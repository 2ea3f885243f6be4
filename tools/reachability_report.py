#!/usr/bin/env python3
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print the lab probe's results as a reachability matrix a person can read; write it as HTML.

One aligned row per source -> destination with something open or not as expected (the
ports open as expected, how many flows were refused as expected, what was not as
expected), one line per source for the pairs where everything was refused as expected,
every flow that was not as expected in full, and last "reachability: N passed, M failed".
With --html FILE, also a self-contained HTML page (grid, who-talks-to-whom diagram,
counts, mismatches, every flow: plugins/plugin_utils/report.py).  Exit status 1 when
anything failed, 2 on bad input.

Usage: labctl probe --flows F.json | tools/reachability_report.py [--html FILE] [--expected F.json] [--title T]
"""

import argparse
import json
import os
import sys

import collection_source



def load_report():
    return collection_source.load("plugins/plugin_utils/report.py", "portmatrix_report")


def with_flow_names(results, expected):
    """Name each result's flow from the expected-flows list (tools/expected_flows.py's "why")."""
    why = {(f["src"], f["dst"], f["proto"], f["port"], f.get("family", 4)): f.get("why") for f in expected}
    return [dict(r, flow=r.get("flow") or why.get((r["src"], r["dst"], r["proto"], r["port"], r["family"])))
            for r in results]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--html", metavar="FILE", help="also write the HTML report to FILE")
    parser.add_argument("--expected", metavar="FILE", help="expected flows (tools/expected_flows.py) to name each flow")
    parser.add_argument("--title", default="portmatrix reachability", help="title of the HTML report")
    args = parser.parse_args(argv)
    report = load_report()
    try:
        data = json.load(sys.stdin)
        results = data["results"] if isinstance(data, dict) else data
        if args.expected:
            with open(args.expected) as handle:
                results = with_flow_names(results, json.load(handle))
        text = report.render_text(results)
    except (ValueError, KeyError, TypeError, OSError, report.ReportError) as exc:
        sys.stderr.write("reachability_report: not probe results: %s\n" % exc)
        return 2
    body, _sep, summary_line = text.rpartition("\n")
    print(body)
    if args.html:
        with open(args.html, "w") as handle:
            handle.write(report.render_html(results, title=args.title))
        print("HTML report: %s" % os.path.abspath(args.html))
    print(summary_line)
    return 0 if report.summarize(results)["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
