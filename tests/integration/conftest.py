# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab for integration tests: built once per session under its own prefix, torn
down at the end (also after failures).  The module runs over real SSH through the
lab's inventory, with the ansible of the Python running pytest."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import inspect
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
sys.path.insert(0, os.path.join(REPO, "lab"))

PREFIX = os.environ.get("PORTMATRIX_IT_PREFIX", "pmxi-")
# the coexistence estate's lab (tests/integration/estate_coexist.yml), beside the session's
COEXIST_PREFIX = os.environ.get("PORTMATRIX_IT_PREFIX_COEXIST", PREFIX[:-1] + "c-")


def _skip_reason():
    if os.geteuid() != 0:
        return "integration tests need root (network namespaces)"
    for tool in ("ip", "iptables-restore", "firewalld", "sshd", "nsenter", "nc"):
        if not shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin"):
            return "%s is missing: run lab/install-deps" % tool
    return None


@contextlib.contextmanager
def built_lab(prefix, estate=None):
    """A lab up for the block, torn down after it (also after failures)."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from portmatrix_lab.lab import Lab
    the_lab = Lab(prefix=prefix, state_dir="/tmp/" + prefix.rstrip("-"), estate=estate)
    try:
        the_lab.up()
        yield the_lab
    finally:
        the_lab.down()


@pytest.fixture(scope="session")
def lab():
    with built_lab(PREFIX) as the_lab:
        yield the_lab


@pytest.fixture(scope="session")
def collections_path():
    root = tempfile.mkdtemp(prefix="pmx-it-collections-")
    os.makedirs(os.path.join(root, "ansible_collections", "portmatrix"))
    os.symlink(REPO, os.path.join(root, "ansible_collections", "portmatrix", "xenserver"))
    sys.path.insert(0, root)  # this checkout's module_utils for the tests themselves
    yield root
    shutil.rmtree(root)


class Runner:
    """Runs portmatrix.xenserver.firewall_rules on one lab host, returns its result."""

    def __init__(self, lab, collections):
        self.lab = lab
        self.collections = collections
        self.ansible = os.path.join(os.path.dirname(sys.executable), "ansible")

    def argv(self, host, args, check=False, diff=False, module="portmatrix.xenserver.firewall_rules"):
        argv = [self.ansible, host, "-i", self.lab.inventory_path, "-m", module, "-a", json.dumps(args)]
        argv += ["--check"] if check else []
        argv += ["--diff"] if diff else []
        return argv

    def env(self, **extra):
        return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=self.collections, ANSIBLE_STDOUT_CALLBACK="minimal",
                    ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_PYTHON_INTERPRETER="auto_silent", ANSIBLE_NOCOLOR="1",
                    **extra)

    def __call__(self, host, args, check=False, diff=False, expect_failure=False):
        done = subprocess.run(self.argv(host, args, check, diff), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, env=self.env(), timeout=180, check=False)
        # minimal callback (builtin in every ansible-core): "host | STATUS => {json}"
        try:
            head, body = done.stdout.split("=> ", 1)
            result = json.loads(body)
        except ValueError:
            raise AssertionError("ansible gave no result (rc %d):\n%s\n%s" % (done.returncode, done.stdout, done.stderr))
        failed = "FAILED" in head or "UNREACHABLE" in head
        assert failed == expect_failure, json.dumps(result, indent=1)
        return result


@pytest.fixture(scope="session")
def run_module(lab, collections_path):
    return Runner(lab, collections_path)


def peers_of(info, host):
    """Module arguments for a lab host, read from lab.json the way the roles read the inventory."""
    hosts = info["hosts"]
    me = hosts[host]
    peers = {}
    for other in hosts.values():
        for component in other.get("components", []):
            peers.setdefault(component, []).extend([other["ipv4"], other["ipv6"]])
    args = {"components": me["components"], "peers": peers}
    if "pool_host" in me["components"]:
        pool = me["pool"]
        args["pool_peers"] = [a for h in hosts.values() if h.get("pool") == pool for a in (h["ipv4"], h["ipv6"])]
        args["clustered"] = bool(info["pools"][pool]["clustered"])
    return args


def saved(lab, host, family=4):
    tool = "iptables-save" if family == 4 else "ip6tables-save"
    out = lab.exec(host, [tool, "-t", "filter"], check=True).stdout
    return [re.sub(r"\[\d+:\d+\]", "[0:0]", l) for l in out.splitlines() if not l.startswith("#")]


def foreign(lines):
    """What the collection does not own: every line but our chains and our jump."""
    return [l for l in lines if "PMX-" not in l]


def probe(lab, flows):
    results, summary = lab.probe(flows)
    bad = [r for r in results if r["match"] is False]
    assert not bad, "flows not as expected:\n" + "\n".join(json.dumps(r, sort_keys=True) for r in bad)
    assert summary["flows"] == len(flows)
    return results


def flow(src, dst, proto, port, expect, family=4):
    return {"src": src, "dst": dst, "proto": proto, "port": port, "expect": expect, "family": family}


def on_target(lab, collections, host, argv, check=True):
    """Run a Python command inside host with the host's interpreter, an empty environment and,
    when collections is given, the collection importable (tests/integration/on_target.py)."""
    python = lab.info()["hosts"][host]["python"]
    env = ["env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    if collections:
        env.append("PYTHONPATH=%s" % collections)
    return lab.exec(host, env + [python] + list(argv), check=check)


def snapshot(lab, collections, host, kind, path):
    """The backend's restore steps for host, taken on the host, written to path."""
    on_target(lab, collections, host, [os.path.join(os.path.dirname(__file__), "on_target.py"), "snapshot", kind, path])
    return path


def run_restore(lab, host, steps_path):
    """The standalone restore runner on host: no collection, an empty environment."""
    from ansible_collections.portmatrix.xenserver.plugins.module_utils import _restore_runner
    return on_target(lab, None, host, ["-c", inspect.getsource(_restore_runner), steps_path], check=False)


def stop_firewalld(lab, host):
    """Stop the host's firewalld (SIGTERM, bounded wait); lab.up() starts it again."""
    pid = lab.info()["hosts"][host]["pids"]["firewalld"]
    os.kill(pid, signal.SIGTERM)
    for _attempt in range(100):
        if not os.path.exists("/proc/%d" % pid):
            return
        time.sleep(0.1)


class PlaybookRunner:
    """Runs a playbook of the collection (or a file) against the lab's inventory; returns the
    CompletedProcess (text)."""

    def __init__(self, lab, collections):
        self.lab = lab
        self.collections = collections
        self.binary = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

    def __call__(self, playbook, *args, **kwargs):
        inventories = ["-i", self.lab.inventory_path]
        for extra in kwargs.get("inventories", []):
            inventories += ["-i", extra]
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=self.collections, ANSIBLE_HOST_KEY_CHECKING="False",
                   ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
        return subprocess.run([self.binary] + inventories + [playbook] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, env=env, cwd=kwargs.get("cwd"),
                              timeout=kwargs.get("timeout", 600), check=False)


@pytest.fixture(scope="session")
def run_playbook(lab, collections_path):
    return PlaybookRunner(lab, collections_path)


def roll_back_a_change(lab, run_module, host, window=4):
    """A real change on host that its controller never confirms: a controller that waits before
    confirming (tests/integration/action_plugins) is killed once the change is armed; returns when the
    host has put its previous rules back by itself and left the record of it."""
    args = dict(peers_of(lab.info(), host), confirm_timeout=window, features=["ha"])  # harmless: 694/udp
    late = os.path.join(os.path.dirname(os.path.abspath(__file__)), "action_plugins")
    controller = subprocess.Popen(run_module.argv(host, args, module="firewall_rules_confirming_late"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env=run_module.env(ANSIBLE_ACTION_PLUGINS=late), start_new_session=True)

    def files():
        return lab.exec(host, ["sh", "-c", "ls /run/portmatrix 2>/dev/null | grep confirm- || true"],
                        check=True).stdout.split()
    try:
        for _attempt in range(150):  # until the change is armed: 30 s at most
            if [name for name in files() if name.endswith(".pending")]:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the change on %s was never armed" % host)
    finally:
        os.killpg(controller.pid, signal.SIGKILL)
        controller.wait(timeout=30)
    for _attempt in range(int((window + 15) / 0.5)):
        if [name for name in files() if name.endswith(".rolled-back")]:
            return
        time.sleep(0.5)
    raise AssertionError("%s did not roll back by itself: %s" % (host, files()))
