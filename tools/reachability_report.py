#!/usr/bin/env python3
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print the lab probe's results as a reachability matrix a person can read.

One line per source -> destination: the ports/protocols found open (IPv4 and IPv6), how
many forbidden flows were refused, and every flow that was not as expected, in full.
Ends with "reachability: N passed, M failed".  Exit status 1 when anything failed.

Usage: labctl probe --flows F.json | tools/reachability_report.py
"""

import collections
import json
import sys


def report(results):
    rows = collections.OrderedDict()
    for result in sorted(results, key=lambda r: (r["src"], r["dst"], r["proto"], r["port"], r["family"])):
        rows.setdefault((result["src"], result["dst"]), []).append(result)
    lines = ["%-10s -> %-10s %-58s %s" % ("source", "destination", "open as expected (port/proto, v4+v6)", "refused as expected")]
    failed = []
    for (src, dst), items in rows.items():
        opened = collections.OrderedDict()
        refused = 0
        for item in items:
            if item["match"] is False:
                failed.append(item)
            elif item["observed"] == "open":
                opened.setdefault("%d/%s" % (item["port"], item["proto"]), set()).add("v%d" % item["family"])
            else:
                refused += 1
        ports = " ".join(p if fams == {"v4", "v6"} else "%s(%s)" % (p, ",".join(sorted(fams)))
                         for p, fams in opened.items()) or "-"
        lines.append("%-10s -> %-10s %-58s %d" % (src, dst, ports, refused))
    if failed:
        lines += ["", "NOT AS EXPECTED:"]
        for item in failed:
            lines.append("  %(src)s -> %(dst)s %(port)d/%(proto)s IPv%(family)d: expected %(expect)s, observed %(observed)s (%(detail)s)" % item)
    passed = len(results) - len(failed)
    lines += ["", "reachability: %d passed, %d failed" % (passed, len(failed))]
    return "\n".join(lines), not failed


def main():
    data = json.load(sys.stdin)
    text, ok = report(data["results"])
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
