"""Fixtures for the lab's own tests: a lab with its own prefix, always torn down."""

import os
import shutil
import sys

import pytest

LAB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, LAB_DIR)

from portmatrix_lab import Lab  # noqa: E402  pylint: disable=wrong-import-position

LABCTL = os.path.join(LAB_DIR, 'labctl')
TEST_PREFIX = 'pmxt-'


def skip_reason():
    if os.geteuid() != 0:
        return 'the lab needs root (network and mount namespaces)'
    missing = Lab.missing_tools(firewalld=True)
    if missing:
        return 'missing tools: %s (run lab/install-deps)' % ', '.join(missing)
    if not shutil.which('ssh'):
        return 'missing tool: ssh (run lab/install-deps)'
    return None


def pytest_collection_modifyitems(items):
    reason = skip_reason()
    if reason:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope='session')
def lab():
    """The default estate, up once for the session under prefix pmxt-."""
    the_lab = Lab(prefix=TEST_PREFIX, log=lambda message: None)
    the_lab.down()  # leftovers of an earlier, killed test run
    try:
        the_lab.up()
        yield the_lab
    finally:
        the_lab.down()


@pytest.fixture
def scratch_lab():
    """A second lab with its own prefix for tests that build or break one."""
    made = []

    def make(prefix):
        the_lab = Lab(prefix=prefix, log=lambda message: None)
        the_lab.down()
        made.append(the_lab)
        return the_lab

    yield make
    for the_lab in made:
        the_lab.down()
