# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the collection's action plugins in-process, as a worker would: a real Task, PlayContext,
Templar and DataLoader, the inventory as Ansible hands it over (groups, hostvars), the run's
local tmp directory, and a connection that records what is run on it.  Only the module
execution on the target is stood in for (FakeTarget): these tests are about the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib

from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.block import Block
from ansible.playbook.play import Play
from ansible.playbook.task import Task
from ansible.plugins.loader import shell_loader
from ansible.template import Templar

# A small estate: two pools, a filer, a license server that also serves NTP, XenCenter.
GROUPS = {
    "all": ["a1", "a2", "b1", "nas", "lic", "xc"],
    "ungrouped": [],
    "pool_hosts": ["a1", "a2", "b1"],
    "nfs_filers": ["nas"],
    "license_servers": ["lic"],
    "ntp_servers": ["lic"],
    "xencenters": ["xc"],
}
INVENTORY = {
    "a1": {"ansible_host": "198.18.5.11", "portmatrix_pool": "pool_a"},
    "a2": {"ansible_host": "198.18.5.12", "portmatrix_pool": "pool_a"},
    "b1": {"ansible_host": "198.18.5.21", "portmatrix_pool": "pool_b"},
    "nas": {"ansible_host": "198.18.5.31"},
    "lic": {"ansible_host": "198.18.5.34"},
    "xc": {"ansible_host": "198.18.5.51"},
}


class Inventory(object):
    """groups and hostvars as Ansible gives them to a task; task_vars(host) as a host's task sees them."""

    def __init__(self, groups=None, hostvars=None, common=None):
        self.groups = dict(groups or GROUPS)
        common = dict(common or {})
        self.hostvars = dict((h, dict(common, **v)) for h, v in (hostvars or INVENTORY).items())

    def task_vars(self, host, play_hosts=None, **play_vars):
        found = dict(self.hostvars.get(host, {}))
        found.update(play_vars)
        found.update(groups=self.groups, hostvars=self.hostvars, inventory_hostname=host,
                     ansible_play_hosts_all=list(play_hosts or self.groups["all"]))
        return found


class FakeConnection(object):
    """An SSH connection that records commands and resets; exec_command answers from `answers`."""

    transport = "ssh"
    become = None
    allow_executable = True

    def __init__(self, ssh_connection="198.18.5.250 40000 198.18.5.11 22", reset_error=None, answers=()):
        self.ssh_connection = ssh_connection
        self.reset_error = reset_error
        # what other commands get, in turn: (rc, stdout, stderr), a function of the command giving
        # one, or an exception to raise
        self.answers = list(answers)
        self.commands = []
        self.resets = 0
        self._shell = shell_loader.get("sh")
        self.options = {"ssh_args": "-C -o ControlMaster=auto -o ControlPersist=60s"}
        self.ssh_args_seen = []  # the ssh_args option at each command

    def get_option(self, name):
        return self.options[name]

    def set_option(self, name, value):
        self.options[name] = value

    def exec_command(self, cmd, in_data=None, sudoable=True):
        self.commands.append((cmd, sudoable))
        self.ssh_args_seen.append(self.options["ssh_args"])
        if "SSH_CONNECTION" in cmd:
            return 0, (self.ssh_connection + "\n").encode(), b""
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            if callable(answer):
                answer = answer(cmd)
            return answer[0], answer[1].encode(), answer[2].encode()
        return 1, b"", b"unexpected command"

    def reset(self):
        self.resets += 1
        if self.reset_error:
            raise self.reset_error


class FakeTarget(object):
    """The module run on the host: answers[i] is the result of the i-th call (an exception is raised)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []
        self.environments = []  # the task's environment at each call (the confirm token goes there)
        self.task = None

    def __call__(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        self.calls.append((module_name, dict(module_args or {})))
        self.environments.append(list(self.task.environment or []) if self.task is not None else [])
        answer = self.answers.pop(0) if self.answers else {"changed": False, "backend": "iptables"}
        if isinstance(answer, dict):
            return dict(answer)
        raise answer  # pylint: disable=raising-bad-type  # an exception given as the answer


PLAY = Play()  # the play of the tasks made by make_action unless one is given


def make_action(name, args, check_mode=False, connection=None, target=None, play=None):
    """An ActionModule of plugins/action/<name>.py with a real Task of `play` for the given args."""
    task = Task()
    task._parent = Block(play=play or PLAY)  # pylint: disable=protected-access  # a task of the play
    task.action = "portmatrix.xenserver." + name
    task.args = dict(args)
    play_context = PlayContext()
    play_context.check_mode = check_mode
    task.check_mode = check_mode
    loader = DataLoader()
    module = importlib.import_module("ansible_collections.portmatrix.xenserver.plugins.action." + name)
    action = module.ActionModule(task, connection or FakeConnection(), play_context, loader, Templar(loader=loader),
                                 None)
    action._load_name = task.action
    if target is not None:
        action._execute_module = target
        target.task = task
    return action
