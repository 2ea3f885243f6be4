# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift playbook's report, as plain functions (no Ansible needed).

host_rows():  one row per host of the run, with its state and the cause of that state;
table_lines(): the fixed-width table the playbook prints;
summary():    what the JSON report (portmatrix_drift_report) and set_stats carry.

The JSON schema is documented in docs/guides/scheduled-drift.md; keep the two together.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portmatrix.xenserver.plugins.module_utils.confirm import describe_rollbacks

# States, and which outcome each one counts towards.
OK, DRIFT, UNSAVED, CORRECTED, FAILED, NO_RESULT = "ok", "DRIFT", "UNSAVED", "corrected", "FAILED", "NO RESULT"
# A foreign rule or zone opens a port the matrix restricts, and nothing else differs.
SHADOWED = "SHADOWED"
# A change of an earlier run was not confirmed and the host put its previous rules back; no run
# reported it yet (the module's rolled_back_since). It counts as drift: the host does not run what
# the last run set. Check mode (drift) shows it every time; a run that applies reports it once.
ROLLED_BACK = "ROLLED BACK"
DRIFTED_STATES = (DRIFT, UNSAVED, SHADOWED, CORRECTED, ROLLED_BACK)
NOT_CHECKED_STATES = (NO_RESULT, FAILED)
# The table's status column fits every status, so that the columns after it line up on every row.
STATUS_WIDTH = max(len(status) for status in (OK,) + DRIFTED_STATES + NOT_CHECKED_STATES)

# Outcome of the run and the exit status ansible-playbook gives for it (docs/guides/scheduled-drift.md).
OUTCOME_OK, OUTCOME_DRIFT, OUTCOME_NOT_CHECKED, OUTCOME_BAD_SETTINGS = "ok", "drift", "not_checked", "bad_settings"
SCHEMA = 2

# Results the run registers for a host's firewall_rules call (the first one present is read): the
# drift playbook's own call, then the roles' calls. An unreachable host's reason is in there.
FIREWALL_REGISTERS = ("portmatrix_firewall", "__pool_host_firewall", "__storage_filer_firewall",
                      "__license_server_firewall", "__infra_service_firewall")

REASON_WIDTH = 300


def family_label(key):
    """The label of one view key of the module's results: 4 -> IPv4, 'nftables' -> nft."""
    text = str(key)
    if text in ("4", "6"):
        return "IPv" + text
    return {"nftables": "nft"}.get(text, text)


def labelled_lines(by_key, where):
    """[(label, line)] of a per-family dict of lines; label is e.g. 'IPv4 running'."""
    out = []
    for key in sorted(by_key or {}, key=str):
        for line in by_key[key] or []:
            out.append({"family": family_label(key), "where": where, "line": line})
    return out


def _text(value, width=REASON_WIDTH):
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[:width - 3] + "..."


def _mapping(value):
    return value if isinstance(value, dict) else {}


def no_result_cause(registered, failure=None):
    """Why a host gave no result: the connection's own error of the first registered
    firewall_rules result that was unreachable ('unreachable: <error>'), else the message of one
    that failed, else the failure the run kept for the host."""
    results = [_mapping(result) for result in registered]
    for result in results:
        if result.get("unreachable"):
            return "unreachable: " + _text(result.get("msg") or "no message")
    for result in results:
        if result.get("failed"):
            return _text(result.get("msg") or "failed")
    kept = failure.get("msg") if isinstance(failure, dict) else failure
    return _text(kept or "no result (unreachable or failed)")


def host_row(host, plan, result, registered=(), failure=None, enforce=False):
    """One host's row.

    plan: what portmatrix.xenserver.plan returned for the host in this run;
    result: what the host's one firewall_rules call of this run returned (registered as
    portmatrix_firewall; a registered result belongs to this run, so it is never stale);
    registered: registered firewall_rules results of the run (for an unreachable host's error);
    failure: the failure the run kept for the host (its rescue), if any.
    Returns None for a host the collection does not manage (it is not listed)."""
    plan, result = _mapping(plan), _mapping(result)
    row = {"host": host, "status": NO_RESULT, "backend": "-", "cause": "", "missing": [], "extra": [],
           "saved_missing": [], "saved_extra": [], "hints": [], "shadowing": [], "rolled_back": [],
           "drift": False, "unsaved": False, "failed": True, "plan_digest": None, "plan_current": None}
    facts = _mapping(plan.get("portmatrix"))
    if not facts:
        row["cause"] = _text(plan.get("msg") or "unreachable or failed before its plan was worked out")
        return row
    if not facts.get("manage"):
        return None
    if not result or (not result.get("backend") and not result.get("failed")):
        # unreachable, or skipped before the call: no state was read
        row["cause"] = no_result_cause(registered, failure)
        return row
    missing = labelled_lines(result.get("rules_added"), "running")
    extra = labelled_lines(result.get("rules_removed"), "running")
    saved_missing = labelled_lines(result.get("saved_added"), "saved")
    saved_extra = labelled_lines(result.get("saved_removed"), "saved")
    unsaved = bool(result.get("unsaved"))
    running = bool(missing or extra) or (bool(result.get("drift")) and not unsaved)
    shadowing = [line for lines in _mapping(result.get("shadowing")).values() for line in (lines or [])]
    row.update(backend=result.get("backend") or "-", missing=missing, extra=extra, saved_missing=saved_missing,
               saved_extra=saved_extra, drift=running or unsaved, unsaved=unsaved, failed=bool(result.get("failed")),
               hints=list(result.get("hints") or []), shadowing=shadowing,
               rolled_back=[record for record in result.get("rolled_back_since") or [] if isinstance(record, dict)])
    row.update(plan_of(result))
    if row["failed"]:
        row.update(status=FAILED, cause=_text(result.get("msg") or "failed"))
    elif running or unsaved:
        row["status"] = CORRECTED if enforce else (DRIFT if running else UNSAVED)
        row["cause"] = _cause(missing, extra, saved_missing, saved_extra, unsaved)
    elif shadowing:
        # Enforcing does not remove another tool's rules: a shadowed host stays shadowed.
        row.update(status=SHADOWED, cause="%d foreign rule(s) open ports the matrix restricts" % len(shadowing))
    else:
        row["status"] = OK
    if row["rolled_back"] and not row["failed"]:
        # first in the cause: the rest (the lines the rollback brought back) follows from it
        row["cause"] = "; ".join([_text("; ".join(describe_rollbacks(row["rolled_back"])))]
                                 + ([row["cause"]] if row["cause"] else []))
        row["status"] = ROLLED_BACK
    return row


def plan_of(result):
    """The digest of the plan the host was last set from (/etc/portmatrix/plan-digest, null when none
    is recorded) and whether it is the plan of this run (null when the run had no digest)."""
    digests = _mapping(result.get("plan_digest"))
    recorded, given = digests.get("recorded"), digests.get("given")
    return {"plan_digest": recorded, "plan_current": (recorded == given) if given else None}


def _cause(missing, extra, saved_missing, saved_extra, unsaved):
    parts = []
    for lines, what in ((missing, "missing"), (extra, "extra")):
        for label in _labels(lines):
            parts.append("%s %s %s" % (sum(1 for line in lines if _label(line) == label), label, what))
    if unsaved:
        if saved_missing or saved_extra:
            parts.append("saved rules differ (%d missing, %d extra): the next boot loads other rules"
                         % (len(saved_missing), len(saved_extra)))
        else:
            parts.append("saved rules differ from the running ones: the next boot loads other rules")
    return "; ".join(parts) or "the rules differ"


def _label(line):
    return "%s %s" % (line["family"], line["where"])


def _labels(lines):
    seen = []
    for line in lines:
        if _label(line) not in seen:
            seen.append(_label(line))
    return seen


def host_rows(hosts, host_vars, enforce=False):
    """Rows of the hosts of the run (sorted by name), from each host's variables: the plan
    (__drift_plan), the firewall result (portmatrix_firewall), registered firewall results
    (FIREWALL_REGISTERS) and a kept failure (__drift_failure)."""
    rows = []
    for host in sorted(hosts):
        hv = host_vars[host]
        row = host_row(host, _get(hv, "__drift_plan"), _get(hv, "portmatrix_firewall"),
                       [_get(hv, name) for name in FIREWALL_REGISTERS], _get(hv, "__drift_failure"), enforce)
        if row is not None:
            rows.append(row)
    return rows


def _get(host_vars, name):
    try:
        return host_vars.get(name) if hasattr(host_vars, "get") else host_vars[name]
    except KeyError:
        return None


def summary(rows, enforce=False, settings_error=None):
    """The report: the rows, who drifted, who could not be checked, and the outcome. With
    settings_error (the settings check failed, nothing was checked) the outcome is bad_settings."""
    drifted = [row["host"] for row in rows if row["status"] in DRIFTED_STATES]
    not_checked = [row["host"] for row in rows if row["status"] in NOT_CHECKED_STATES]
    outcome = OUTCOME_BAD_SETTINGS if settings_error else OUTCOME_NOT_CHECKED if not_checked else \
        OUTCOME_DRIFT if drifted and not enforce else OUTCOME_OK
    return {"schema": SCHEMA, "enforced": bool(enforce), "outcome": outcome,
            "error": _text(settings_error, 2000) if settings_error else "",
            "drifted": drifted, "no_result": not_checked, "hosts": rows}


# Where the drift playbook keeps a failed settings check, on localhost (run_hosts()).
SETTINGS_ERROR_VAR = "__drift_settings_error"


def run_hosts(localhost_vars):
    """(hosts, settings error) of a drift run, from localhost's variables: the rollout's order of
    the hosts (ansible_facts.portmatrix_rollout.order), or [] and the message that stops the run
    (exit status 1) when the settings check failed."""
    error = _get(localhost_vars, SETTINGS_ERROR_VAR)
    if error:
        return [], "bad settings, so no host was checked (exit status 1): %s" % _text(error, 2000)
    rollout = _mapping(_mapping(_get(localhost_vars, "ansible_facts")).get("portmatrix_rollout"))
    return list(rollout.get("order") or []), ""


def cause_of(report, host):
    """The cause in host's row of the report, '' when the host has no row."""
    for row in report.get("hosts") or []:
        if row.get("host") == host:
            return row.get("cause") or ""
    return ""


def table_lines(report):
    """The table the playbook prints: one line per host, then its differing lines, each labelled
    with its family and whether it is the running or the saved rules; then one summary line."""
    rows = report["hosts"]
    width = max([len(row["host"]) for row in rows] + [4])
    backend_width = max([len(row["backend"]) for row in rows] + [10])
    head = "%-*s  %-*s %-*s %8s %8s  %s" % (
        width, "host", backend_width, "backend", STATUS_WIDTH, "status", "missing", "extra", "cause")
    lines = [head.rstrip()]
    for row in rows:
        lines.append(("%-*s  %-*s %-*s %8d %8d  %s" % (
            width, row["host"], backend_width, row["backend"], STATUS_WIDTH, row["status"],
            len(row["missing"]) + len(row["saved_missing"]),
            len(row["extra"]) + len(row["saved_extra"]), row["cause"])).rstrip())
        lines.extend("    hint: %s" % line for line in row.get("hints") or [])
        lines.extend("    shadowing: %s" % line for line in row.get("shadowing") or [])
        if row.get("plan_current") is False:
            lines.append("    plan: last set from %s, not from this run's plan" % (row.get("plan_digest") or "no plan"))
        for sign, key in (("+", "missing"), ("-", "extra"), ("+", "saved_missing"), ("-", "saved_extra")):
            for line in row[key]:
                lines.append("    %s %-14s %s" % (sign, _label(line), line["line"]))
    lines.append(summary_line(report))
    return lines


def summary_line(report):
    drifted, not_checked = report["drifted"], report["no_result"]
    text = "%d of %d hosts drifted" % (len(drifted), len(report["hosts"]))
    corrected = [row["host"] for row in report["hosts"] if row["status"] == CORRECTED]
    if report["enforced"] and corrected:
        text += "; corrected" if len(corrected) == len(drifted) else "; %d corrected" % len(corrected)
    if not_checked:
        text += "; no result from %d: %s" % (len(not_checked), ", ".join(not_checked))
    return text
