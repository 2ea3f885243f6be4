"""tests/run gives each run's labs prefixes of their own, so two runs on one machine never
tear down each other's labs (they used fixed prefixes: pmxi-, pmxt-, pmxms-, ...)."""

import os
import re
import subprocess
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[1] / "run"
# The lab's own rule for a prefix (lab/portmatrix_lab/lab.py PREFIX_RE).
LAB_PREFIX = re.compile(r"^[a-z][a-z0-9]{1,7}-$")
NAMES = ("PORTMATRIX_IT_PREFIX", "PORTMATRIX_IT_PREFIX_COEXIST", "PORTMATRIX_DEMO_TEST_PREFIX",
         "PMXMS_PREFIX", "PMXMD_PREFIX", "PMXMR_PREFIX", "PMXM6_PREFIX")


def prefixes(**env):
    base = {k: v for k, v in os.environ.items()
            if k not in NAMES + ("PORTMATRIX_RUN_TAG", "PMXLAB_TEST_PREFIXES")}
    base.update(env)
    out = subprocess.run(["bash", str(RUN), "--lab-prefixes"], env=base, capture_output=True,
                         text=True, timeout=30, check=False)
    return out


def parse(stdout):
    match = re.search(r"integration (\S+), coexist (\S+), demo (\S+), lab self-tests (\S+), "
                      r"molecule (\S+) (\S+) (\S+) (\S+)\)", stdout)
    assert match, stdout
    groups = list(match.groups())
    return groups[:3] + groups[3].split(",") + groups[4:]


def test_each_run_gets_its_own_valid_prefixes():
    runs = [prefixes(), prefixes(), prefixes()]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    sets = [parse(r.stdout) for r in runs]
    for found in sets:
        assert all(LAB_PREFIX.match(p) for p in found), found
        # No prefix may start another: the lab removes every namespace that starts with its prefix.
        assert not [(a, b) for a in found for b in found if a != b and b.startswith(a)], found
    assert len({tuple(found) for found in sets}) > 1, "three runs got the same prefixes"


def test_explicit_settings_win():
    out = prefixes(PORTMATRIX_RUN_TAG="ab", PMXMS_PREFIX="xyz-")
    assert out.returncode == 0, out.stderr
    found = parse(out.stdout)
    assert found[0] == "abi-" and "xyz-" in found and "abms-" not in found


@pytest.mark.parametrize("tag", ["1x", "a", "abcde", "A1"])
def test_a_bad_tag_is_refused(tag):
    out = prefixes(PORTMATRIX_RUN_TAG=tag)
    assert out.returncode == 2 and "PORTMATRIX_RUN_TAG" in out.stderr
