# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/action/firewall_rules.py on the controller: the SSH guard read on the connection,
the confirm path (a new connection after the change), argument checks, from_inventory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure

from action_harness import FakeConnection, FakeTarget, make_action

from ansible_collections.portmatrix.xenserver.plugins.module_utils import confirm

FIREWALL = "firewall_rules"
TOKEN = "0123456789abcdef0123456789abcdef"
APPLIED = {"changed": True, "backend": "iptables",
           "confirm": {"token": TOKEN, "timeout": 0, "python": "/usr/bin/python3"}}


@pytest.fixture
def slept(monkeypatch):
    """time.sleep of the action plugin, recorded instead of slept."""
    from ansible_collections.portmatrix.xenserver.plugins.action import firewall_rules
    seconds = []
    monkeypatch.setattr(firewall_rules.time, "sleep", seconds.append)
    return seconds


# ---- the SSH guard -------------------------------------------------------------------------

def test_guard_reads_the_ssh_source_on_the_connection_before_become(run_tmp, inventory):
    connection = FakeConnection("198.18.5.250 40000 198.18.5.11 2222")
    target = FakeTarget({"changed": False, "backend": "iptables"})
    result = make_action(FIREWALL, {"from_inventory": True}, connection=connection, target=target).run(
        task_vars=inventory.task_vars("a1"))
    assert not result.get("failed"), result
    [(command, sudoable)] = connection.commands
    assert 'echo "$SSH_CONNECTION"' in command and sudoable is False  # before become: sudo drops it
    sent = target.calls[0][1]
    assert sent["guard_sources"] == ["198.18.5.250"]
    assert sent["guard_port"] == 2222


def test_guard_keeps_the_controllers_and_the_tasks_sources(run_tmp, inventory):
    inventory.hostvars["a1"]["portmatrix_controllers"] = ["198.18.6.0/24"]
    target = FakeTarget()
    make_action(FIREWALL, {"from_inventory": True, "guard_sources": ["198.18.7.7"]}, target=target).run(
        task_vars=inventory.task_vars("a1"))
    assert target.calls[0][1]["guard_sources"] == ["198.18.7.7", "198.18.6.0/24", "198.18.5.250"]


def test_guard_off_reads_nothing(run_tmp, inventory):
    connection, target = FakeConnection(), FakeTarget()
    make_action(FIREWALL, {"from_inventory": True, "ssh_guard": False}, connection=connection, target=target).run(
        task_vars=inventory.task_vars("a1"))
    assert connection.commands == []
    assert "guard_sources" not in target.calls[0][1]


def test_guard_without_ssh_session_uses_port_22(run_tmp, inventory):
    connection, target = FakeConnection(ssh_connection=""), FakeTarget()
    make_action(FIREWALL, {"from_inventory": True}, connection=connection, target=target).run(
        task_vars=inventory.task_vars("a1"))
    assert target.calls[0][1]["guard_sources"] == [] and target.calls[0][1]["guard_port"] == 22


# ---- commit confirmed ----------------------------------------------------------------------

def confirmed_on_host(**done):
    """What the host's confirm program answers (one line of JSON), as the connection returns it."""
    return 0, json.dumps(dict({"confirmed": True, "persisted": True, "host_seconds": 0.042}, **done)) + "\n", ""


def confirm_commands(connection):
    return [(command, sudoable) for command, sudoable in connection.commands if "--confirm" in command]


def test_confirm_comes_from_a_new_connection_carrying_only_the_token(run_tmp, inventory, slept):
    connection = FakeConnection(answers=[confirmed_on_host()])
    target = FakeTarget(APPLIED)
    result = make_action(FIREWALL, {"from_inventory": True}, connection=connection, target=target).run(
        task_vars=inventory.task_vars("a1"))
    # a connection of its own (not the multiplexed one, which stays open for the tasks after it)
    assert connection.resets == 0
    assert [args for (command, _sudoable), args in zip(connection.commands, connection.ssh_args_seen) if "--confirm" in command] \
        == ["-o ControlMaster=no -o ControlPath=none -C -o ControlMaster=auto -o ControlPersist=60s"]
    assert all(args == "-C -o ControlMaster=auto -o ControlPersist=60s"
               for (command, _sudoable), args in zip(connection.commands, connection.ssh_args_seen) if "--confirm" not in command)
    assert connection.options["ssh_args"] == "-C -o ControlMaster=auto -o ControlPersist=60s"  # put back
    assert len(target.calls) == 1  # no second module run: the confirmation is one small command
    [(command, sudoable)] = confirm_commands(connection)
    assert sudoable is True  # with become: saving the rules needs root
    assert " ".join(confirm.confirm_argv("/usr/bin/python3", TOKEN)) in command
    assert "PMX" not in command and "198.18" not in command  # the token only: no plan, no arguments
    assert result["confirmed"] is True and result["persisted"] is True and result["confirm"]["confirmed"] is True
    assert result["confirm"]["host_seconds"] == 0.042 and "host_seconds" not in result  # the host's part, in confirm
    assert not result.get("failed") and slept == []


def test_confirm_over_another_connection_plugin_resets_it_first(run_tmp, inventory, slept):
    """A plugin without OpenSSH's options (paramiko) is reset: its next command opens a new connection."""
    connection = FakeConnection(answers=[confirmed_on_host()])
    connection.transport = "paramiko"
    result = make_action(FIREWALL, {"from_inventory": True}, connection=connection, target=FakeTarget(APPLIED)).run(
        task_vars=inventory.task_vars("a1"))
    assert connection.resets == 1 and result["confirmed"] is True
    assert set(connection.ssh_args_seen) == {"-C -o ControlMaster=auto -o ControlPersist=60s"}
    broken = FakeConnection(reset_error=RuntimeError("socket closed"), answers=[confirmed_on_host()] * 2)
    broken.transport = "paramiko"
    result = make_action(FIREWALL, {"from_inventory": True}, connection=broken, target=FakeTarget(APPLIED)).run(
        task_vars=inventory.task_vars("a1"))
    assert result["failed"] is True and "could not close the previous connection: socket closed" in result["msg"]
    assert confirm_commands(broken) == []


def test_a_confirm_builds_no_plan_again(run_tmp, inventory, slept, monkeypatch):
    """Issue 16: the plan for a host is built once per change. The controller works out the run's
    estate (each host's call planned once, to fail early on a bad value) before the change; the
    host's one module run builds the plan once; the confirmation runs no module and plans nothing."""
    from ansible_collections.portmatrix.xenserver.plugins.module_utils import planner
    built, seen = [], {}
    real = planner.build_plan
    monkeypatch.setattr(planner, "build_plan", lambda *a, **k: built.append(1) or real(*a, **k))

    def confirm_program(command):
        seen["at confirm"] = len(built)
        return confirmed_on_host()

    class Module(FakeTarget):
        def __call__(self, *args, **kwargs):
            seen["at module"] = len(built)
            return super(Module, self).__call__(*args, **kwargs)
    connection = FakeConnection(answers=[confirm_program])
    target = Module(APPLIED)
    result = make_action(FIREWALL, {"from_inventory": True, "refresh": True}, connection=connection,
                         target=target).run(task_vars=inventory.task_vars("a1"))
    assert result["confirmed"] is True and len(target.calls) == 1  # one module run: the host's one plan
    assert seen["at module"] >= 1  # the controller planned before the change (the estate, once) ...
    assert seen["at confirm"] == seen["at module"] == len(built)  # ... and nothing from the change on


def test_confirm_when_no_new_connection_waits_for_the_hosts_own_rollback(run_tmp, inventory, slept):
    record = {"rolled_back_at": 0, "timeout": 0, "errors": [], "why": "no confirmation came within 0s"}
    connection = FakeConnection(answers=[AnsibleConnectionFailure("ssh: connect to host: Connection timed out"),
                                         (0, json.dumps({"rolled_back": record}), "")])
    target = FakeTarget(APPLIED)
    result = make_action(FIREWALL, {"from_inventory": True}, connection=connection, target=target).run(
        task_vars=inventory.task_vars("a1"))
    assert len(confirm_commands(connection)) == 2 and connection.resets == 0
    assert connection.ssh_args_seen[-1].startswith("-o ControlMaster=no -o ControlPath=none ")
    assert len(slept) == 1 and 3 <= slept[0] <= 3.5  # the host's deadline (0 s) plus a margin
    assert result["failed"] is True and result["rolled_back"] is True and result["rollback"] == record
    assert "could not open a new connection" in result["msg"] and "Connection timed out" in result["msg"]
    assert "the change was rolled back at 00:00:00 UTC" in result["msg"]


def test_confirm_unreachable_twice_fails_saying_so(run_tmp, inventory, slept):
    connection = FakeConnection(answers=[(255, "", "no route"), AnsibleConnectionFailure("still")])
    target = FakeTarget(APPLIED)
    result = make_action(FIREWALL, {"from_inventory": True}, connection=connection, target=target).run(
        task_vars=inventory.task_vars("a1"))
    assert result["failed"] is True and result["confirmed"] is False
    assert "no route" in result["msg"] and "still unreachable (still)" in result["msg"]


def test_a_confirm_the_host_could_not_run_fails_with_its_error(run_tmp, inventory, slept):
    connection = FakeConnection(answers=[(1, "", "Traceback ...\nRuntimeError: /run/lock/x is still locked")])
    result = make_action(FIREWALL, {"from_inventory": True}, connection=connection, target=FakeTarget(APPLIED)).run(
        task_vars=inventory.task_vars("a1"))
    assert result["failed"] is True and result["confirmed"] is False and slept == []
    assert "still locked" in result["msg"] and "rolls the change back by itself" in result["msg"]


def test_no_confirm_in_check_mode(run_tmp, inventory, slept):
    connection = FakeConnection()
    target = FakeTarget(dict(APPLIED, changed=True))
    make_action(FIREWALL, {"from_inventory": True}, check_mode=True, connection=connection, target=target).run(
        task_vars=inventory.task_vars("a1"))
    assert len(target.calls) == 1 and connection.resets == 0 and confirm_commands(connection) == []


# ---- arguments -----------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    ({"from_inventory": "sometimes"}, "from_inventory"),
    ({"components": ["pool_host"], "guard_port": "ssh"}, "guard_port"),
    ({"components": ["pool_host"], "state": "gone"}, "state"),
    ({"components": ["pool_host"], "colour": "blue"}, "Unsupported parameters"),
])
def test_bad_arguments_fail_before_anything_is_sent(run_tmp, inventory, args, message):
    connection, target = FakeConnection(), FakeTarget()
    with pytest.raises(AnsibleActionFail, match=message):
        make_action(FIREWALL, args, connection=connection, target=target).run(task_vars=inventory.task_vars("a1"))
    assert target.calls == [] and connection.commands == []


def test_task_arguments_override_the_engines_and_defaults_do_not(run_tmp, inventory):
    target = FakeTarget()
    make_action(FIREWALL, {"from_inventory": True, "persist": False, "ssh_guard": False}, target=target).run(
        task_vars=inventory.task_vars("a1"))
    sent = target.calls[0][1]
    assert sent["persist"] is False                       # the task's
    assert sent["clustered"] is False and sent["components"] == ["pool_host"]  # the engine's
    assert sent["pool_peers"] == ["198.18.5.12"]
    assert "from_inventory" not in sent and "refresh" not in sent  # the action's own
    assert "public_ports" not in sent                     # a default is left to the module


def test_unmanaged_host_is_skipped_with_its_plan(run_tmp, inventory):
    inventory.hostvars["nas"]["portmatrix_manage_firewall"] = False
    target = FakeTarget()
    result = make_action(FIREWALL, {"from_inventory": True}, target=target).run(task_vars=inventory.task_vars("nas"))
    assert result["skipped"] is True and "portmatrix_manage_firewall is false" in result["msg"]
    assert result["portmatrix"]["served"] == ["nfs_filer"] and target.calls == []


def test_expect_components_names_the_groups(run_tmp, inventory):
    result = make_action(FIREWALL, {"from_inventory": True, "expect_components": ["nfs_filer"]},
                         target=FakeTarget()).run(task_vars=inventory.task_vars("a1"))
    assert result["failed"] is True and "a1 is in none of the groups nfs_filers" in result["msg"]


# ---- one call per host and run ------------------------------------------------------------

def test_a_role_after_the_call_reads_its_result_and_sends_nothing(run_tmp, inventory):
    first = make_action(FIREWALL, {"from_inventory": True}, target=FakeTarget(
        {"changed": True, "backend": "iptables", "diff": {"before": "", "after": "x"}})).run(
        task_vars=inventory.task_vars("lic"))
    connection, target = FakeConnection(), FakeTarget()
    again = make_action(FIREWALL, {"from_inventory": True, "role": "infra_service"}, connection=connection,
                        target=target).run(task_vars=dict(inventory.task_vars("lic"), portmatrix_firewall=first))
    assert target.calls == [] and connection.commands == []
    assert again["changed"] is False and again["backend"] == "iptables" and "diff" not in again
    assert again["portmatrix"]["roles"] == ["license_server", "infra_service"]


def test_a_role_outside_its_groups_fails_before_anything(run_tmp, inventory):
    target = FakeTarget()
    alone = make_action(FIREWALL, {"from_inventory": True, "role": "pool_host"}, target=target).run(
        task_vars=inventory.task_vars("nas"))
    assert alone["failed"] is True and "nas is in none of the groups pool_hosts" in alone["msg"]
    done = make_action(FIREWALL, {"from_inventory": True}, target=target).run(task_vars=inventory.task_vars("nas"))
    target.calls = []
    after = make_action(FIREWALL, {"from_inventory": True, "role": "pool_host"}, target=target).run(
        task_vars=dict(inventory.task_vars("nas"), portmatrix_firewall=done))
    assert after["failed"] is True and after["msg"] == alone["msg"]
    assert target.calls == []


def test_without_role_a_call_is_made_again(run_tmp, inventory):
    target = FakeTarget()
    make_action(FIREWALL, {"from_inventory": True}, target=target).run(
        task_vars=dict(inventory.task_vars("a1"), portmatrix_firewall={"portmatrix": {"roles": ["pool_host"]}}))
    assert len(target.calls) == 1


def test_a_failure_says_what_failed_without_the_hosts_plan(run_tmp, inventory):
    # Issue 18 item 11: a host failure printed 1,700+ characters of the host's plan (its module arguments).
    import json
    message = "firewalld is not running (firewall-cmd --state: not running); start it, or use backend iptables"
    failed = make_action(FIREWALL, {"from_inventory": True}, target=FakeTarget({"failed": True, "msg": message})).run(
        task_vars=inventory.task_vars("a1"))
    assert failed["failed"] is True and failed["msg"] == message
    assert failed["portmatrix"] == {"manage": True, "components": ["pool_host"], "served": ["pool_host"],
                                    "roles": ["pool_host"], "pool": "pool_a"}
    assert len(json.dumps(failed)) < len(message) + 200  # what the default callback prints after FAILED! =>
    applied = make_action(FIREWALL, {"from_inventory": True}, target=FakeTarget()).run(
        task_vars=inventory.task_vars("a1"))
    assert "args" in applied["portmatrix"] and "settings" in applied["portmatrix"]  # a success keeps the plan


def test_a_source_only_host_in_the_roles_groups_is_skipped_not_failed(run_tmp):
    # The role READMEs' example runs a role on every host of its groups: an API client serves nothing,
    # and failed with "apiclient is in none of the groups api_clients, ..." although it was in it.
    from action_harness import GROUPS, INVENTORY, Inventory
    inventory = Inventory(dict(GROUPS, all=GROUPS["all"] + ["api"], api_clients=["api"]),
                          dict(INVENTORY, api={"ansible_host": "198.18.5.52"}))
    target = FakeTarget()
    result = make_action(FIREWALL, {"from_inventory": True, "role": "infra_service"}, target=target).run(
        task_vars=inventory.task_vars("api"))
    assert not result.get("failed") and result["skipped"] is True, result
    assert "serves no component of the matrix" in result["msg"] and target.calls == []
    outside = make_action(FIREWALL, {"from_inventory": True, "role": "pool_host"}, target=target).run(
        task_vars=inventory.task_vars("api"))
    assert outside["failed"] is True and "api is in none of the groups pool_hosts" in outside["msg"]


class StalledConnection(FakeConnection):
    """The guard's read never gets an answer, as on a stalled SSH session (bounded here: 30 s)."""

    def exec_command(self, cmd, in_data=None, sudoable=True):
        import select
        import socket
        self.commands.append((cmd, sudoable))
        ours, theirs = socket.socketpair()
        try:
            select.select([ours], [], [], 30)
        finally:
            ours.close()
            theirs.close()
        return 0, b"", b""


def test_a_stalled_guard_read_fails_at_the_host_timeout_and_closes_the_connection(run_tmp, inventory):
    """The guard's read on a stalled session never returned and the play hung (issue 18, item 4)."""
    import time
    connection, target = StalledConnection(), FakeTarget()
    started = time.time()
    with pytest.raises(AnsibleActionFail, match=r"^a1: no answer from the host within 1s \(portmatrix_host_timeout\) "
                                                r"while reading the address of its SSH connection \(the SSH guard\)"):
        make_action(FIREWALL, {"from_inventory": True}, connection=connection, target=target).run(
            task_vars=inventory.task_vars("a1", portmatrix_host_timeout=1))
    assert time.time() - started < 10
    assert target.calls == [] and connection.resets == 1  # the module never ran; the stalled session is closed


def test_a_bad_host_timeout_names_the_host_before_anything_is_sent(run_tmp, inventory):
    connection, target = FakeConnection(), FakeTarget()
    bad = inventory.task_vars("a1", portmatrix_host_timeout="soon")
    result = make_action(FIREWALL, {"from_inventory": True}, connection=connection, target=target).run(task_vars=bad)
    assert result["failed"] and "a1: portmatrix_host_timeout must be a whole number of seconds" in result["msg"]
    with pytest.raises(AnsibleActionFail, match="a1: portmatrix_host_timeout must be a whole number of seconds"):
        make_action(FIREWALL, {"components": ["pool_host"]}, connection=connection, target=target).run(task_vars=bad)
    assert connection.commands == [] and target.calls == []
