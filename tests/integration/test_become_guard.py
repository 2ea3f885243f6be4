# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SSH guard under become: the site playbook as a non-root user with sudo, in strict mode.

sudo's env_reset drops SSH_CONNECTION, so a module run under become cannot see where the
controller comes from; the action plugin reads it on the connection before become.  Shown on
the lab: strict mode applied by a sudo user, then a new connection still gets in, while the
outsider's SSH is refused."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys

import pytest

HOST = "pool-b1"
USER = "pmxadmin"


@pytest.fixture
def sudo_user(lab):
    """A non-root user on the host, allowed everything through sudo (with sudo's default env_reset)."""
    lab.reset([HOST])
    home = os.path.join(lab.state_dir, "home-" + USER)
    os.makedirs(home, exist_ok=True)
    lab.exec(HOST, ["sh", "-ec",
                    "id %(u)s >/dev/null 2>&1 || useradd -M -d %(h)s -s /bin/sh %(u)s; usermod -p '*' %(u)s; "
                    "chown %(u)s %(h)s; echo '%(u)s ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/%(u)s; "
                    "chmod 440 /etc/sudoers.d/%(u)s; grep -q '^Defaults.*env_reset' /etc/sudoers"
                    % {"u": USER, "h": home}], check=True)
    inventory = os.path.join(lab.state_dir, "as-%s.yml" % USER)
    with open(inventory, "w") as handle:
        json.dump({"all": {"hosts": {HOST: {
            "ansible_user": USER, "ansible_become": True, "ansible_become_method": "sudo",
            # a new connection of its own: never a multiplexed one opened as root
            "ansible_control_path_dir": os.path.join(lab.state_dir, "cp-" + USER),
            "ansible_python_interpreter": "/usr/bin/python3"}}}}, handle)
    yield inventory
    lab.reset([HOST])


def ansible(lab, collections, inventory, *args):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1")
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible"), HOST, "-i", lab.inventory_path,
                           "-i", inventory] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, env=env, timeout=120, check=False)


def test_sudo_drops_ssh_connection_but_the_guard_holds(lab, collections_path, run_playbook, sudo_user):
    controller = lab.info()["controller"]["ipv4"]  # the lab's SSH comes from its controller namespace
    # Why the action plugin reads it itself: under sudo the module's environment has no SSH_CONNECTION.
    plain = ansible(lab, collections_path, sudo_user, "-e", "ansible_become=false", "-m", "ansible.builtin.command",
                    "-a", "printenv SSH_CONNECTION")
    assert plain.returncode == 0 and controller in plain.stdout, plain.stdout
    under_sudo = ansible(lab, collections_path, sudo_user, "-m", "ansible.builtin.command", "-a", "printenv SSH_CONNECTION")
    assert under_sudo.returncode != 0, under_sudo.stdout
    assert "uid=0(root)" in ansible(lab, collections_path, sudo_user, "-m", "ansible.builtin.command", "-a", "id").stdout

    done = run_playbook("portmatrix.xenserver.site", "-l", "localhost," + HOST, "-e", "portmatrix_strict=true",
                        inventories=[sudo_user])
    assert done.returncode == 0, done.stdout[-4000:]
    rules = lab.exec(HOST, ["iptables", "-S"], check=True).stdout
    assert "-A PMX-INPUT -s %s/32 -p tcp -m tcp --dport 22 -j ACCEPT" % controller in rules, rules
    assert re.search(r"-p tcp -m multiport --dports (\d+,)*22,.* -j REJECT", rules), rules   # strict: 22 restricted
    # a new connection, as the sudo user, still gets in; the outsider does not
    again = ansible(lab, collections_path, sudo_user, "-m", "ansible.builtin.ping")
    assert again.returncode == 0 and "pong" in again.stdout, again.stdout
    results, summary = lab.probe([{"src": "outsider", "dst": HOST, "proto": "tcp", "port": 22, "expect": "refused"},
                                  {"src": "xencenter", "dst": HOST, "proto": "tcp", "port": 22, "expect": "open"},
                                  {"src": "controller", "dst": HOST, "proto": "tcp", "port": 22, "expect": "open"}])
    assert summary["mismatches"] == 0, results


def test_without_become_one_line_names_the_host_and_become(lab, collections_path, sudo_user):
    """Without become the module died on the host's lock: MODULE FAILURE and a 3.7 KB traceback
    (PermissionError ... /run/lock/portmatrix.firewall_rules.lock)."""
    lab.exec(HOST, ["touch", "/run/lock/portmatrix.firewall_rules.lock"], check=True)  # root's, as after any run
    before = lab.exec(HOST, ["iptables", "-S"], check=True).stdout
    done = ansible(lab, collections_path, sudo_user, "-e", "ansible_become=false", "-m",
                   "portmatrix.xenserver.firewall_rules", "-a", json.dumps({"from_inventory": True}))
    assert done.returncode != 0
    assert "MODULE FAILURE" not in done.stdout and "Traceback" not in done.stdout, done.stdout
    failure = [line for line in done.stdout.splitlines() if "FAILED" in line]
    assert len(failure) == 1 and failure[0].startswith(HOST + " | FAILED"), done.stdout
    msg = json.loads(done.stdout.split("=> ", 1)[1])["msg"]
    assert "\n" not in msg and "needs root on this host and runs as %s: set become: true" % USER in msg, msg
    assert lab.exec(HOST, ["iptables", "-S"], check=True).stdout == before
