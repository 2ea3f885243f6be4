# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The declared backend interface: every backend is a Backend and implements all of it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import inspect

import pytest

from ansible_collections.portmatrix.xenserver.plugins.module_utils._backend import Backend
from ansible_collections.portmatrix.xenserver.plugins.module_utils.firewalld import FirewalldBackend
from ansible_collections.portmatrix.xenserver.plugins.module_utils.iptables import IptablesBackend
from ansible_collections.portmatrix.xenserver.plugins.module_utils.nftables import NftablesBackend

DECLARED = sorted(name for name, value in vars(Backend).items()
                  if not name.startswith("_") and (inspect.isfunction(value) or isinstance(value, staticmethod)))


def run(argv, data=None):
    return 0, "", ""


BACKENDS = [IptablesBackend(run, [4, 6]), NftablesBackend(run), FirewalldBackend(run)]


def test_the_interface_is_what_the_transaction_calls():
    assert DECLARED == ["read", "rule_count", "running_steps", "save", "save_steps", "saved_views", "shadowing",
                        "snapshot", "validate", "views", "write"]
    for name in DECLARED:
        assert inspect.getdoc(getattr(Backend, name)), name


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_each_backend_declares_and_implements_every_method(backend):
    assert isinstance(backend, Backend) and backend.name
    assert backend.run is run and backend.state == "present" and set(backend.families) == {4, 6}
    for name in DECLARED:
        assert getattr(type(backend), name) is not getattr(Backend, name), "%s does not implement %s" % (backend.name, name)
        ours = inspect.signature(getattr(backend, name))
        declared = inspect.signature(getattr(Backend(run), name))
        assert list(ours.parameters) == list(declared.parameters), (backend.name, name)


def test_the_base_class_implements_nothing():
    with pytest.raises(NotImplementedError):
        Backend(run).read()
    with pytest.raises(NotImplementedError):
        Backend.rule_count({})
