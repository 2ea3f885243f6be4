# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify playbook on the lab, as a user runs it (issue 18 item 9): it tried one SSH wait_for per
flow (minutes on 15 hosts), printed 300 ok lines, never tried UDP, never saw a refused-as-expected flow
and logged in to hosts marked unmanaged."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

SUMMARY = re.compile(
    r"verify: (?P<flows>\d+) flows from (?P<sources>\d+) hosts: (?P<passed>\d+) passed \((?P<open>\d+) open as "
    r"expected, (?P<refused>\d+) refused as expected\), (?P<failed>\d+) failed \((?P<closed_in>\d+) closed but in "
    r"the matrix, (?P<open_not_in>\d+) open but not in the matrix, (?P<not_tried>\d+) not tried\), (?P<unknown>\d+) "
    r"unknown \(UDP, no answer\); UDP tried (?P<udp>\d+) \((?P<udp_open>\d+) answered\); not contacted "
    r"\(unmanaged\): (?P<unmanaged>[^\"]*)\"")


def accepted_logins(lab, host):
    with open(os.path.join(lab.host_dir(host), "sshd.log")) as handle:
        return sum(1 for line in handle if "Accepted publickey" in line)


def summary(done):
    found = SUMMARY.search(done.stdout)
    assert found, done.stdout[-4000:]
    return dict((k, v if k == "unmanaged" else int(v)) for k, v in found.groupdict().items())


def test_verify_probes_from_the_sources_and_never_logs_in_to_unmanaged_hosts(lab, run_playbook):
    lab.reset()
    assert run_playbook("portmatrix.xenserver.site").returncode == 0
    info = lab.info()["hosts"]
    # the filer (a destination: a NAS appliance) and xencenter (a source of flows) now marked unmanaged:
    # never logged in to; the flows to the filer are tried from managed hosts, none from xencenter
    # (a control path of its own: a login must not hide behind an SSH master of the site run)
    unmanaged = os.path.join(lab.state_dir, "verify-unmanaged.json")
    fresh = dict((host, {"ansible_control_path_dir": os.path.join(lab.state_dir, "cp-verify")}) for host in info)
    for host in ("filer", "xencenter"):
        fresh[host]["portmatrix_manage_firewall"] = False
    with open(unmanaged, "w") as handle:
        json.dump({"all": {"hosts": fresh}}, handle)
    report = os.path.join(lab.state_dir, "verify.html")
    logins = dict((host, accepted_logins(lab, host)) for host in ("filer", "xencenter", "pool-b1"))

    done = run_playbook("portmatrix.xenserver.verify", "-e", "portmatrix_verify_report=%s" % report,
                        inventories=[unmanaged])
    assert done.returncode == 0, done.stdout[-4000:]
    counts = summary(done)
    assert counts["passed"] > 300 and counts["failed"] == 0 and counts["unknown"] == 0, counts
    assert counts["refused"] > 0 and counts["udp"] > 0 and counts["udp_open"] > 0, counts
    assert counts["unmanaged"] == "filer, xencenter"
    for host in ("filer", "xencenter"):
        assert "ok: [%s]" % host not in done.stdout and "skipping: [%s]" % host in done.stdout
        assert accepted_logins(lab, host) == logins[host], "verify logged in to the unmanaged %s" % host
    assert accepted_logins(lab, "pool-b1") > logins["pool-b1"]  # the counter counts the probe's login
    assert "FAILED" not in done.stdout and "ok: [pool-a1] => (item" not in done.stdout  # no line per flow
    with open(report) as handle:
        page = handle.read()
    assert page.startswith("<!DOCTYPE html>") and "filer" in page  # flows to the filer were tried

    # A port the matrix does not allow, opened by hand (pool-b1 is outside clustered pool_a), and a
    # matrix flow closed by hand: both are failures, named, and the run fails.
    opened = ["INPUT", "-s", info["pool-b1"]["ipv4"], "-p", "tcp", "--dport", "8892", "-j", "ACCEPT"]
    closed = ["INPUT", "-s", info["pool-a2"]["ipv4"], "-p", "tcp", "--dport", "27000", "-j", "REJECT"]
    lab.exec("pool-a1", ["iptables", "-I"] + opened, check=True)
    lab.exec("license", ["iptables", "-I"] + closed, check=True)
    try:
        done = run_playbook("portmatrix.xenserver.verify", "-e", "portmatrix_verify_report=%s" % report,
                            inventories=[unmanaged])
    finally:
        lab.exec("pool-a1", ["iptables", "-D"] + opened, check=True)
        lab.exec("license", ["iptables", "-D"] + closed, check=True)
    assert done.returncode != 0, done.stdout[-4000:]
    counts = summary(done)
    assert (counts["failed"], counts["open_not_in"], counts["closed_in"]) == (2, 1, 1), counts
    failures = [line.strip(' ",') for line in done.stdout.splitlines() if "FAILED pool-" in line]
    assert failures[0].startswith("FAILED pool-a2 -> license 27000/tcp: closed but in the matrix (license_request")
    assert failures[1].startswith("FAILED pool-b1 -> pool-a1 8892/tcp: open but not in the matrix")
    assert len(failures) == 2, failures
