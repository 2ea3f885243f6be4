"""Fixtures for the lab's own tests: a lab with its own prefix, always torn down."""

import os
import shutil
import sys

import pytest

LAB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, LAB_DIR)

from portmatrix_lab import Lab  # noqa: E402  pylint: disable=wrong-import-position

LABCTL = os.path.join(LAB_DIR, 'labctl')
KINDS_ESTATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'estate_kinds.yml')
# The five labs these tests build, by role: the session lab, the lab of the new firewall
# kinds, and the scratch labs of the down / killed-up / up-after-kill tests. Several labs
# run on one machine at once: PMXLAB_TEST_PREFIXES="a-,b-,c-,d-,e-" gives other prefixes.
PREFIX_ROLES = ('session', 'kinds', 'down', 'killed', 'after_kill')
DEFAULT_PREFIXES = ('pmxt-', 'pmxe-', 'pmxd-', 'pmxk-', 'pmxh-')


def prefixes_from_env(environ=None):
    """{role: prefix} from $PMXLAB_TEST_PREFIXES (comma separated, in PREFIX_ROLES order) or the defaults."""
    value = (environ if environ is not None else os.environ).get('PMXLAB_TEST_PREFIXES', '')
    prefixes = tuple(p.strip() for p in value.split(',')) if value.strip() else DEFAULT_PREFIXES
    if len(prefixes) != len(PREFIX_ROLES) or len(set(prefixes)) != len(prefixes):
        raise ValueError('PMXLAB_TEST_PREFIXES: give %d distinct prefixes (%s), not %r'
                         % (len(PREFIX_ROLES), ', '.join(PREFIX_ROLES), value))
    return dict(zip(PREFIX_ROLES, prefixes))


PREFIXES = prefixes_from_env()


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
    """The default estate, up once for the session under the session prefix."""
    the_lab = Lab(prefix=PREFIXES['session'], log=lambda message: None)
    the_lab.down()  # leftovers of an earlier, killed test run
    try:
        the_lab.up()
        yield the_lab
    finally:
        the_lab.down()


@pytest.fixture(scope='session')
def kinds_lab():
    """The estate of the other firewall kinds (estate_kinds.yml), up once for the session."""
    the_lab = Lab(prefix=PREFIXES['kinds'], estate=KINDS_ESTATE, log=lambda message: None)
    the_lab.down()
    try:
        the_lab.up()
        yield the_lab
    finally:
        the_lab.down()


@pytest.fixture
def scratch_lab():
    """A second lab with its own prefix for tests that build or break one."""
    made = []

    def make(role):
        the_lab = Lab(prefix=PREFIXES[role], log=lambda message: None)
        the_lab.down()
        made.append(the_lab)
        return the_lab

    yield make
    for the_lab in made:
        the_lab.down()
