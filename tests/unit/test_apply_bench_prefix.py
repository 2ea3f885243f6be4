"""benchmarks/apply_bench.py used the fixed namespace pmxbench-a and /tmp/pmxbench-collections:
two runs on one machine (or another tool's pmxbench-a) collided (issue 18 item 11)."""

import importlib.util
import random
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "apply_bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("apply_bench", str(BENCH))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_fixed_namespace_or_directory(bench):
    text = BENCH.read_text()
    assert bench.NS is None and "pmxbench-a" not in text and "pmxbench-collections" not in text


def test_each_run_takes_a_prefix_no_namespace_starts_with(bench):
    rng = random.Random(7)
    taken = ["pmxi-a1", "mi-ctl"]
    found = set(bench.parse_args([], taken).prefix for _attempt in range(20))
    assert len(found) > 15 and all(bench.PREFIX_RE.match(p) for p in found)
    first = bench.free_prefix([], random.Random(7))
    assert bench.free_prefix([first + "a"], rng) != first  # a prefix in use is never taken
    assert not any(name.startswith(p) for p in found for name in taken)


def test_a_given_prefix_is_used_and_checked(bench):
    assert bench.parse_args(["--prefix", "mb-"]).prefix == "mb-"
    with pytest.raises(SystemExit):
        bench.parse_args(["--prefix", "../etc"])
