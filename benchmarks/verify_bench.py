#!/usr/bin/env python3
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: `ansible-playbook portmatrix.xenserver.verify` on the 15-host lab, as a user runs it.

Builds the default lab (lab/estate.yml) under its own prefix, applies the site playbook, then
times whole verify runs: each with a fresh SSH control path (every source host logged in to anew,
as in a nightly run) and, after it, one that reuses the SSH masters of the run before. Prints the
seconds and the summary line of each run, and tears the lab down (also after a failure).
Goal: a run with fresh logins under 30 s. Exit 1 when it is missed or a flow fails.

Run as root with the venv that has ansible-core (tests/run makes .venv/core216):
  .venv/core216/bin/python benchmarks/verify_bench.py [--prefix vb-] [--runs 3]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOAL = 30.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default="pmxvb-", help="lab namespace prefix (default pmxvb-)")
    parser.add_argument("--runs", type=int, default=3, help="verify runs with fresh logins (default 3)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("verify_bench.py needs root (the lab's network namespaces)")
    state = "/tmp/" + args.prefix.rstrip("-")
    work = tempfile.mkdtemp(prefix=args.prefix + "bench.")
    collections = os.path.join(work, "collections")
    os.makedirs(os.path.join(collections, "ansible_collections", "portmatrix"))
    os.symlink(ROOT, os.path.join(collections, "ansible_collections", "portmatrix", "xenserver"))
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_NOCOLOR="1")
    labctl = [sys.executable, os.path.join(ROOT, "lab", "labctl"), "--prefix", args.prefix, "--state-dir", state]
    failed = False
    try:
        subprocess.run(labctl + ["up"], check=True, stdout=subprocess.DEVNULL)
        inventory = os.path.join(state, "inventory.yml")

        def playbook(name, control_dir):
            started = time.monotonic()
            done = subprocess.run([os.path.join(bindir, "ansible-playbook"), "-i", inventory,
                                   "-e", "ansible_control_path_dir=%s" % control_dir,
                                   "-e", "portmatrix_verify_report=%s" % os.path.join(work, "verify.html"),
                                   "portmatrix.xenserver." + name], env=env, cwd=work, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, universal_newlines=True, timeout=900, check=False)
            return time.monotonic() - started, done

        seconds, done = playbook("site", os.path.join(work, "cp-site"))
        if done.returncode != 0:
            sys.exit("the site playbook failed:\n" + done.stdout[-3000:])
        print("site: %.1f s" % seconds)
        for run in range(1, args.runs + 1):
            control = os.path.join(work, "cp-%d" % run)
            for kind, path in (("fresh logins", control), ("SSH masters reused", control)):
                seconds, done = playbook("verify", path)
                line = re.search(r'"(verify: \d+ flows[^"]*)"', done.stdout)
                print("verify run %d, %s: %.1f s, rc %d: %s" % (run, kind, seconds, done.returncode,
                                                              line.group(1) if line else done.stdout[-2000:]))
                failed = failed or done.returncode != 0 or (kind == "fresh logins" and seconds > GOAL)
        print("load average: %s" % " ".join("%.1f" % x for x in os.getloadavg()))
    finally:
        subprocess.run(labctl + ["down"], check=False, stdout=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
    print("goal: a verify run with fresh logins under %d s: %s" % (GOAL, "MISSED" if failed else "met"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
