# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every remote URL of the collection pointed to a GitHub home that does not exist
(github.com/portmatrix/xenserver: galaxy.yml, README, guides, the execution environment) and
there was no release step (issue 18 item 11)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
INVENTED = re.compile(r"github\.com/portmatrix\b")


def _tracked():
    done = subprocess.run(["git", "-C", ROOT, "ls-files"], stdout=subprocess.PIPE, universal_newlines=True,
                          check=False)
    if done.returncode == 0 and done.stdout.strip():
        return done.stdout.split()
    return [os.path.relpath(os.path.join(d, f), ROOT) for d, _s, files in os.walk(ROOT) for f in files
            if not any(part.startswith(".") for part in os.path.relpath(d, ROOT).split(os.sep))]


def test_no_file_points_to_the_home_that_does_not_exist():
    found = []
    for path in _tracked():
        if path.startswith(("tests/", "changelogs/")) or not path.endswith((".md", ".yml", ".yaml", ".py", ".txt")):
            continue
        with open(os.path.join(ROOT, path), errors="replace") as handle:
            if INVENTED.search(handle.read()):
                found.append(path)
    assert found == []


def test_galaxy_yml_has_no_url_it_cannot_stand_for():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    for key in ("repository", "documentation", "homepage", "issues"):
        assert not INVENTED.search(str(galaxy.get(key) or "")), key


def test_the_release_step_tags_the_version_of_galaxy_yml():
    with open(os.path.join(ROOT, "docs", "releasing.md")) as handle:
        steps = handle.read()
    assert 'git tag -a "v$version"' in steps and '["version"]' in steps
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        assert re.match(r"^\d+\.\d+\.\d+$", str(yaml.safe_load(handle)["version"]))
