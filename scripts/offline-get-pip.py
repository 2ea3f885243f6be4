# -*- coding: utf-8 -*-
# Offline stand-in for get-pip.py, used by ansible-test's pip bootstrap.
#
# ansible-test (2.16 .. 2.21) bootstraps pip into the empty virtual environments
# it makes for sanity tests (`--venv`, `--requirements`) by running
#   https://ci-files.testing.ansible.com/ansible-test/get-pip-<version>.py
# and caching it as ~/.ansible/test/cache/get_pip_<version>.py. That host is
# not reachable from this project's machines (PyPI is). ansible-test uses the
# cached file when it exists (its own error message says to save the script
# there), so scripts/ansible-test-offline seeds the cache with this file.
#
# Called as `python get_pip_X_Y_Z.py [pip install options] pip==X.Y.Z ...`,
# exactly like get-pip.py. It bootstraps the interpreter's bundled pip with
# ensurepip (no download), then lets that pip install the pinned packages
# ansible-test asked for from the package index (PyPI). get-pip.py's own
# --no-setuptools/--no-wheel are dropped: ansible-test names every package.
# Must run on every Python ansible-test may bootstrap: 3.6 and newer.
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys


# get-pip.py's own options (it installs setuptools/wheel unless told not to);
# ansible-test always names the exact packages it wants, so these are dropped.
GET_PIP_ONLY_OPTIONS = ('--no-setuptools', '--no-wheel')


def main():
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    env = dict(os.environ)
    env.pop('GET_PIP', None)
    env.setdefault('PIP_DISABLE_PIP_VERSION_CHECK', '1')
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'], env=env)
    cmd = [sys.executable, '-m', 'pip', 'install', '--upgrade', '--force-reinstall'] + args
    subprocess.check_call(cmd, env=env)


if __name__ == '__main__':
    try:
        main()
    except subprocess.CalledProcessError as ex:
        sys.stderr.write('offline get-pip: %s\n' % ex)
        sys.exit(ex.returncode or 1)
