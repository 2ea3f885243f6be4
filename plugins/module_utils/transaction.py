# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One transaction per host: read, compare, write once, read back, persist.

Check mode lives here and only here: backends implement read/views/write/save and
never see it.  Views are lists of comparable lines of the owned scope, per family.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portmatrix.xenserver.plugins.module_utils import _restore_runner, drift_hints, restore


class TransactionError(RuntimeError):
    pass


def line_changes(now, want):
    """Lines to add and to remove; a reordering shows as both."""
    if now == want:
        return [], []
    want_set, now_set = set(want), set(now)
    added = [line for line in want if line not in now_set]
    removed = [line for line in now if line not in want_set]
    if not added and not removed:  # same lines, other order: the order is the change
        removed, added = list(now), list(want)
    return added, removed


class Transaction:

    def __init__(self, backend, plan, check_mode=False, persist=True, arm=None):
        self.backend = backend
        self.plan = plan
        self.check_mode = check_mode
        self.persist = persist
        # arm(steps, commit=, applied=) -> confirm info: commit confirmed (confirm.py). The running
        # rules change now; the saved ones only when a new connection confirms (the commit steps).
        self.arm = arm

    def _compare(self, state):
        now, want = self.backend.views(state, self.plan)
        added, removed = {}, {}
        for key in want:
            added[key], removed[key] = line_changes(now.get(key, []), want[key])
        return now, want, added, removed

    def _saved(self):
        """(saved views, as they should be), or (None, None) when nothing is saved."""
        if not self.persist:
            return None, None
        return self.backend.saved_views(self.plan)

    def _saved_drift(self):
        saved_now, saved_want = self._saved()
        return saved_now is not None and saved_now != saved_want

    def run(self):
        current = self.backend.read()
        now, want, added, removed = self._compare(current)
        running_drift = any(added.values()) or any(removed.values())
        saved_now, saved_want = self._saved()
        unsaved = saved_now is not None and saved_now != saved_want
        result = {
            "changed": running_drift or unsaved,
            # Unsaved is drift: after the next boot such a host runs what its saved rules say.
            "drift": running_drift or unsaved,
            "unsaved": unsaved,
            "backend": self.backend.name,
            "rules_added": added,
            "rules_removed": removed,
            # the saved rules' own differences, per key, so that a report can show them
            "saved_added": _saved_changes(saved_now, saved_want, 0),
            "saved_removed": _saved_changes(saved_now, saved_want, 1),
            "rule_count": self.backend.rule_count(want),
            "shadowing": self.backend.shadowing(current, self.plan),
            # what is gone and the likely cause (another tool managing the same firewall)
            "hints": drift_hints.hints(self.backend.name, now, want, saved_now, saved_want) if running_drift or unsaved else [],
            "diff": _diff(now, want, saved_now or {}, saved_want or {}),
            "persisted": False,
        }
        if self.check_mode or not result["changed"]:
            return result
        # Whatever fails from here on, the owned scope goes back to what it is now: a host is never
        # left half-changed, or running rules that the next boot would not bring back.
        steps = self.backend.snapshot(current)
        armed = self.arm is not None and running_drift
        try:
            after = self._change(current, running_drift, result, persist=self.persist and not armed)
            if armed:
                result["confirm"] = self.arm(steps, **self._confirmation(after))
        except Exception as exc:
            errors = _restore_runner.run_steps(steps, run=restore.adapt(self.backend.run))
            raise TransactionError("%s; %s" % (exc, (
                "the owned %s scope was put back as it was before this run" % self.backend.name if not errors else
                "putting the owned %s scope back as it was ALSO FAILED: %s" % (self.backend.name, "; ".join(errors)))))
        return result

    def _confirmation(self, after):
        """What the confirmation needs, worked out now so that it runs no module and no plan: the
        steps that write the saved rules (when persisting), and the running owned scope after the
        change (the read-back, as restore steps), which it checks first."""
        return {"commit": self.backend.save_steps(self.plan) if self.persist else [],
                "applied": self.backend.running_steps(after)}

    def _change(self, current, drift, result, persist=True):
        """Write (when drift) and save (when persist); returns the state read back after the write."""
        after = current
        if drift:
            self.backend.write(current, self.plan)
            after = self.backend.read()
            after_now, after_want, still_added, still_removed = self._compare(after)
            if after_now != after_want:
                raise TransactionError(
                    "the %s state read back after the change differs from the plan: missing %s, unexpected %s"
                    % (self.backend.name, still_added, still_removed))
        if persist:
            self.backend.save(self.plan)
            result["persisted"] = True
            if self._saved_drift():
                raise TransactionError("the saved %s rules still differ from the running ones after saving"
                                       % self.backend.name)
        return after


def _saved_changes(saved_now, saved_want, which):
    """Per key, the saved lines to add (which=0) or to remove (which=1); {} when nothing is saved."""
    if saved_now is None:
        return {}
    return dict((key, line_changes(saved_now.get(key, []), saved_want[key])[which]) for key in saved_want)


def _diff(now, want, saved_now, saved_want):
    """The running views, then the saved ones that say something else: a saved view that is, before
    and after, the running one (every host whose saved file is in order) is one heading line, not a
    second copy of the same rules."""
    before, after = _text(now), _text(want)
    for key in sorted(saved_want, key=str):
        name = key if isinstance(key, str) else "IPv%s" % key
        if _rules(saved_now.get(key)) == _rules(now.get(key)) and _rules(saved_want[key]) == _rules(want.get(key)):
            same = "# saved %s: the same rules as %s\n" % (name, name)
            before, after = before + same, after + same
        else:
            before += _text({key: saved_now.get(key, [])}, "saved ")
            after += _text({key: saved_want[key]}, "saved ")
    return {"before": before, "after": after}


def _rules(lines):
    """A view's rules without the notes after two spaces and '#' (where a jump sits in its file)."""
    return None if lines is None else [line.split("  # ", 1)[0] for line in lines]


def _text(views, label=""):
    """Views as diff text: a '# <label><key>' heading, then one line per rule."""
    parts = []
    for key in sorted(views, key=str):
        parts.append("# %s%s\n%s\n" % (label, key if isinstance(key, str) else "IPv%s" % key, "\n".join(views[key])))
    return "".join(parts)
