# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The transaction's bookkeeping, over a backend that keeps its state in a list.

The real backends are exercised on real netfilter and firewalld in tests/integration."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.portmatrix.xenserver.plugins.module_utils.transaction import (
    Transaction, TransactionError, line_changes)


class ListBackend:
    name = "list"

    def __init__(self, state, saved=None, broken=False, save_fails=False):
        self.state, self.saved, self.broken, self.writes, self.saves = list(state), saved, broken, 0, 0
        self.save_fails = save_fails

    def read(self):
        return list(self.state)

    def views(self, state, plan):
        return {4: state}, {4: list(plan)}

    def write(self, state, plan):
        self.writes += 1
        self.state = list(plan) + (["stray"] if self.broken else [])

    def saved_views(self, plan):
        return (None, None) if self.saved is None else ({4: self.saved}, {4: list(plan)})

    def save(self, plan):
        self.saves += 1
        if self.save_fails:
            raise RuntimeError("cannot save: read-only file system")
        if self.saved is not None:
            self.saved = list(self.state)

    @staticmethod
    def rule_count(views):
        return dict((k, len(v)) for k, v in views.items())

    @staticmethod
    def shadowing(state, plan):
        return {}

    # a snapshot is one restore step that this backend's run() understands
    def snapshot(self, state):
        return [{"run": ["put-back"], "stdin": json.dumps(state)}]

    def running_steps(self, state):
        return [{"list": list(state)}]

    def save_steps(self, plan):
        return [{"write": "/saved", "text": "\n".join(plan), "mode": 0o600}]

    def run(self, argv, data=None):
        assert argv == ["put-back"]
        self.state = json.loads(data)
        return 0, "", ""


def test_an_armed_change_leaves_the_saving_to_its_confirmation():
    """The confirmation ran the whole module again (plan, read, compare) to save the rules: it now gets the
    save steps and the running scope as read back from the change, and no save happens before it."""
    backend = ListBackend(["a"], saved=["a"])
    armed = []
    result = Transaction(backend, ["a", "b"], arm=lambda steps, **kept: armed.append((steps, kept)) or {"token": "t"}).run()
    assert result["changed"] and result["confirm"] == {"token": "t"} and result["persisted"] is False
    assert backend.writes == 1 and backend.saves == 0 and backend.saved == ["a"]
    [(steps, kept)] = armed
    assert steps == [{"run": ["put-back"], "stdin": json.dumps(["a"])}]  # back to before the change
    assert kept == {"commit": [{"write": "/saved", "text": "a\nb", "mode": 0o600}],  # what the confirmation saves
                    "applied": [{"list": ["a", "b"]}]}  # what it checks first: the scope read back


def test_line_changes_reports_reorder():
    assert line_changes(["a", "b"], ["a", "b"]) == ([], [])
    assert line_changes(["a"], ["a", "b"]) == (["b"], [])
    assert line_changes(["b", "a"], ["a", "b"]) == (["a", "b"], ["b", "a"])


def test_equal_state_writes_nothing():
    backend = ListBackend(["a"], saved=["a"])
    result = Transaction(backend, ["a"]).run()
    assert result["changed"] is False and backend.writes == 0 and backend.saves == 0


def test_check_mode_reports_and_touches_nothing():
    backend = ListBackend(["a", "x"], saved=["a"])
    result = Transaction(backend, ["a", "b"], check_mode=True).run()
    assert result["changed"] and result["drift"]
    assert result["rules_added"] == {4: ["b"]} and result["rules_removed"] == {4: ["x"]}
    assert backend.writes == 0 and backend.state == ["a", "x"]


def test_apply_then_save_when_only_saved_differs():
    backend = ListBackend(["a"], saved=[])
    result = Transaction(backend, ["a"]).run()
    assert result["changed"] and result["drift"] and result["unsaved"]   # unsaved is drift
    assert result["rules_added"] == {4: []} and "# saved IPv4\na\n" in result["diff"]["after"]
    assert backend.writes == 0 and backend.saves == 1 and result["persisted"]


def test_read_back_mismatch_fails_loudly():
    with pytest.raises(TransactionError) as err:
        Transaction(ListBackend([], broken=True), ["a"], persist=False).run()
    assert "differs from the plan" in str(err.value)


def test_a_failed_read_back_puts_the_previous_state_back():
    backend = ListBackend(["old"], broken=True)
    with pytest.raises(TransactionError) as err:
        Transaction(backend, ["a"], persist=False).run()
    assert "was put back as it was before this run" in str(err.value)
    assert backend.state == ["old"] and backend.writes == 1


def test_a_failed_save_puts_the_running_state_back():
    backend = ListBackend(["old"], saved=["old"], save_fails=True)
    with pytest.raises(TransactionError) as err:
        Transaction(backend, ["a", "b"]).run()
    assert "cannot save: read-only file system" in str(err.value) and "put back" in str(err.value)
    assert backend.state == ["old"] and backend.writes == 1 and backend.saves == 1


def test_check_mode_names_the_saved_lines_that_differ():
    """A replaced saved file showed as drift with no line: the saved differences were only in the diff."""
    backend = ListBackend(["a", "b"], saved=["a", "stock"])
    result = Transaction(backend, ["a", "b"], check_mode=True).run()
    assert result["unsaved"] and result["rules_added"] == {4: []} and result["rules_removed"] == {4: []}
    assert result["saved_added"] == {4: ["b"]} and result["saved_removed"] == {4: ["stock"]}
    nothing_saved = Transaction(ListBackend(["a"]), ["a"], check_mode=True).run()
    assert nothing_saved["saved_added"] == {} and nothing_saved["saved_removed"] == {}


def test_the_diff_shows_a_saved_view_only_where_it_says_something_else():
    # Issue 18 item 11: --check --diff printed each host's rules four times (IPv4, IPv6, saved IPv4,
    # saved IPv6) although the saved files were in order.
    in_order = Transaction(ListBackend(["a"], saved=["a"]), ["a", "b"], check_mode=True).run()["diff"]
    assert in_order == {"before": "# IPv4\na\n# saved IPv4: the same rules as IPv4\n",
                        "after": "# IPv4\na\nb\n# saved IPv4: the same rules as IPv4\n"}
    annotated = ListBackend(["a  # after 1 rule(s) of INPUT"], saved=["a  # after 0 rule(s) of INPUT"])
    assert "the same rules" in Transaction(annotated, ["a"], check_mode=True).run()["diff"]["after"]
    replaced = Transaction(ListBackend(["a"], saved=["x"]), ["a", "b"], check_mode=True).run()["diff"]
    assert replaced == {"before": "# IPv4\na\n# saved IPv4\nx\n", "after": "# IPv4\na\nb\n# saved IPv4\na\nb\n"}
    unsaved = Transaction(ListBackend(["a"]), ["a"], persist=False, check_mode=True).run()["diff"]
    assert unsaved == {"before": "# IPv4\na\n", "after": "# IPv4\na\n"}
