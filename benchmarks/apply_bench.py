#!/usr/bin/env python3
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: one atomic apply against one command per rule, on real netfilter.

For a pool host with N pool peers (N = 8, 64, 256) it loads XenServer 8's stock rules into
a scratch network namespace (removed at the end), then measures
  - the collection's engine: plan + read + one iptables-restore + read back (IPv4);
  - the layout one-task-per-rule tools produce: one `iptables -A` per (source, port).
It prints seconds and kernel rule counts and checks the goals:
  - an apply for 64 peers takes under 1 s;
  - rules grow with peers plus ports: 64 peers need at most 64 + 30 rules.
Run as root: benchmarks/apply_bench.py [--prefix mb-]   (exit 1 when a goal is missed)

The scratch namespace is <prefix>a. Without --prefix each run takes a prefix no namespace on the
machine starts with (pmxb + three random characters), so that runs beside other labs or benchmarks
never touch theirs; a namespace that exists already is left alone and the run stops.
"""

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{1,7}-$")  # the lab's rule (lab/portmatrix_lab/lab.py)
NS = None  # <prefix>a, set by main()
STOCK = """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:RH-Firewall-1-INPUT - [0:0]
:xapi-INPUT - [0:0]
-A INPUT -j xapi-INPUT
-A INPUT -j RH-Firewall-1-INPUT
-A RH-Firewall-1-INPUT -i lo -j ACCEPT
-A RH-Firewall-1-INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A RH-Firewall-1-INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A RH-Firewall-1-INPUT -j REJECT --reject-with icmp-host-prohibited
-A xapi-INPUT -p tcp -m tcp --dport 10809 -j ACCEPT
COMMIT
"""


def namespaces():
    done = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, universal_newlines=True, check=False)
    return [line.split()[0] for line in done.stdout.splitlines() if line.strip()]


def free_prefix(taken, rng=random):
    """A prefix that no name in `taken` starts with."""
    for _attempt in range(100):
        prefix = "pmxb%s-" % "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _position in range(3))
        if not any(name.startswith(prefix) for name in taken):
            return prefix
    raise RuntimeError("no free benchmark prefix")


def parse_args(argv, taken=()):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", help="scratch namespace prefix (2-8 of [a-z0-9] then -); default: a free one")
    args = parser.parse_args(argv)
    if args.prefix is None:
        args.prefix = free_prefix(taken)
    elif not PREFIX_RE.match(args.prefix):
        parser.error("--prefix %r: 2-8 of [a-z0-9], starting with a letter, then -" % args.prefix)
    return args


def _collection_importable():
    """The checkout as ansible_collections.portmatrix.xenserver, in a directory of this run's own."""
    tree = tempfile.mkdtemp(prefix="pmx-apply-bench-")
    link = os.path.join(tree, "ansible_collections", "portmatrix", "xenserver")
    os.makedirs(os.path.dirname(link))
    os.symlink(ROOT, link)
    sys.path.insert(0, tree)
    return tree


def in_ns(argv, data=None):
    done = subprocess.run(["ip", "netns", "exec", NS] + argv, input=data, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    return done.returncode, done.stdout, done.stderr


def peers(n):
    return ["198.18.%d.%d" % (i // 250, i % 250 + 1) for i in range(n)]  # the lab range, never 10/8


def engine_apply(n):
    from ansible_collections.portmatrix.xenserver.plugins.module_utils import planner
    from ansible_collections.portmatrix.xenserver.plugins.module_utils.iptables import IptablesBackend
    from ansible_collections.portmatrix.xenserver.plugins.module_utils.transaction import Transaction
    in_ns(["iptables-restore"], STOCK)
    started = time.monotonic()
    plan = planner.build_plan(["pool_host"], pool_peers=peers(n), clustered=True, features=["ha"],
                              peers={"xencenter": ["198.19.0.1"], "api_client": ["198.19.2.0/24"]})
    # persist=False in both: the namespace has no mount namespace of its own, so a save would write
    # the machine's /etc.
    result = Transaction(IptablesBackend(in_ns, [4], persist=False), plan, persist=False).run()
    elapsed = time.monotonic() - started
    assert result["changed"], result
    return elapsed, result["rule_count"][4]


def per_rule_apply(n):
    in_ns(["iptables-restore"], STOCK)
    ports = [("tcp", 80), ("tcp", 443), ("tcp", 8892), ("tcp", 21064), ("udp", 5404), ("udp", 5405), ("udp", 694)]
    started = time.monotonic()
    count = 0
    for address in peers(n):
        for proto, port in ports:
            rc, _, err = in_ns(["iptables", "-I", "RH-Firewall-1-INPUT", "1", "-s", address, "-p", proto,
                                "--dport", str(port), "-j", "ACCEPT"])
            assert rc == 0, err
            count += 1
    return time.monotonic() - started, count


def main(argv=None):
    global NS  # pylint: disable=global-statement
    if os.geteuid() != 0:
        sys.exit("run as root: the benchmark uses a scratch network namespace")
    taken = namespaces()
    NS = parse_args(sys.argv[1:] if argv is None else argv, taken).prefix + "a"
    if NS in taken:
        sys.exit("namespace %s exists (another run?): left alone; pick another --prefix" % NS)
    tree = _collection_importable()
    subprocess.run(["ip", "netns", "add", NS], check=True)
    print("scratch namespace: %s" % NS)
    failures = []
    try:
        print("%-6s %-28s %-34s" % ("peers", "engine: seconds / rules", "one command per rule: seconds / rules"))
        for n in (8, 64, 256):
            engine_s, engine_rules = engine_apply(n)
            naive_s, naive_rules = per_rule_apply(n)
            print("%-6d %7.3f s / %-17d %7.3f s / %d" % (n, engine_s, engine_rules, naive_s, naive_rules))
            if n == 64:
                if engine_s >= 1.0:
                    failures.append("apply for 64 peers took %.2f s (goal: under 1 s)" % engine_s)
                # one dispatch rule per address in the accepting and in the reject-only chain
                if engine_rules > 2 * 64 + 30:
                    failures.append("%d rules for 64 peers (goal: at most 158)" % engine_rules)
    finally:
        subprocess.run(["ip", "netns", "del", NS], check=False)
        shutil.rmtree(tree, ignore_errors=True)
    for failure in failures:
        print("GOAL MISSED: " + failure)
    print("goals: %s" % ("met" if not failures else "missed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
