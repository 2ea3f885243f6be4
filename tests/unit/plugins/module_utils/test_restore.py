# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Snapshots and the restore runner: a snapshot taken, the owned scope changed, the
snapshot run, and the state is the one the snapshot was taken from."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.portmatrix.xenserver.plugins.module_utils import _restore_runner, firewalld, iptables, planner, restore

from netfilter_fake import DOM0, FakeIptables

PY36 = "/root/.pyenv/versions/3.6.15/bin/python3.6"


def plan(pool_peers, xencenter=("198.51.100.50",)):
    return planner.build_plan(["pool_host"], peers={"xencenter": list(xencenter)}, pool_peers=list(pool_peers),
                              clustered=True)


def backend(fake, persist=False):
    found = iptables.IptablesBackend(lambda argv, data=None: fake.run(argv, data), [4], persist=persist)
    found.validate(lambda tool: "/usr/sbin/" + tool)
    return found


def apply(fake, the_plan, state="present"):
    ipt = backend(fake)
    ipt.state = state
    ipt.write(ipt.read(), the_plan)


def test_iptables_snapshot_puts_back_stock_after_an_apply():
    fake = FakeIptables(DOM0)
    before = fake.save()
    steps = backend(fake).snapshot()
    assert json.loads(json.dumps(steps)) == steps  # JSON-serialisable as it is
    apply(fake, plan(["198.51.100.11"]))
    assert "PMX-INPUT" in fake.save()
    assert _restore_runner.run_steps(steps, run=fake.run) == []
    assert fake.save() == before


def test_iptables_snapshot_puts_back_an_earlier_plan_whatever_came_since():
    fake = FakeIptables(DOM0)
    apply(fake, plan(["198.51.100.11", "198.51.100.12"]))
    before = fake.save()
    steps = backend(fake).snapshot()
    # another plan (a group less, another group more), a stray jump, and a stray chain
    apply(fake, plan(["198.51.100.13"], xencenter=()))
    fake.run(["iptables-restore"], "*filter\n:PMX-stray - [0:0]\n-A FORWARD -j PMX-stray\n-I INPUT 1 -j PMX-INPUT\nCOMMIT\n")
    assert fake.save() != before
    assert _restore_runner.run_steps(steps, run=fake.run) == []
    assert fake.save() == before


def test_iptables_payload_keeps_jump_positions_among_foreign_rules():
    text = DOM0.replace("-A INPUT -j RH-Firewall-1-INPUT\n", "-A INPUT -j PMX-A\n-A INPUT -j RH-Firewall-1-INPUT\n-A INPUT -j PMX-B\n")
    text = text.replace(":xapi-INPUT - [0:0]\n", ":xapi-INPUT - [0:0]\n:PMX-A - [0:0]\n:PMX-B - [0:0]\n")
    chains, jumps = _restore_runner.owned_iptables(text, "PMX-")
    assert jumps == [["INPUT", 1, "-A INPUT -j PMX-A"], ["INPUT", 2, "-A INPUT -j PMX-B"]]
    payload = _restore_runner.iptables_payload(DOM0, "PMX-", chains, jumps)
    assert "-I INPUT 2 -j PMX-A" in payload and "-I INPUT 4 -j PMX-B" in payload
    fake = FakeIptables(DOM0)
    assert fake.run(["iptables-restore", "--noflush"], payload)[0] == 0
    assert _restore_runner.owned_iptables(fake.save(), "PMX-") == (chains, jumps)


def test_iptables_restore_refused_changes_nothing_and_is_reported():
    fake = FakeIptables(DOM0)
    before = fake.save()
    steps = [{"iptables": {"save": ["iptables-save"], "restore": ["iptables-restore"], "prefix": "PMX-",
                           "chains": [["PMX-INPUT", ["-A PMX-INPUT -j PMX-missing"]]],
                           "jumps": [["NOCHAIN", 0, "-A NOCHAIN -j PMX-INPUT"]]}}]
    errors = _restore_runner.run_steps(steps, run=fake.run)
    assert len(errors) == 1 and "refused" in errors[0]
    assert fake.save() == before


def test_file_steps_write_remove_sync_and_every_step_is_tried(tmp_path):
    kept, gone = tmp_path / "kept", tmp_path / "gone"
    kept.write_bytes(b"old \xff bytes\n")   # not UTF-8: must come back as it was
    kept.chmod(0o600)
    steps = restore.file_steps([str(kept), str(gone)])
    assert steps[1] == {"remove": str(gone)}
    kept.write_text(u"new\n")
    gone.write_text(u"made since\n")
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "pmx-input.xml").write_text(u"edited")
    (policies / "pmx-old.xml").write_text(u"stale")
    (policies / "other.xml").write_text(u"foreign")
    steps.append({"sync": str(policies), "prefix": "pmx-", "suffix": ".xml",
                  "files": {"pmx-input.xml": {"text": "ours", "mode": 0o640}}})
    steps.insert(0, {"run": ["false"]})
    steps.append({"run": ["sh", "-c", "exit 3"], "ok": [3]})
    errors = _restore_runner.run_steps(steps)
    assert len(errors) == 1 and errors[0].startswith("step 1 (run): false: exit 1")
    assert kept.read_bytes() == b"old \xff bytes\n" and oct(kept.stat().st_mode & 0o777) == oct(0o600)
    assert not gone.exists()
    assert sorted(os.listdir(str(policies))) == ["other.xml", "pmx-input.xml"]
    assert (policies / "pmx-input.xml").read_text() == u"ours" and (policies / "other.xml").read_text() == u"foreign"


def test_lock_step_waits_for_the_holder(tmp_path):
    lock = str(tmp_path / "lock")
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time; h = open(sys.argv[1], 'a'); "
                               "fcntl.flock(h, fcntl.LOCK_EX); print('held', flush=True); time.sleep(1)", lock],
                              stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"held"
        errors = _restore_runner.run_steps([{"lock": lock, "timeout": 0.3}, {"write": str(tmp_path / "f"), "text": "x", "mode": 0o644}])
        assert len(errors) == 1 and "still locked" in errors[0]
    finally:
        holder.wait()
    assert _restore_runner.run_steps([{"lock": lock, "timeout": 1}]) == []


@pytest.mark.parametrize("python", [sys.executable, PY36])
def test_standalone_runner_needs_nothing_of_the_collection(tmp_path, python):
    if not os.path.exists(python):
        pytest.skip("%s is not installed" % python)
    target = tmp_path / "saved"
    steps_file = tmp_path / "steps.json"
    steps_file.write_text(json.dumps([{"write": str(target), "text": u"restored \u2713\n", "mode": 0o600},
                                      {"run": ["sh", "-c", "cat > %s.copy" % target], "stdin": "from stdin\n"}]))
    # an empty environment and another working directory: no PYTHONPATH, no collection
    done = subprocess.run(restore.standalone_argv(python, str(steps_file)), cwd=str(tmp_path), env={},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == u"restored \u2713\n".encode("utf-8")
    assert (tmp_path / "saved.copy").read_text() == "from stdin\n"
    steps_file.write_text(json.dumps([{"remove": str(tmp_path)}]))  # a directory: fails, says why
    done = subprocess.run(restore.standalone_argv(python, str(steps_file)), env={},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert done.returncode == 1 and b"step 1 (remove)" in done.stderr


def test_firewalld_snapshot_restores_owned_files_and_reloads(tmp_path):
    calls = []
    fwd = firewalld.FirewalldBackend(lambda argv, data=None: (calls.append(argv) or (0, "", "")), config_dir=str(tmp_path))
    fwd.firewall_cmd = "/usr/bin/firewall-cmd"
    for kind in ("ipsets", "policies", "zones"):
        (tmp_path / kind).mkdir()
    (tmp_path / "zones" / "public.xml").write_text(u"<zone/>")
    the_plan = planner.build_plan(["nfs_filer"], peers={"pool_host": ["198.51.100.11"]}, skip_features=["nfsv3"])
    for path, text in firewalld.render_files(the_plan).items():
        (tmp_path / path).write_text(text)
    before = dict((p, (tmp_path / p).read_text()) for p in ("ipsets/pmx-pool-host-4.xml", "policies/pmx-input.xml"))
    steps = fwd.snapshot()
    # the snapshot read the zones' runtime and permanent state (to keep runtime-only changes)
    assert calls == [["/usr/bin/firewall-cmd", "--list-all-zones"], ["/usr/bin/firewall-cmd", "--permanent", "--list-all-zones"]]
    del calls[:]
    (tmp_path / "ipsets" / "pmx-pool-host-4.xml").unlink()
    (tmp_path / "ipsets" / "pmx-pool-host-6.xml").write_text(u"<ipset/>")
    (tmp_path / "policies" / "pmx-input.xml").write_text(u"<policy/>")
    assert _restore_runner.run_steps(steps, run=lambda argv, stdin=None: fwd.run(argv)) == []
    assert sorted(os.listdir(str(tmp_path / "ipsets"))) == ["pmx-pool-host-4.xml"]
    assert dict((p, (tmp_path / p).read_text()) for p in before) == before
    assert (tmp_path / "zones" / "public.xml").read_text() == u"<zone/>"
    assert calls == [["/usr/bin/firewall-cmd", "--reload"]]
