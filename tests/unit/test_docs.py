# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/port-matrix.md must be what tools/render_port_matrix.py makes of the data."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))


def test_port_matrix_doc_is_fresh():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "render_port_matrix.py"), "--check"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert result.returncode == 0, result.stdout


def test_doc_lists_every_flow():
    with open(os.path.join(ROOT, "docs", "port-matrix.md")) as handle:
        text = handle.read()
    from ansible_collections.portmatrix.xenserver.plugins.module_utils import matrix
    for flow in matrix.FLOWS:
        assert "`%s`" % flow.id in text
    for entry in matrix.OUTBOUND:
        assert "`%s`" % entry.id in text
        for name in entry.destinations:
            assert "`%s`" % name in text


def test_doc_names_every_source():
    with open(os.path.join(ROOT, "docs", "port-matrix.md")) as handle:
        text = handle.read()
    from ansible_collections.portmatrix.xenserver.plugins.module_utils import matrix
    sources = text.split("\n## Sources\n", 1)[1]
    for ref in set(f.source_ref for f in matrix.FLOWS) | set(o.source_ref for o in matrix.OUTBOUND):
        title, _sep, url = ref.partition(", https://")
        assert title in sources, ref
        if url:
            assert "(https://%s)" % url in sources, ref


def test_role_readmes_are_fresh():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "render_role_readmes.py"), "--check"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert result.returncode == 0, result.stdout


def test_settings_doc_is_fresh():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "render_settings.py"), "--check"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert result.returncode == 0, result.stdout


# The lab's firewall kinds (lab/estate.yml) and the backend of the collection that filters each.
LAB_KIND_BACKEND = {"xenserver": "iptables", "xenserver9": "firewalld", "firewalld": "firewalld",
                    "nftables": "nftables", "debian": "iptables", "ufw": "iptables", "open": "iptables"}


def test_lab_readme_claims_no_lab_host_the_collection_cannot_filter():
    """lab/README.md said license2 could not be filtered long after the nftables backend came (issue 18)."""
    import re
    import yaml
    with open(os.path.join(ROOT, "lab", "estate.yml")) as handle:
        hosts = yaml.safe_load(handle)["hosts"]
    for name, host in hosts.items():
        backend = LAB_KIND_BACKEND[host["firewall"]]
        assert os.path.exists(os.path.join(ROOT, "plugins", "module_utils", backend + ".py")), (name, backend)
    with open(os.path.join(ROOT, "lab", "README.md")) as handle:
        text = " ".join(handle.read().split())
    assert not re.search(r"cannot (yet )?filter|backend is being written", text)
    assert "license2 (native nftables) through the nftables backend" in text
