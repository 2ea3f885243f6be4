# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A controller-only module's documented options against its action plugin's ARGUMENT_SPEC."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib

import yaml


def documented_and_checked(name):
    module = importlib.import_module("ansible_collections.portmatrix.xenserver.plugins.modules." + name)
    action = importlib.import_module("ansible_collections.portmatrix.xenserver.plugins.action." + name)
    options = yaml.safe_load(module.DOCUMENTATION)["options"]
    documented = dict((option, (spec.get("type", "str"), spec.get("elements"), spec.get("default")))
                      for option, spec in options.items())
    checked = dict((option, (spec.get("type", "str"), spec.get("elements"), spec.get("default")))
                   for option, spec in action.ARGUMENT_SPEC.items())
    return documented, checked
