# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of portmatrix.xenserver.firewall_rules (paired like ansible.builtin.template).

- from_inventory: the engine (plugin_utils/engine.py) fills the module's arguments from the
  inventory, worked out once per run for the whole inventory (plugin_utils/from_inventory.py);
- the SSH guard: the address the connection comes from is read on the connection itself,
  before become, since sudo's env_reset drops SSH_CONNECTION;
- commit confirmed: a change is confirmed from a new connection.

The arguments are checked against the module's own argument_spec before anything is sent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import time

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.plugins.action import ActionBase

from ansible_collections.portmatrix.xenserver.plugins.module_utils import confirm
from ansible_collections.portmatrix.xenserver.plugins.modules.firewall_rules import ARGUMENT_SPEC
from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import deadline, inventory, settings
from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import from_inventory as from_inventory_mod

MODULE = "portmatrix.xenserver.firewall_rules"
ACTION_ONLY = ("from_inventory", "expect_components", "role", "refresh")
SSH_TRANSPORTS = ("ssh", "paramiko", "paramiko_ssh")
# OpenSSH options for a connection of its own, not through (nor becoming) a multiplexing master
OWN_CONNECTION = "-o ControlMaster=no -o ControlPath=none"


class _ResetFailed(RuntimeError):
    """The connection plugin could not close its connection (so the next one would not be new)."""


class ActionModule(ActionBase):

    def run(self, tmp=None, task_vars=None):
        result = self._run(tmp, task_vars)
        if result.get("failed") and isinstance(result.get("portmatrix"), dict):
            # a failure is printed whole: it says what failed, not the host's whole plan again
            result["portmatrix"] = from_inventory_mod.failure_summary(result["portmatrix"])
        return result

    def _run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        validation, checked = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        # only what the task says goes to the module (the engine's values are not overridden by defaults)
        args = dict((k, v) for k, v in checked.items() if k in self._task.args and k not in ACTION_ONLY)
        host = task_vars.get("inventory_hostname")

        done = task_vars.get("portmatrix_firewall")
        if checked["role"] and isinstance(done, dict) and "portmatrix" in done and not done.get("failed"):
            # one call per host and run: a role after the playbook's call (or another role's) reads its result
            missing = from_inventory_mod.missing_role(dict(done["portmatrix"], host=host), checked["role"])
            if missing:
                result.update(failed=True, msg=missing, portmatrix=done["portmatrix"])
                return result
            result.update((k, v) for k, v in done.items() if k != "diff" and not k.startswith("_ansible"))
            result.update(changed=False, msg="this host's firewall was applied earlier in this run")
            return result

        call = None
        if checked["from_inventory"]:
            call, problem = from_inventory_mod.host_call(self, task_vars, checked["refresh"])
            if problem:
                result.update(failed=True, msg=problem)
                return result
            result["portmatrix"] = from_inventory_mod.summary(call)
            missing = (from_inventory_mod.missing_component(call, checked["expect_components"])
                       or from_inventory_mod.missing_role(call, checked["role"]))
            if missing:
                result.update(failed=True, msg=missing)
                return result
            if not call["manage"]:
                why = ("portmatrix_manage_firewall is false" if not call["windows"] and call["served"] else
                       "it has a Windows connection" if call["windows"] else
                       "it serves no component of the matrix (a source only, or in no component group)")
                result.update(changed=False, skipped=True, skip_reason="not managed: %s" % why,
                              msg="%s is not managed by portmatrix.xenserver: %s" % (host, why))
                return result
            module_args = dict(call["args"], plan_digest=call.get("plan_digest"))
            module_args.update(args)  # what the task says overrides what the engine computed
        else:
            module_args = args

        if checked["ssh_guard"]:
            module_args["guard_sources"], module_args["guard_port"] = self._within(
                task_vars, "reading the address of its SSH connection (the SSH guard)", "; nothing was changed",
                self._guard, module_args.get("guard_sources") or [], call, module_args.get("guard_port"))

        module_result = self._within(
            task_vars, "running the firewall_rules module", "; nothing was changed" if self._play_context.check_mode
            else "; a change it made rolls back by itself unless confirmed (portmatrix_confirm_timeout)",
            self._execute_module, module_name=MODULE, module_args=module_args, task_vars=task_vars)
        if module_result.get("confirm") and not module_result.get("failed") and not self._play_context.check_mode:
            module_result = self._confirm(module_result, task_vars)
        result.update(module_result)
        return result

    # ---- commit confirmed ----------------------------------------------------------------
    def _confirm(self, applied, task_vars):
        """The change is armed to roll back by itself on the host; only a NEW connection from
        the controller may confirm it (an open, multiplexed one survives a firewall that
        refuses new connections).  The confirmation carries only the change's token: a small
        program armed with the change writes the saved rules (no module, no plan again)."""
        armed = applied["confirm"]
        returned = time.time()  # the host armed its rollback just before this
        started = time.time()
        confirmed, error = self._confirm_once(armed, task_vars)
        if confirmed is None:
            # The host puts the old rules back by itself at its deadline: wait for that, then look.
            time.sleep(max(0.0, float(armed["timeout"]) - (time.time() - returned)) + 3)
            confirmed, later = self._confirm_once(armed, task_vars)
            if confirmed is None:
                return dict(applied, failed=True, confirmed=False, msg=(
                    "the change could not be confirmed: no new connection to the host after it (%s); the host was to "
                    "roll back by itself %ss after the change, but it is still unreachable (%s)"
                    % (error, armed["timeout"], later)))
            if confirmed.get("rolled_back"):
                confirmed["msg"] = ("the change was rolled back: the controller could not open a new connection to "
                                    "the host after it (%s), so the host put its previous rules back by itself after "
                                    "%ss. %s" % (error, armed["timeout"], confirmed.get("msg", "")))
        result = dict(applied)
        host_seconds = confirmed.pop("host_seconds", None)
        result.update(confirmed)
        result["confirm"] = dict(armed, confirmed=bool(confirmed.get("confirmed")),
                                 seconds=round(time.time() - started, 3), host_seconds=host_seconds)
        return result

    def _confirm_once(self, armed, task_vars):
        """(what the host did, None), or (None, why) when no new connection could be opened.
        Over a new connection and with become (saving needs root), the host's confirm program
        (confirm.confirm_argv) gets the token and answers one line of JSON."""
        try:
            command = " ".join(self._connection._shell.quote(word)  # pylint: disable=protected-access
                               for word in confirm.confirm_argv(armed["python"], armed["token"]))
            with self._new_connection():
                ran = self._within(task_vars, "confirming the change from a new connection",
                                   "; unconfirmed, the change rolls back by itself at its deadline",
                                   self._low_level_execute_command, command, sudoable=True)
        except AnsibleConnectionFailure as exc:
            return None, str(exc).strip().splitlines()[-1] if str(exc).strip() else "connection failed"
        except confirm.ConfirmError as exc:
            return dict(failed=True, confirmed=False, msg=str(exc)), None
        except _ResetFailed as exc:
            return None, "could not close the previous connection: %s" % exc
        if ran.get("rc") == 255:
            return None, (ran.get("stderr") or "").strip() or "connection failed"
        answers = [line for line in (ran.get("stdout") or "").splitlines() if line.startswith("{")]
        try:
            done = json.loads(answers[-1])
        except (IndexError, ValueError):
            return dict(failed=True, confirmed=False, msg=(
                "the confirmation failed on the host (exit %s): %s; the host rolls the change back by itself at its "
                "deadline" % (ran.get("rc"), (ran.get("stderr") or ran.get("stdout") or "no output").strip()[-2000:]))), None
        if done.get("rolled_back"):
            record = done["rolled_back"]
            errors = record.get("errors") or []
            done = dict(failed=True, changed=True, rolled_back=True, rollback=record, confirmed=False, msg=(
                "the change was rolled back at %s, %ss after it: no confirmation came%s" % (
                    time.strftime("%H:%M:%S UTC", time.gmtime(record.get("rolled_back_at") or 0)), record.get("timeout"),
                    "; the rollback reported errors: %s" % "; ".join(errors) if errors else "")))
        return done, None

    @contextlib.contextmanager
    def _new_connection(self):
        """The next command goes over a NEW connection. With OpenSSH, a connection of its own
        (ControlMaster=no, ControlPath=none: ssh takes the first value it is given for an option, so
        these win over the user's ssh_args and common/extra args), which leaves the multiplexed one
        open for the tasks after it and spares closing it (ssh -O check, ssh -O stop); with any other
        connection plugin, its reset() (paramiko reconnects)."""
        transport = (getattr(self._connection, "transport", "") or "").split(".")[-1]
        if transport != "ssh":
            try:
                self._connection.reset()
            except Exception as exc:  # pylint: disable=broad-except
                raise _ResetFailed(exc)
            yield
            return
        ssh_args = self._connection.get_option("ssh_args") or ""
        self._connection.set_option("ssh_args", ("%s %s" % (OWN_CONNECTION, ssh_args)).strip())
        try:
            yield
        finally:
            self._connection.set_option("ssh_args", ssh_args)

    # ---- the SSH guard -------------------------------------------------------------------
    def _guard(self, sources, call, port):
        """Controllers the guard accepts: the task's, portmatrix_controllers, and the address
        this connection comes from, read before become."""
        sources = list(sources) + list((call or {}).get("settings", {}).get("controllers") or [])
        transport = getattr(self._connection, "transport", "") or ""
        if transport.split(".")[-1] in SSH_TRANSPORTS:
            seen = self._low_level_execute_command('echo "$SSH_CONNECTION"', sudoable=False)
            words = (seen.get("stdout") or "").split()
            if seen.get("rc") == 0 and len(words) == 4:
                if words[0] not in sources:
                    sources.append(words[0])
                port = port or int(words[3])
        return sources, port or 22

    # ---- a deadline on each step that talks to the host (portmatrix_host_timeout) --------
    def _within(self, variables, step, after, function, *args, **kwargs):
        """function(*args, **kwargs) under the host's deadline; past it, the stalled connection
        is closed and the task fails with one message naming the host and the step."""
        host = variables.get("inventory_hostname")
        given = inventory.pick(variables, ("portmatrix_host_timeout",), self._templar.template)
        try:
            seconds = settings.check("portmatrix_host_timeout", given.get(
                "portmatrix_host_timeout", settings.SETTINGS["portmatrix_host_timeout"].default))
        except ValueError as exc:
            raise AnsibleActionFail("%s: portmatrix_host_timeout %s" % (host, exc))
        try:
            with deadline.deadline(seconds, host, step, after):
                return function(*args, **kwargs)
        except deadline.HostTimeout as exc:
            try:  # the next step (or run) must not queue behind the stalled session
                with deadline.deadline(10, host, "closing the stalled connection"):
                    self._connection.reset()
            except Exception:  # pylint: disable=broad-except
                pass
            raise AnsibleActionFail(str(exc))
