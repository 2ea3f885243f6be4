# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' README examples work when pasted (issue 18: `when: ...` did not).

Here: each example is a playbook that parses, passes ansible-playbook --syntax-check and whose
conditions are Jinja expressions; tests/integration/test_playbooks.py runs them on the lab."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import subprocess
import sys

import jinja2
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
# The integration tests import readme_examples() from here.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def readme_examples():
    """[(role, the YAML text of each ```yaml block of roles/<role>/README.md)]."""
    found = []
    for path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "README.md"))):
        with open(path) as handle:
            for block in re.findall(r"```yaml\n(.*?)```", handle.read(), re.S):
                found.append((os.path.basename(os.path.dirname(path)), block))
    return found


def test_every_role_readme_has_an_example():
    assert sorted(set(role for role, _example in readme_examples())) == sorted(
        os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "roles", "*")))


def test_the_examples_conditions_are_jinja_expressions():
    env = jinja2.Environment()
    for role, example in readme_examples():
        for play in yaml.safe_load(example):
            for task in play.get("tasks", []):
                for condition in ([task["when"]] if isinstance(task.get("when"), str) else task.get("when", [])):
                    env.parse("{{ %s }}" % condition)  # a syntax error (`...`) raises
                    assert "group_names" in condition, (role, condition)


def test_the_examples_pass_syntax_check(tmp_path):
    playbook = tmp_path / "examples.yml"
    playbook.write_text("".join(example for _role, example in readme_examples()))
    binary = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    done = subprocess.run([binary, "-i", "localhost,", "--syntax-check", str(playbook)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.dirname(os.path.dirname(os.path.dirname(ROOT)))))
    assert done.returncode == 0, done.stdout
