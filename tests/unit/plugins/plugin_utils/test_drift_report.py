# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift report's states, causes and table (plugins/plugin_utils/drift_report.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import drift_report as report

RUN = "/tmp/ansible-local-1"
PLAN = {"portmatrix": {"manage": True}, "run": RUN}
JUMP = "-A INPUT -j PMX-INPUT"
SSH_ERROR = ("Failed to connect to the host via ssh: ssh: connect to host 198.18.0.9 port 22: "
             "Connection refused")


def result(**values):
    out = {"run": RUN, "backend": "iptables", "drift": False, "unsaved": False, "failed": False,
           "rules_added": {"4": [], "6": []}, "rules_removed": {"4": [], "6": []}, "saved_added": {}, "saved_removed": {}}
    out.update(values)
    return out


def test_replaced_saved_file_is_unsaved_with_its_lines():
    """A replaced saved file showed 'DRIFT 0 0' with no line: the module sets drift whenever unsaved is."""
    row = report.host_row("license", PLAN, result(drift=True, unsaved=True, saved_added={"4": [JUMP], "6": []},
                                                  saved_removed={"4": []}))
    assert row["status"] == "UNSAVED"
    assert row["saved_missing"] == [{"family": "IPv4", "where": "saved", "line": JUMP}]
    assert "saved rules differ (1 missing, 0 extra)" in row["cause"]
    lines = report.table_lines(report.summary([row]))
    assert any(line.split() == ["+", "IPv4", "saved", "-A", "INPUT", "-j", "PMX-INPUT"] for line in lines), lines
    assert lines[-1] == "1 of 1 hosts drifted"


def test_running_drift_wins_over_unsaved_and_enforce_says_corrected():
    value = result(drift=True, unsaved=True, rules_added={"4": ["-A PMX-x -j ACCEPT"]})
    assert report.host_row("h", PLAN, value)["status"] == "DRIFT"
    assert report.host_row("h", PLAN, value, enforce=True)["status"] == "corrected"
    assert report.host_row("h", PLAN, result())["status"] == "ok"


def test_identical_lines_of_both_families_are_labelled():
    """The same missing line for IPv4 and IPv6 printed twice with no label."""
    line = "-A PMX-INPUT -p tcp -m tcp --dport 443 -j ACCEPT"
    row = report.host_row("h", PLAN, result(drift=True, rules_added={"4": [line], "6": [line]},
                                            rules_removed={"nftables": ["rule x"]}))
    lines = report.table_lines(report.summary([row]))
    shown = [l.strip() for l in lines if line in l]
    assert len(shown) == 2 and len(set(shown)) == 2, lines
    assert shown[0].startswith("+ IPv4 running") and shown[1].startswith("+ IPv6 running")
    assert any(l.strip().startswith("- nft") for l in lines)
    assert row["cause"] == "1 IPv4 running missing; 1 IPv6 running missing; 1 nft running extra"


def test_unreachable_host_says_its_connection_error():
    """An unreachable host's reason was a template error ('dict object' has no attribute 'portmatrix')."""
    registered = [None, {"unreachable": True, "changed": False, "msg": SSH_ERROR}]
    failure = {"msg": "The conditional check '__pool_host_firewall.portmatrix.manage' failed: 'dict object' "
                      "has no attribute 'portmatrix'"}
    row = report.host_row("pool-b1", PLAN, {}, registered, failure)
    assert row["status"] == "NO RESULT" and row["failed"]
    assert row["cause"] == "unreachable: " + SSH_ERROR
    summary = report.summary([row, report.host_row("ok-host", PLAN, result())])
    assert summary["outcome"] == "not_checked" and summary["no_result"] == ["pool-b1"]
    assert "no result from 1: pool-b1" in report.table_lines(summary)[-1]


def test_a_result_that_read_no_state_is_no_result():
    """A registered result without a backend (skipped, or unreachable) read nothing of the host."""
    row = report.host_row("h", PLAN, {"skipped": True, "changed": False}, failure="failed to do it")
    assert row["status"] == "NO RESULT" and row["cause"] == "failed to do it"
    failed = report.host_row("h", PLAN, result(failed=True, msg="iptables-restore: line 3 failed"))
    assert failed["status"] == "FAILED" and failed["cause"] == "iptables-restore: line 3 failed"


def test_hosts_without_plan_or_not_managed():
    assert report.host_row("h", {"failed": True, "msg": "bad"}, None)["cause"] == "bad"
    assert report.host_row("h", {"portmatrix": {"manage": False}, "run": RUN}, None) is None


def test_outcomes_and_exit_precedence():
    drifted = report.host_row("a", PLAN, result(drift=True, rules_removed={"4": ["x"]}))
    lost = report.host_row("b", PLAN, {}, [{"unreachable": True, "msg": "no route"}])
    assert report.summary([drifted])["outcome"] == "drift"
    assert report.summary([drifted], enforce=True)["outcome"] == "ok"
    assert report.summary([drifted, lost])["outcome"] == "not_checked"
    bad = report.summary([], settings_error="portmatrix_pool: host pool-a1 has no pool")
    assert bad["outcome"] == "bad_settings" and bad["error"].startswith("portmatrix_pool")
    assert set(bad) == {"schema", "enforced", "outcome", "error", "drifted", "no_result", "hosts"}
    assert report.cause_of(report.summary([lost]), "b") == "unreachable: no route"
    assert report.cause_of(report.summary([lost]), "zz") == ""


def test_host_rows_read_each_hosts_variables():
    host_vars = {"b": {"__drift_plan": PLAN, "__pool_host_firewall": {"unreachable": True, "msg": SSH_ERROR}},
                 "a": {"__drift_plan": PLAN, "portmatrix_firewall": result()},
                 "u": {"__drift_plan": {"portmatrix": {"manage": False}}}}
    rows = report.host_rows(["b", "u", "a"], host_vars)
    assert [(r["host"], r["status"]) for r in rows] == [("a", "ok"), ("b", "NO RESULT")]
    assert rows[1]["cause"].endswith("Connection refused")


def test_table_is_aligned_and_long_causes_are_cut():
    rows = [report.host_row("a-long-host-name", PLAN, result()),
            report.host_row("b", PLAN, result(failed=True, msg="x" * 1000))]
    lines = report.table_lines(report.summary(rows))
    assert lines[0].split() == ["host", "backend", "status", "missing", "extra", "cause"]
    assert lines[1].index("iptables") == lines[2].index("iptables") == len("a-long-host-name") + 2
    assert len(rows[1]["cause"]) == report.REASON_WIDTH and rows[1]["cause"].endswith("...")


def test_no_result_cause_prefers_the_connection_error():
    assert report.no_result_cause([{"failed": True, "msg": "x"}, {"unreachable": True, "msg": "timed out"}]) == \
        "unreachable: timed out"
    assert report.no_result_cause([None, {"failed": True, "msg": "MODULE FAILURE"}], "kept") == "MODULE FAILURE"
    assert report.no_result_cause([], {"msg": "kept one"}) == "kept one"
    assert report.no_result_cause([]) == "no result (unreachable or failed)"


def test_hints_and_shadowing_are_printed_and_shadowed_counts_as_drift():
    """What another tool removed (hints) and what a foreign rule opens (shadowing) reach the table."""
    gone = "the policy and ipsets are gone: another tool reset firewalld's configuration"
    shadow = "zone public: service nfs opens 2049/tcp to every source while pmx-input is not running"
    drifted = report.host_row("filer", PLAN, result(drift=True, rules_added={"firewalld": ["policy pmx-input"]},
                                                    hints=[gone], shadowing={"firewalld": [shadow]}))
    shadowed = report.host_row("filer2", PLAN, result(shadowing={"4": ["-A INPUT -p tcp --dport 2049 -j ACCEPT"]}))
    assert drifted["status"] == "DRIFT" and shadowed["status"] == "SHADOWED"
    lines = report.table_lines(report.summary([drifted, shadowed]))
    assert "    hint: " + gone in lines and "    shadowing: " + shadow in lines, lines
    assert lines[-1] == "2 of 2 hosts drifted"
    # Enforcing removes no foreign rule: the shadowed host is not corrected, and the run says so.
    enforced = report.summary([report.host_row("filer", PLAN, result(drift=True, rules_added={"4": [JUMP]}), enforce=True),
                               report.host_row("filer2", PLAN, result(shadowing={"4": ["x"]}), enforce=True)],
                              enforce=True)
    assert [row["status"] for row in enforced["hosts"]] == ["corrected", "SHADOWED"]
    assert report.summary_line(enforced) == "2 of 2 hosts drifted; 1 corrected"


def test_the_row_shows_the_plan_the_host_was_last_set_from():
    current = report.host_row("a1", PLAN, result(plan_digest={"recorded": "sha256:aa", "given": "sha256:aa"}))
    assert (current["plan_digest"], current["plan_current"]) == ("sha256:aa", True)
    older = report.host_row("a2", PLAN, result(plan_digest={"recorded": "sha256:00", "given": "sha256:aa"}))
    never = report.host_row("a3", PLAN, result(plan_digest={"recorded": None, "given": "sha256:aa"}))
    unknown = report.host_row("a4", PLAN, result())  # a module of an earlier release: no digest at all
    assert (older["plan_current"], never["plan_current"], unknown["plan_current"]) == (False, False, None)
    assert older["status"] == "ok"  # the rules are what the plan wants: another plan's digest is not drift
    lines = report.table_lines(report.summary([current, older, never, unknown]))
    assert [l.strip() for l in lines if "plan:" in l] == [
        "plan: last set from sha256:00, not from this run's plan", "plan: last set from no plan, not from this run's plan"]


ROLLBACK = {"token": "ab12", "armed_at": 1780000000, "rolled_back_at": 1780000060, "timeout": 60,
            "why": "no confirmation came within 60s", "errors": []}


def test_a_rollback_since_the_last_run_is_its_own_cause_and_counts_as_drift():
    """A rolled-back change was forgotten: no later run or drift mentioned it."""
    value = result(drift=True, rules_added={"4": ["-A PMX-x -j ACCEPT"]}, rolled_back_since=[ROLLBACK])
    row = report.host_row("pool-a3", PLAN, value)
    assert row["status"] == "ROLLED BACK" and row["rolled_back"] == [ROLLBACK]
    assert row["cause"].startswith("rolled back since the last run: the change of 2026-05-28 20:26:40 UTC was put "
                                   "back at 2026-05-28 20:27:40 UTC (no confirmation came within 60s)")
    assert row["cause"].endswith("; 1 IPv4 running missing")  # and what the rollback left differing
    built = report.summary([row])
    assert built["outcome"] == "drift" and built["drifted"] == ["pool-a3"]
    assert any("ROLLED BACK" in line for line in report.table_lines(built))
    # a rollback alone (the host runs the plan again) is still reported
    assert report.host_row("h", PLAN, result(rolled_back_since=[ROLLBACK]))["status"] == "ROLLED BACK"
    assert report.host_row("h", PLAN, result(rolled_back_since=[]))["status"] == "ok"


def test_every_row_lines_up_with_the_header_whatever_its_status():
    """'ROLLED BACK' was one character wider than the status column and pushed the rest of its row right."""
    rows = [report.host_row("pool-a1", PLAN, result()),
            report.host_row("pool-a2", PLAN, result(drift=True, rules_added={"4": [JUMP]})),
            report.host_row("pool-a3", PLAN, result(rolled_back_since=[ROLLBACK], drift=True,
                                                    rules_added={"4": [JUMP], "6": [JUMP]})),
            report.host_row("filer", PLAN, result(drift=True, unsaved=True, saved_added={"4": [JUMP]})),
            report.host_row("license", PLAN, result(failed=True, msg="MODULE FAILURE")),
            report.host_row("gone", PLAN, None, [{"unreachable": True, "msg": "timed out"}]),
            report.host_row("pool-b1", PLAN, result(drift=True, rules_added={"4": [JUMP]}), enforce=True)]
    statuses = set(row["status"] for row in rows)
    assert set(["ok", "DRIFT", "ROLLED BACK", "UNSAVED", "FAILED", "NO RESULT", "corrected"]) <= statuses, statuses
    lines = report.table_lines(report.summary(rows, enforce=True))
    head = lines[0]
    for row in rows:
        line = next(text for text in lines if text.startswith(row["host"] + " "))
        padded = line + " " * len(head)  # a row without a cause ends at its last number
        for column, value in (("backend", row["backend"]), ("status", row["status"])):
            start = head.index(column)  # left-aligned under its heading
            assert line[start - 1] == " " and line[start:start + len(value) + 1] == value + " ", (row, line)
        for column, value in (("missing", len(row["missing"]) + len(row["saved_missing"])),
                              ("extra", len(row["extra"]) + len(row["saved_extra"]))):
            end = head.index(column) + len(column)  # right-aligned under its heading
            assert line[:end].endswith(" %d" % value) and padded[end] == " ", (row, line)
        assert line[head.index("cause"):] == row["cause"], (row, line)
