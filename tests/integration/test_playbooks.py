# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks as users run them, on the lab: what a first real use hit (issue 11).

Each test names the defect it would have caught."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys
import time

import pytest

from conftest import roll_back_a_change

NFS_FILES = ("/etc/nfs.conf", "/etc/sysconfig/nfs")


def digest(lab, host, path):
    done = lab.exec(host, ["sh", "-c", "test -e %s && sha256sum %s || echo missing" % (path, path)], check=True)
    return done.stdout.split()[0]


def accepted_logins(lab, host):
    """sshd's 'Accepted publickey' lines of the host: how often anyone logged in."""
    path = os.path.join(lab.host_dir(host), "sshd.log")
    with open(path) as handle:
        return sum(1 for line in handle if "Accepted publickey" in line)


def host_vars_file(lab, name, hosts):
    path = os.path.join(lab.state_dir, name + ".json")
    with open(path, "w") as handle:
        json.dump({"all": {"hosts": hosts}}, handle)
    return path


def assert_ok(done):
    assert done.returncode == 0, done.stdout[-5000:]


def test_unmanaged_filer_is_never_contacted_and_its_files_stay(lab, run_playbook):
    """portmatrix_manage_firewall: false (a NAS appliance) still had its nfs.conf rewritten and nfs-server restarted."""
    lab.reset(["filer"])
    # A control path of its own (as test_verify.py): a login must not hide behind an SSH master
    # that an earlier test left open to the filer, or the count below would prove nothing.
    control = os.path.join(lab.state_dir, "cp-unmanaged")
    unmanaged = host_vars_file(lab, "unmanaged", {
        "filer": {"portmatrix_manage_firewall": False, "ansible_control_path_dir": control},
        "pool-b1": {"ansible_control_path_dir": control}})
    files = dict((path, digest(lab, "filer", path)) for path in NFS_FILES)
    zones = lab.exec("filer", ["firewall-cmd", "--list-all-zones"], check=True).stdout
    logins = dict((host, accepted_logins(lab, host)) for host in ("filer", "pool-b1"))
    for playbook, args in (("portmatrix.xenserver.site", []), ("portmatrix.xenserver.drift", [])):
        done = run_playbook(playbook, "-l", "filer,pool-b1", *args, inventories=[unmanaged])
        assert_ok(done)
        assert "filer" in done.stdout
        if playbook.endswith(".site"):
            # A role include printed argument validation and about 7 skipped tasks per host.
            assert done.stdout.count("skipping: [pool-b1]") <= 1, done.stdout
            assert done.stdout.count("Validating arguments") <= 1, done.stdout
    assert dict((path, digest(lab, "filer", path)) for path in NFS_FILES) == files
    assert lab.exec("filer", ["firewall-cmd", "--list-all-zones"], check=True).stdout == zones
    assert "pmx" not in lab.exec("filer", ["firewall-cmd", "--get-policies"], check=True).stdout
    assert accepted_logins(lab, "filer") == logins["filer"], "the unmanaged filer was contacted"
    assert accepted_logins(lab, "pool-b1") > logins["pool-b1"]  # the counter counts this run's logins
    lab.reset(["pool-b1"])


def test_check_mode_on_a_filer_without_nfs_conf(lab, run_playbook):
    """--check failed on a filer without /etc/nfs.conf ('Path /etc/nfs.conf does not exist')."""
    lab.reset(["filer"])
    lab.exec("filer", ["rm", "-f", "/etc/nfs.conf", "/etc/sysconfig/nfs"], check=True)
    done = run_playbook("portmatrix.xenserver.site", "-l", "filer", "--check", "--diff")
    assert_ok(done)
    assert "nfs.conf" in done.stdout  # the pins would be written...
    assert digest(lab, "filer", "/etc/nfs.conf") == "missing"  # ...and nothing was
    assert "pmx" not in lab.exec("filer", ["firewall-cmd", "--get-policies"], check=True).stdout
    lab.reset(["filer"])


def test_check_diff_shows_each_hosts_rules_once(lab, run_playbook):
    """--check --diff printed a pool host's rules four times: IPv4, IPv6, saved IPv4, saved IPv6 (issue 18)."""
    lab.reset(["pool-a1"])
    done = run_playbook("portmatrix.xenserver.site", "-l", "pool-a1", "--check", "--diff")
    assert_ok(done)
    assert done.stdout.count("--- before") == 1, done.stdout
    assert done.stdout.count("+-A PMX-xencenter -p tcp") == 2, done.stdout  # IPv4 and IPv6, once each
    assert "# saved IPv4: the same rules as IPv4" in done.stdout


def test_the_role_readme_examples_run_as_pasted(lab, run_playbook, tmp_path):
    """The roles' README examples had `when: ...`, which fails when pasted (issue 18)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "unit"))
    from test_role_readme_examples import readme_examples  # pylint: disable=import-outside-toplevel
    playbook = tmp_path / "readme_examples.yml"
    playbook.write_text("".join(example for _role, example in readme_examples()))
    done = run_playbook(str(playbook), "--check")
    assert_ok(done)
    for role in ("pool_host", "storage_filer", "license_server", "infra_service"):
        assert "TASK [portmatrix.xenserver.%s : " % role in done.stdout, role  # each ran on its hosts


@pytest.mark.parametrize("port", [70000, 0])
def test_a_bad_nfs_port_is_refused_before_any_file_is_written(lab, run_playbook, port):
    """storage_filer wrote mountd=70000 to /etc/nfs.conf and /etc/sysconfig/nfs before the module refused it."""
    lab.reset(["filer"])
    files = dict((path, digest(lab, "filer", path)) for path in NFS_FILES)
    done = run_playbook("portmatrix.xenserver.site", "-l", "filer",
                        "-e", json.dumps({"portmatrix_nfsv3_ports": {"mountd": port}}))
    assert done.returncode != 0
    assert "portmatrix_nfsv3_ports mountd: bad port %d" % port in done.stdout
    assert "nothing was changed" in done.stdout
    assert dict((path, digest(lab, "filer", path)) for path in NFS_FILES) == files


def test_drift_lists_unreachable_hosts_with_their_ssh_error(lab, run_playbook):
    """Two unreachable hosts gave '0 of 0 hosts drifted' and exit 0; then their reason was a template error
    ('dict object' has no attribute 'portmatrix') and the exit status was 2, as for drift."""
    lab.reset(["pool-b1", "san"])
    assert_ok(run_playbook("portmatrix.xenserver.site", "-l", "pool-b1,san,license"))
    cut = host_vars_file(lab, "unreachable", dict((host, {
        "ansible_ssh_common_args": '-o ProxyCommand="false"',
        "ansible_control_path_dir": os.path.join(lab.state_dir, "cp-unreachable")}) for host in ("pool-b1", "san")))
    report = os.path.join(lab.state_dir, "drift-unreachable.json")
    done = run_playbook("portmatrix.xenserver.drift", "-l", "pool-b1,san,license",
                        "-e", "portmatrix_drift_report=%s" % report, inventories=[cut])
    assert done.returncode == 4, done.stdout[-3000:]  # not checked, not drift (2)
    assert re.search(r"pool-b1 +- +NO RESULT +0 +0  unreachable: Failed to connect to the host via ssh", done.stdout), \
        done.stdout[-3000:]
    table = done.stdout.split("TASK [Show one table of the hosts]")[1].split("TASK [")[0]
    assert "has no attribute" not in table and "unreachable: Failed to connect" in table
    assert "no result from 2: pool-b1, san" in done.stdout
    with open(report) as handle:
        data = json.load(handle)
    assert data["no_result"] == ["pool-b1", "san"] and data["drifted"] == [] and data["outcome"] == "not_checked"
    assert [h["status"] for h in data["hosts"] if h["host"] == "license"] == ["ok"]
    assert [h["cause"] for h in data["hosts"] if h["host"] == "san"][0].startswith("unreachable: Failed to connect")
    assert "fatal: [san]: UNREACHABLE! => " in done.stdout and "not checked: unreachable: Failed to connect" in done.stdout


def test_drift_with_bad_settings_checks_nothing_and_says_so(lab, run_playbook):
    """A bad setting exited 2, like drift, and left the previous JSON report in place; then 4, like a host that
    could not be checked."""
    report = os.path.join(lab.state_dir, "drift-bad-settings.json")
    with open(report, "w") as handle:
        handle.write("{}")
    logins = accepted_logins(lab, "license")
    done = run_playbook("portmatrix.xenserver.drift", "-l", "license,filer",
                        "-e", json.dumps({"portmatrix_nfsv3_ports": {"mountd": 70000},
                                          "portmatrix_drift_report": report}))
    # 1: bad settings have an exit status of their own (2 drift, 4 a host not checked)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "portmatrix_nfsv3_ports mountd: bad port 70000" in done.stdout
    assert "bad settings, so no host was checked (exit status 1)" in done.stdout
    with open(report) as handle:
        data = json.load(handle)
    assert data["outcome"] == "bad_settings" and "bad port 70000" in data["error"] and data["hosts"] == []
    assert accepted_logins(lab, "license") == logins  # no host was contacted


def test_nightly_drift_names_each_cause_and_exits_by_its_class(lab, run_playbook, run_module):
    """Issue 18's nightly run: a replaced saved file, an unreachable host and a change rolled back since the last
    run, each in its own row with its cause (a rollback was reported nowhere); alone, a rollback exits 2 (drift,
    as a replaced saved file does: test_unsaved_rules_are_drift), an unreachable host 4
    (test_drift_lists_unreachable_hosts_with_their_ssh_error), bad settings 1 (test_drift_with_bad_settings...)."""
    hosts = ["license", "pool-b1", "pool-a3"]
    lab.reset(hosts)
    assert_ok(run_playbook("portmatrix.xenserver.site", "-l", ",".join(hosts)))
    stock = lab.exec("license", ["sh", "-c", "grep -v PMX /etc/iptables/rules.v4"], check=True).stdout
    lab.exec("license", ["sh", "-c", "cat > /etc/iptables/rules.v4"], stdin_text=stock, check=True)
    roll_back_a_change(lab, run_module, "pool-a3")
    cut = host_vars_file(lab, "nightly-unreachable", {"pool-b1": {
        "ansible_ssh_common_args": '-o ProxyCommand="false"',
        "ansible_control_path_dir": os.path.join(lab.state_dir, "cp-nightly")}})
    report = os.path.join(lab.state_dir, "drift-nightly.json")
    done = run_playbook("portmatrix.xenserver.drift", "-l", ",".join(hosts), "-e", "portmatrix_drift_report=%s" % report,
                        inventories=[cut])
    assert done.returncode == 4, done.stdout[-3000:]  # a host not checked wins over drift
    table = done.stdout.split("TASK [Show one table of the hosts]")[1].split("TASK [")[0]
    assert re.search(r"license +iptables +UNSAVED +[1-9]\d* +0  saved rules differ", table), table
    assert re.search(r"pool-b1 +- +NO RESULT +0 +0  unreachable: Failed to connect to the host via ssh", table), table
    assert re.search(r"pool-a3 +iptables +ROLLED BACK +0 +0  rolled back since the last run: the change of "
                     r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC was put back at .* \(no confirmation came within 4s\)", table), table
    with open(report) as handle:
        rows = dict((row["host"], row) for row in json.load(handle)["hosts"])
    assert [rows[h]["status"] for h in hosts] == ["UNSAVED", "NO RESULT", "ROLLED BACK"]
    assert rows["pool-a3"]["rolled_back"][0]["timeout"] == 4
    # the rollback alone: drift (2), shown again (check mode consumes nothing) ...
    done = run_playbook("portmatrix.xenserver.drift", "-l", "pool-a3")
    assert done.returncode == 2 and "ROLLED BACK" in done.stdout, done.stdout[-3000:]
    # ... until a run applies: that run reports it, once, and leaves nothing behind
    done = run_playbook("portmatrix.xenserver.drift", "-l", "pool-a3,license", "-e", "portmatrix_enforce=true")
    assert_ok(done)
    assert "ROLLED BACK" in done.stdout and "rolled back since the last run" in done.stdout
    assert lab.exec("pool-a3", ["sh", "-c", "ls /run/portmatrix | grep confirm- || true"], check=True).stdout == ""
    done = run_playbook("portmatrix.xenserver.drift", "-l", "pool-a3,license")
    assert_ok(done)
    assert "ROLLED BACK" not in done.stdout


def test_unsaved_rules_are_drift(lab, run_playbook):
    """A host whose saved rules were replaced by the stock file printed 'ok' and exit 0 (lost at the next boot);
    then 'DRIFT 0 0' with no line: the UNSAVED state could never show and the saved lines were not named."""
    lab.reset(["license"])
    assert_ok(run_playbook("portmatrix.xenserver.site", "-l", "license"))
    assert_ok(run_playbook("portmatrix.xenserver.drift", "-l", "license"))
    stock = lab.exec("license", ["sh", "-c", "grep -v PMX /etc/iptables/rules.v4"], check=True).stdout
    lab.exec("license", ["sh", "-c", "cat > /etc/iptables/rules.v4"], stdin_text=stock, check=True)
    running = lab.exec("license", ["iptables-save", "-t", "filter"], check=True).stdout
    assert "PMX-INPUT" in running  # the running rules are right: only the saved ones differ
    done = run_playbook("portmatrix.xenserver.drift", "-l", "license")
    assert done.returncode == 2, done.stdout[-3000:]
    assert re.search(r"license +iptables +UNSAVED +[1-9]\d* +0  saved rules differ", done.stdout), done.stdout[-3000:]
    assert re.search(r"\+ IPv4 saved +-A INPUT -j PMX-INPUT", done.stdout), done.stdout[-3000:]
    assert "IPv6 saved" not in done.stdout and not re.search(r"[+-] IPv[46] running", done.stdout)
    assert "Firewall drift on license: run again" in done.stdout
    assert_ok(run_playbook("portmatrix.xenserver.drift", "-l", "license", "-e", "portmatrix_enforce=true"))
    assert "-A INPUT -j PMX-INPUT" in lab.exec("license", ["cat", "/etc/iptables/rules.v4"], check=True).stdout
    assert_ok(run_playbook("portmatrix.xenserver.drift", "-l", "license"))


def test_remove_playbook_takes_everything_off_and_says_what_stays(lab, run_playbook):
    """There was no way to remove the collection's rules but state=absent with components, host by host."""
    hosts = ["license", "filer", "pool-b1"]
    lab.reset(hosts)
    stock = dict((h, lab.exec(h, ["sh", "-c", "iptables-save -t filter; ip6tables-save -t filter"], check=True).stdout)
                 for h in ("license", "pool-b1"))
    saved = dict((h, digest(lab, h, path)) for h, path in (("license", "/etc/iptables/rules.v4"),
                                                            ("pool-b1", "/etc/sysconfig/iptables")))
    assert_ok(run_playbook("portmatrix.xenserver.site", "-l", ",".join(hosts)))
    pinned = digest(lab, "filer", "/etc/nfs.conf")
    done = run_playbook("portmatrix.xenserver.remove", "-l", ",".join(hosts))
    assert_ok(done)
    assert "NFSv3 port pins" in done.stdout and "https-only" in done.stdout
    for host in ("license", "pool-b1"):
        now = lab.exec(host, ["sh", "-c", "iptables-save -t filter; ip6tables-save -t filter"], check=True).stdout
        assert "PMX" not in now
        assert re.sub(r"(?m)^#.*\n|\[\d+:\d+\]", "", now) == re.sub(r"(?m)^#.*\n|\[\d+:\d+\]", "", stock[host])
    assert "PMX" not in lab.exec("license", ["cat", "/etc/iptables/rules.v4"], check=True).stdout
    assert "PMX" not in lab.exec("pool-b1", ["cat", "/etc/sysconfig/iptables"], check=True).stdout
    assert "pmx" not in lab.exec("filer", ["firewall-cmd", "--get-policies"], check=True).stdout
    assert digest(lab, "filer", "/etc/nfs.conf") == pinned  # the pins stay, as the playbook says
    assert saved  # recorded before the change (the saved files may be re-formatted by the save)
    lab.reset(hosts)


def test_flows_with_a_relative_directory_writes_where_the_user_is(lab, run_playbook, tmp_path):
    """-e portmatrix_flows_dir=./flows wrote inside the collection (playbook_dir), then failed 'Is a directory'."""
    for _attempt in range(2):  # a second run over the same folder works too
        assert_ok(run_playbook("portmatrix.xenserver.flows", "-e", "portmatrix_flows_dir=./flows", cwd=str(tmp_path)))
    written = sorted(os.listdir(str(tmp_path / "flows")))
    assert written == ["change-request.csv", "change-request.json", "change-request.md", "flows.csv", "flows.json",
                       "flows.md"]
    with open(str(tmp_path / "flows" / "flows.json")) as handle:
        data = json.load(handle)
    assert ["pool-a2", "pool-a1", "tcp", [80, 443, 8892, 21064], ["pool_management_api", "clustering_tcp"]] \
        in data["pairs"]
    # labctl probe --flows reads this very file (it crashed on it: AttributeError 'str' object has no attribute 'get')
    labctl = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "lab", "labctl")
    done = subprocess.run([sys.executable, labctl, "--prefix", lab.prefix, "--state-dir", lab.state_dir, "probe",
                           "--flows", str(tmp_path / "flows" / "flows.json")], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=300, check=False)
    assert done.returncode in (0, 1), done.stderr[-3000:]  # 1: some flow not as expected (the lab's firewalls are stock)
    probed = json.loads(done.stdout)
    tried = set((r["src"], r["dst"], r["proto"], r["port"], r["family"]) for r in probed["results"])
    assert ("pool-a2", "pool-a1", "tcp", 443, 4) in tried and ("pool-a2", "pool-a1", "tcp", 443, 6) in tried
    assert all(r["expect"] == "open" for r in probed["results"])


def test_rollout_stops_a_bad_plan_after_one_host_per_pool(lab, run_playbook):
    """A bad plan must never reach more than one host of a pool: canary first, then waves of at most
    one host per pool, and the run stops at the first host that fails."""
    pools = ["pool-a1", "pool-a2", "pool-a3", "pool-b1", "pool-c1", "pool-c2"]
    lab.reset(pools)

    def firewall(host):
        return lab.exec(host, ["sh", "-c", "iptables-save -t filter 2>/dev/null | grep -v '^#' | sed -E 's/\\[[0-9:]+\\]//'; "
                                           "nft -s list ruleset | sha256sum"], check=True).stdout
    stock = dict((h, firewall(h)) for h in pools)
    # pool-a2 and pool-a3 (one pool) get a plan that fails on the host: no firewalld runs there
    bad = host_vars_file(lab, "bad-plan", dict((h, {"portmatrix_firewall_backend": "firewalld"})
                                                for h in ("pool-a2", "pool-a3")))
    # The preflight finds this one before any change (test_preflight_...); without it, the rollout
    # still stops a failure that only shows when a host changes.
    done = run_playbook("portmatrix.xenserver.site", "-l", "pool_hosts", "-e", "portmatrix_preflight=false",
                        inventories=[bad])
    assert done.returncode != 0
    assert re.findall(r"fatal: \[(pool-[a-z0-9]+)\]", done.stdout) == ["pool-a2"], done.stdout[-3000:]
    assert "[pool-a3]" not in done.stdout.split("PLAY [Open exactly", 1)[1] and firewall("pool-a3") == stock["pool-a3"]
    batches = done.stdout.split("PLAY [Open exactly")[1:]
    assert set(re.findall(r"(?:ok|changed): \[(pool-[a-z0-9]+)\]", batches[0])) == {"pool-a1"}  # the canary, alone
    assert firewall("pool-a1") != stock["pool-a1"]
    assert len(batches) == 2  # the canary's batch and the first wave: then the run stopped
    lab.reset(pools)


def test_preflight_stops_a_host_that_cannot_take_its_plan_before_any_host_changes(lab, run_playbook):
    """portmatrix_firewall_backend: firewalld on iptables hosts failed only on those hosts, after the
    canary (and earlier waves) had been changed (issue 18, item 2)."""
    pools = ["pool-a1", "pool-a2", "pool-b1"]
    lab.reset(pools)

    def firewall(host):
        return lab.exec(host, ["sh", "-c", "iptables -S; ip6tables -S; nft -s list ruleset | sha256sum"], check=True).stdout
    stock = dict((h, firewall(h)) for h in pools)
    bad = host_vars_file(lab, "bad-backend", {"pool-b1": {"portmatrix_firewall_backend": "firewalld"}})
    started = time.time()
    done = run_playbook("portmatrix.xenserver.site", "-l", ",".join(pools), inventories=[bad])
    assert done.returncode != 0
    assert "PLAY [Preflight every host at once" in done.stdout
    assert re.findall(r"fatal: \[(pool-[a-z0-9]+)\]", done.stdout) == ["pool-b1"], done.stdout[-3000:]
    assert "firewalld is not running" in done.stdout
    assert "PLAY [Open exactly" not in done.stdout, done.stdout[-3000:]   # no canary, no batch
    assert dict((h, firewall(h)) for h in pools) == stock
    print("site run stopped by the preflight on %d hosts in %.1f s" % (len(pools), time.time() - started))
    # the nightly enforcing drift run the same
    done = run_playbook("portmatrix.xenserver.drift", "-l", ",".join(pools), "-e", "portmatrix_enforce=true",
                        inventories=[bad])
    assert done.returncode == 2, done.stdout[-3000:]
    assert re.findall(r"fatal: \[(pool-[a-z0-9]+)\]", done.stdout) == ["pool-b1"], done.stdout[-3000:]
    assert "PLAY [Compare (or correct)" not in done.stdout and dict((h, firewall(h)) for h in pools) == stock
