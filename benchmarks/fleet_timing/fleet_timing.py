# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Callback of benchmarks/fleet_bench.py: where a playbook run spends its time, per task.

ansible-core has no task-timing callback of its own (profile_tasks is in ansible.posix, which
this project does not depend on). Enabled with ANSIBLE_CALLBACK_PLUGINS=<this directory> and
ANSIBLE_CALLBACKS_ENABLED=fleet_timing; writes JSON to $FLEET_TIMING_FILE at the end:

    {"wall": s, "plays": [{"name", "wall"}], "tasks": [{"play", "task", "action", "runs", "hosts",
     "wall", "host_seconds", "max_host"}], "rollout_batches": [...]}

- wall: from each start of the task (once per serial batch) to its last host result, summed;
- host_seconds: per host, from the worker's start to its result, summed over hosts;
- rollout_batches: the batches the rollout task returned (the serial of the apply play).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "fleet_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._started = time.time()
        self._plays = []
        self._play = ""
        self._tasks = {}     # (play, task name) -> totals
        self._current = None  # the task instance running now: [key, start, last end]
        self._host_start = {}
        self._batches = None

    def _close_instance(self):
        if self._current is not None:
            key, start, last = self._current
            self._tasks[key]["wall"] += max(0.0, (last or start) - start)
            self._current = None

    def v2_playbook_on_play_start(self, play):
        self._close_instance()
        now = time.time()
        if self._plays:
            self._plays[-1]["wall"] = now - self._plays[-1]["start"]
        self._play = play.get_name().strip()
        self._plays.append({"name": self._play, "start": now, "wall": 0.0})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close_instance()
        key = (self._play, task.get_name().strip())
        if key not in self._tasks:
            self._tasks[key] = {"play": key[0], "task": key[1], "action": task.action, "runs": 0, "hosts": 0,
                                "wall": 0.0, "host_seconds": 0.0, "max_host": 0.0}
        self._tasks[key]["runs"] += 1
        self._current = [key, time.time(), None]

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def v2_runner_on_start(self, host, task):
        self._host_start[(host.get_name(), task._uuid)] = time.time()

    def _ended(self, result):
        now = time.time()
        started = self._host_start.pop((result._host.get_name(), result._task._uuid), None)
        if self._current is not None:
            self._current[2] = now
            totals = self._tasks[self._current[0]]
            if started is not None:
                totals["hosts"] += 1
                totals["host_seconds"] += now - started
                totals["max_host"] = max(totals["max_host"], now - started)
        facts = (result._result or {}).get("ansible_facts") or {}
        if "portmatrix_rollout" in facts:
            self._batches = facts["portmatrix_rollout"].get("batches")

    def v2_runner_on_ok(self, result):
        self._ended(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._ended(result)

    def v2_runner_on_skipped(self, result):
        self._ended(result)

    def v2_runner_on_unreachable(self, result):
        self._ended(result)

    def v2_playbook_on_stats(self, stats):
        self._close_instance()
        now = time.time()
        if self._plays:
            self._plays[-1]["wall"] = now - self._plays[-1]["start"]
        path = os.environ.get("FLEET_TIMING_FILE")
        if not path:
            return
        tasks = []
        for totals in self._tasks.values():
            tasks.append(dict(totals, wall=round(totals["wall"], 3), host_seconds=round(totals["host_seconds"], 3),
                              max_host=round(totals["max_host"], 3)))
        report = {"wall": round(now - self._started, 3),
                  "plays": [{"name": p["name"], "wall": round(p["wall"], 3)} for p in self._plays],
                  "tasks": tasks, "rollout_batches": self._batches}
        with open(path, "w") as handle:
            json.dump(report, handle, indent=1)
