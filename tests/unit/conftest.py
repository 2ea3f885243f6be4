# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Let plain pytest load this collection's plugins the way Ansible does.

ansible-test units installs a collection loader itself; under plain pytest we install
Ansible's collection finder on the ansible_collections tree this checkout sits in.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os


def _collections_root():
    # The shell's working directory first: pytest may see this file through its real path.
    for start in (os.environ.get("PWD", ""), os.getcwd(), os.path.dirname(os.path.abspath(__file__))):
        here = start
        while here != os.path.dirname(here):
            if os.path.basename(here) == "ansible_collections":
                return os.path.dirname(here)
            here = os.path.dirname(here)
    return None


def pytest_configure(config):
    try:
        from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    except ImportError:
        return
    root = _collections_root()
    if root is None:
        return
    import sys
    if any(type(f).__name__ == "_AnsibleCollectionFinder" for f in sys.meta_path):
        return
    _AnsibleCollectionFinder(paths=[root])._install()
